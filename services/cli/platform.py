"""`make run`: the whole platform on one machine.

Migrates every SQLite database (and declares the queues), starts the SMTP
catcher and the five services as separate processes, onboards the demo trust
and partner school, starts the local OpenID provider and the portal (the front
door, PUBLIC_BASE_URL), and prints the portal's address, how to sign in as each
demo person, the URLs, a demo token and a curl command. A child that dies (a
service, the portal, the SMTP catcher) is started again, with a pause that
grows while it keeps dying, and `make run` says so; it never takes the rest of
the platform down with it. Ctrl-C stops everything.
"""

import os
import signal
import subprocess
import sys
import time

import requests

from services.common import settings

from . import senctl


def _start(name, args, env, log_dir):
    log = open(log_dir / f"{name}.log", "ab")
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_ready(url, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


class Supervisor:
    """Keeps named child processes running: `check()` restarts any that exited,
    after a pause that doubles (up to `max_delay`) while it keeps failing within
    `stable` seconds of its start, and reports each restart on `out`."""

    def __init__(self, out=None, base_delay=1.0, max_delay=30.0, stable=60.0,
                 clock=time.monotonic):
        self.out = out or sys.stderr
        self.base_delay, self.max_delay, self.stable = base_delay, max_delay, stable
        self.clock = clock
        self.children = {}  # name -> dict(start=callable, proc, started, delay, due, restarts)

    def add(self, name, start):
        self.children[name] = {"start": start, "proc": start(), "started": self.clock(),
                               "delay": self.base_delay, "due": None, "restarts": 0}

    @property
    def procs(self):
        return [(name, c["proc"]) for name, c in self.children.items()]

    def check(self):
        """Restart what died (when its pause is over); return the names restarted."""
        restarted = []
        now = self.clock()
        for name, c in self.children.items():
            if c["proc"].poll() is None:
                if now - c["started"] > self.stable:
                    c["delay"] = self.base_delay
                continue
            if c["due"] is None:
                c["due"] = now + c["delay"]
                print(f"{name} exited with code {c['proc'].returncode}; restarting it in "
                      f"{c['delay']:.0f}s (see var/log/{name}.log)", file=self.out, flush=True)
                continue
            if now < c["due"]:
                continue
            quick = now - c["started"] < self.stable
            c["delay"] = min(c["delay"] * 2, self.max_delay) if quick else self.base_delay
            c.update(proc=c["start"](), started=now, due=None)
            c["restarts"] += 1
            print(f"{name} restarted (restart {c['restarts']})", file=self.out, flush=True)
            restarted.append(name)
        return restarted


def stop_all(procs):
    for _, proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _, proc in procs:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    var = settings.VAR_DIR
    log_dir = var / "log"
    for d in ("db", "mail", "keys", "log"):
        (var / d).mkdir(parents=True, exist_ok=True)
    if not (var / "keys" / "jwt_private.pem").exists():
        senctl.main(["keys", "create"])
    senctl.main(["migrate"])

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    env = dict(os.environ)
    smtp_port = env.setdefault("SMTP_PORT", "8025")
    ports = {service: int(env.get(f"{service.upper()}_PORT", port))
             for service, port in settings.DEV_PORTS.items()}
    oidc_port = int(env.get("OIDC_PORT", "9000"))
    env.setdefault("PUBLIC_BASE_URL", f"http://localhost:{ports['portal']}")  # every email link
    for service in settings.SERVICES:
        if service != "portal":
            env.setdefault(f"{service.upper()}_URL", f"http://127.0.0.1:{ports[service]}")
    backend = {s: p for s, p in ports.items() if s != "portal"}
    supervisor = Supervisor()
    try:
        supervisor.add("smtp", lambda: _start(
            "smtp", [sys.executable, "-m", "services.cli.mailcatcher", "--dir",
                     str(var / "mail"), "--port", smtp_port], env, log_dir))
        for service, port in backend.items():
            service_env = dict(env, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                               OTEL_SERVICE_NAME=service)
            supervisor.add(service, lambda service=service, service_env=service_env: _start(
                service, [sys.executable, "-m", "services.cli.senctl", "serve", service],
                service_env, log_dir))
        for (service, proc) in supervisor.procs[1:]:
            if not _wait_ready(f"http://127.0.0.1:{ports[service]}/health/ready", proc):
                print(f"{service} did not become ready; see {log_dir / service}.log",
                      file=sys.stderr)
                return 1
        print("\nSeeding the demo trust, schools, pupils, staff and agreement:")
        senctl.main(["demo"])
        portal_ok = _start_portal(env, ports["portal"], oidc_port, var, log_dir, supervisor)
        token = _capture(["token", "--sub", "jo.smith@riverside.example", "--org", "100001",
                          "--roles", "partner_referrer"])
        referrals = f"http://localhost:{ports['referrals']}"
        print("\nThe SEN trust platform is running:")
        if portal_ok:
            print(f"  portal     {env['PUBLIC_BASE_URL']}  (the front door: sign in here)")
            print(f"  oidc       http://127.0.0.1:{oidc_port}  (local OpenID provider, "
                  f"development only)")
        for service, port in backend.items():
            print(f"  {service:<10} http://localhost:{port}  "
                  f"(openapi: /api/v1/{service}/openapi.json, /health/ready, /metrics)")
        print(f"  smtp       127.0.0.1:{smtp_port}, mail kept in {var / 'mail'}")
        print(f"  logs       {log_dir}")
        print(f"\nDemo token (partner_referrer at Riverside Primary School):\n{token}\n")
        print("Submit a referral (two emails appear in var/mail/):\n")
        print(curl(referrals, token))
        if portal_ok:
            print(_sign_in_help(env["PUBLIC_BASE_URL"], var))
        print("\nCtrl-C stops everything.")
        while True:
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    finally:
        stop_all(supervisor.procs)


def _trust_org_id():
    from sqlalchemy import select

    from services.pupils.models import Organisation
    with senctl._pupils_db().session() as s:
        return s.execute(select(Organisation.id).where(Organisation.kind == "trust")).scalar()


def _start_portal(env, port, oidc_port, var, log_dir, supervisor):
    """The local OpenID provider (demo staff accounts) and the portal, once the
    services run and the demo trust exists (the portal acts for it)."""
    import secrets

    from services.portal.adapters import localidp
    portal_env = dict(env, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", OTEL_SERVICE_NAME="portal",
                      TRUST_ORG_ID=env.get("TRUST_ORG_ID") or _trust_org_id() or "")
    if localidp.ready() and not env.get("OIDC_DISCOVERY_URL"):
        secret = secrets.token_urlsafe(24)
        accounts = localidp.write_accounts(var / "oidc-accounts.json", localidp.demo_accounts())
        command = localidp.command(oidc_port, env["PUBLIC_BASE_URL"], accounts, secret)
        supervisor.add("oidc", lambda: _start("oidc", command, env, log_dir))
        portal_env.update(localidp.portal_settings(oidc_port, secret))
    else:
        print("The local OpenID provider is not installed (make assets); staff sign-in is off.",
              file=sys.stderr)
    supervisor.add("portal", lambda: _start("portal", [sys.executable, "-m", "services.cli.senctl",
                                                       "serve", "portal"], portal_env, log_dir))
    if not _wait_ready(f"http://127.0.0.1:{port}/health/ready", supervisor.procs[-1][1]):
        print(f"portal did not become ready; see {log_dir / 'portal'}.log", file=sys.stderr)
        return False
    return True


def _sign_in_help(portal, var):
    from services.cli.demo_people import DEMO_PASSWORD, PARENTS, PEOPLE, org
    lines = [f"\nSign in at {portal}/sign-in as any demo person:"]
    for p in PEOPLE:
        how = (f"'Sign in with your work account', then {p['email']} / {DEMO_PASSWORD}"
               if p["sign_in"] == "oidc" else
               f"'Email me a sign-in link' with {p['email']}; the link arrives in {var / 'mail'}")
        lines.append(f"  {p['name']:<14} {', '.join(p['roles']):<26} {org(p['org'])['name']}: {how}")
    for p in PARENTS:
        lines.append(f"  {p['name']:<14} {'parent':<26} {org(p['org'])['name']}: 'Email me a "
                     f"sign-in link' with {p['email']}; the link arrives in {var / 'mail'}")
    return "\n".join(lines)


def _capture(argv):
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        senctl.main(argv)
    return out.getvalue().strip()


CURL = """curl -s -X POST {url}/api/v1/referrals \\
  -H "Authorization: Bearer {token}" \\
  -H "Content-Type: application/json" \\
  -d '{body}'"""


def curl(url, token):
    """The banner's curl: the demo referral, which meets this term's demo agreement."""
    import json

    from .demo_people import DEMO_REFERRAL
    return CURL.format(url=url, token=token, body=json.dumps(DEMO_REFERRAL, indent=2))


if __name__ == "__main__":
    sys.exit(main())
