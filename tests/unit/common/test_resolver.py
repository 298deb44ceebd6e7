"""A service process started as `senctl serve` does (EVENTLET_NO_GREENDNS=yes):
the kit loads no dnspython and none of the heavy document libraries, and host
names still resolve, through eventlet's OS threads (services/common/resolver.py)."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import eventlet
eventlet.monkey_patch()
import json, socket, sys
import services.common.service, services.common.consumer, services.common.outbox
from eventlet import tpool
name = socket.gethostname()
found = socket.getaddrinfo(name, 5672, 0, socket.SOCK_STREAM)
local = socket.getaddrinfo("127.0.0.1", 5672)
heavy = ("dns", "matplotlib", "weasyprint", "openpyxl", "reportlab", "holidays", "apispec")
print(json.dumps({"loaded": sorted(m for m in heavy if m in sys.modules),
                  "resolved": bool(found), "local": bool(local),
                  "threaded": socket.getaddrinfo.__module__,
                  "tpool_threads": len(tpool._threads)}))
"""


def probe(**env):
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, **env), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_without_greendns_names_resolve_in_os_threads_and_no_heavy_module_is_loaded():
    seen = probe(EVENTLET_NO_GREENDNS="yes")
    assert seen["loaded"] == []
    assert seen["resolved"] and seen["local"]
    assert seen["threaded"] == "services.common.resolver"
    assert seen["tpool_threads"] > 0  # the host name went to a thread, not the hub


def test_with_greendns_on_the_resolver_is_left_as_eventlet_has_it():
    seen = probe(EVENTLET_NO_GREENDNS="no")
    assert "dns" in seen["loaded"]
    assert seen["resolved"] and seen["threaded"] != "services.common.resolver"
