"""Host name lookups that never block the eventlet hub, without dnspython.

eventlet's own resolver (greendns) imports dnspython twice over, about 9 MB of
every service's resident memory for the few names a service looks up (its broker,
its database, the SMTP server). `senctl serve` starts services with
EVENTLET_NO_GREENDNS=yes, and `install()` then sends the system resolver's lookups
to eventlet's pool of OS threads (tpool): a slow DNS server holds one greenthread,
never the whole process. An address that is already numeric, or `localhost`, is
answered at once by the system resolver, which does not touch the network for it.
With greendns on (EVENTLET_NO_GREENDNS unset), `install()` changes nothing.
"""

import ipaddress
import os
import socket

_done = False
_NAMES = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "getnameinfo")


def greendns_off():
    return os.environ.get("EVENTLET_NO_GREENDNS", "").lower() == "yes"


def _local(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or host in ("", "localhost"):
        return True
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return False


def _threaded(original, host_of):
    from eventlet import tpool

    def lookup(*args, **kwargs):
        if _local(host_of(args, kwargs)):
            return original(*args, **kwargs)
        return tpool.execute(original, *args, **kwargs)

    lookup.__name__ = original.__name__
    lookup.__doc__ = original.__doc__
    return lookup


def _host(args, kwargs):
    return args[0] if args else kwargs.get("host")


def _sockaddr_host(args, kwargs):
    sockaddr = args[0] if args else kwargs.get("sockaddr")
    return sockaddr[0] if isinstance(sockaddr, tuple) and sockaddr else None


def install():
    """Route blocking lookups through tpool, when greendns is off and eventlet has
    patched the socket module (nameko run does, before it imports a service)."""
    global _done
    if _done or not greendns_off():
        return
    from eventlet import patcher
    if not patcher.is_monkey_patched("socket"):
        return
    import eventlet.green.socket as green_socket
    for name in _NAMES:
        original = getattr(patcher.original("socket"), name)
        lookup = _threaded(original, _sockaddr_host if name == "getnameinfo" else _host)
        # the patched stdlib module (kombu, urllib3) and eventlet's green module
        # (its create_connection, which smtplib uses) both look these up at call time
        setattr(socket, name, lookup)
        setattr(green_socket, name, lookup)
    _done = True
