"""Idle memory of each service: `senctl migrate` then `senctl serve SERVICE` (the
process `make run` starts) on a fresh SQLite database and the bench vhost; once
/health/live answers and a few seconds have passed, its resident set (VmRSS)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from services.common import auth, settings

ROOT = Path(__file__).resolve().parents[1]
SETTLE_S = 3.0


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(service, amqp_uri, workdir, public_pem, timeout=90):
    port = _free_port()
    env = dict(os.environ, SEN_VAR_DIR=str(workdir), AMQP_URI=amqp_uri,
               WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", JWT_PUBLIC_KEY=public_pem,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    senctl = [sys.executable, "-m", "services.cli.senctl"]
    subprocess.run(senctl + ["migrate", service], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    proc = subprocess.Popen(senctl + ["serve", service], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            if proc.poll() is not None:
                raise RuntimeError(f"{service} exited ({proc.returncode}) before it was live")
            try:
                if requests.get(f"http://127.0.0.1:{port}/health/live", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"{service} was not live within {timeout} s")
        time.sleep(SETTLE_S)
        return _rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(amqp_uri, workdir, say=print):
    """{service: RSS in MB} for every service, one at a time."""
    _, public_pem = auth.generate_key_pair()
    out = {}
    for service in settings.SERVICES:
        sub = Path(workdir) / f"idle-{service}"
        sub.mkdir(parents=True, exist_ok=True)
        try:
            out[service] = measure(service, amqp_uri, sub, public_pem.decode())
        except Exception as exc:  # noqa: BLE001 - reported, the others still measured
            say(f"  {service}: not measured ({exc})")
            out[service] = float("nan")
    return out


def report(rss):
    lines = ["Idle memory per service (senctl serve, live, settled "
             f"{SETTLE_S:.0f} s; VmRSS)"]
    for service, mb in rss.items():
        lines.append(f"  {service:<10} {mb:6.1f} MB")
    return "\n".join(lines)
