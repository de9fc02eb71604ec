# Sleep forever while being imported (no CPU used, so only a wall clock catches it).
import time

time.sleep(10**6)
