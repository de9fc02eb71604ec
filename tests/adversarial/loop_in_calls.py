# Every function spins forever.
def _spin(*args, **kwargs):
    while True:
        pass


for _name in [n for n, v in list(globals().items()) if callable(v) and not n.startswith("_")]:
    globals()[_name] = _spin
