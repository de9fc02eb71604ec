# Spin forever while being imported.
while True:
    pass
