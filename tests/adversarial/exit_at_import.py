# Leave before the grader can ask anything: a zero exit status must not look like success.
import os

os._exit(0)
