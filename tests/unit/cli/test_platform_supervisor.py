"""`make run` restarts a child that dies, and says so (issue 17)."""

import io
import subprocess
import sys
import time

from services.cli.platform import Supervisor


def test_a_child_that_dies_is_restarted_and_reported_while_the_others_run():
    out = io.StringIO()
    sup = Supervisor(out=out, base_delay=0.1, max_delay=0.4, stable=60)
    starts = {"crashy": 0}

    def crashy():
        starts["crashy"] += 1
        return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])

    sup.add("steady", lambda: subprocess.Popen([sys.executable, "-c",
                                                "import time; time.sleep(30)"]))
    sup.add("crashy", crashy)
    steady = dict(sup.procs)["steady"]
    deadline = time.monotonic() + 10
    while starts["crashy"] < 3 and time.monotonic() < deadline:
        sup.check()
        time.sleep(0.05)
    try:
        assert starts["crashy"] >= 3
        assert dict(sup.procs)["steady"] is steady and steady.poll() is None
        text = out.getvalue()
        assert "crashy exited with code 3; restarting it" in text
        assert "crashy restarted (restart 2)" in text
        assert "steady" not in text
    finally:
        for _, proc in sup.procs:
            proc.kill()
            proc.wait()
