"""A referral's acknowledgement, end to end: POST /api/v1/referrals at a fixed rate
to the referrals service, its outbox relay, RabbitMQ, notify's consumer and its
SMTP send, to a local SMTP server (services.cli.mailcatcher, its own process).
The latency of one referral is from just before its POST to the moment its
acknowledgement's .eml file is written (the file's mtime); p50/p95/max of all.

Both services run in this process (as two containers), on migrated SQLite
databases and the bench vhost; the client is green threads of this process.
"""

import json
import re
import time
from pathlib import Path

import eventlet
import requests

from services.common import auth, migrations, topology

from .http_intake import free_port, referral_body, serve
from .infra import percentile
from .notify_throughput import _start_smtp

ORG_ID = "00000000-0000-4000-8000-00000000be03"
TO = re.compile(rb"^To: .*?ack-(\d+)@bench-school\.example", re.M | re.I)


def run(amqp_uri, workdir, rate=50.0, seconds=60.0, say=print):
    from services.notify.service import NotifyService
    from services.referrals.service import ReferralsService

    workdir = Path(workdir)
    mail = workdir / "mail"
    smtp_port = free_port()
    smtp = _start_smtp(mail, smtp_port)
    urls = {s: f"sqlite:///{workdir / s}.sqlite3" for s in ("referrals", "notify")}
    for service, url in urls.items():
        migrations.upgrade(service, url)
    topology.declare(NotifyService, amqp_uri)
    private_pem, public_pem = auth.generate_key_pair()
    token = auth.issue_token("bench-referrer", ORG_ID, ["partner_referrer"], key=private_pem,
                            org_kind="partner_school")
    port = free_port()
    stops = []
    try:
        stops.append(serve(NotifyService, {
            "NOTIFY_DATABASE_URL": urls["notify"], "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port), "OUTREACH_INBOX": "outreach@bench.example",
            "NOTIFY_API_KEY": "", "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
            "JWT_PUBLIC_KEY": public_pem.decode()}))
        stops.append(serve(ReferralsService, {
            "REFERRALS_DATABASE_URL": urls["referrals"], "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "JWT_PUBLIC_KEY": public_pem.decode()}))
        url = f"http://127.0.0.1:{port}/api/v1/referrals"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        sent, statuses = {}, {}
        http = requests.Session()
        # as many kept-alive connections as requests in flight (the default keeps 10
        # and opens, then discards, a new connection for every other request)
        http.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1,
                                                            pool_maxsize=200))

        def post(i):
            body = referral_body()
            body["contact"] = dict(body["contact"], email=f"ack-{i}@bench-school.example")
            sent[i] = time.time()
            try:
                statuses[i] = http.post(url, data=json.dumps(body), headers=headers,
                                        timeout=30).status_code
            except requests.RequestException as exc:
                statuses[i] = type(exc).__name__

        total = int(rate * seconds)
        say(f"  {total} referrals at {rate:.0f}/s for {seconds:.0f} s ...")
        pool = eventlet.GreenPool(200)
        started = time.monotonic()
        for i in range(total):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                eventlet.sleep(delay)
            pool.spawn_n(post, i)
        pool.waitall()
        arrived = {}
        ends = time.monotonic() + 60
        while time.monotonic() < ends:
            for path in mail.glob("*.eml"):
                if path.name in arrived:
                    continue
                with open(path, "rb") as f:
                    m = TO.search(f.read(4096))
                arrived[path.name] = (int(m.group(1)) if m else None, path.stat().st_mtime)
            got = {i for i, _ in arrived.values() if i is not None}
            if len(got) >= sum(1 for s in statuses.values() if s == 201):
                break
            eventlet.sleep(0.2)
        latencies = sorted((mtime - sent[i]) * 1000 for i, mtime in arrived.values()
                           if i is not None and i in sent)
        ok = sum(1 for s in statuses.values() if s == 201)
        return {"rate": rate, "seconds": seconds, "sent": total, "accepted": ok,
                "received": len(latencies), "p50_ms": percentile(latencies, 50),
                "p95_ms": percentile(latencies, 95),
                "max_ms": latencies[-1] if latencies else float("nan")}
    finally:
        for stop in reversed(stops):
            try:
                stop()
            except Exception:  # noqa: BLE001 - stopping what is left
                pass
        smtp.terminate()
        smtp.wait(5)


def report(fig):
    return (f"Acknowledgement latency: {fig['sent']} referrals at {fig['rate']:.0f}/s for "
            f"{fig['seconds']:.0f} s, {fig['accepted']} accepted, {fig['received']} "
            f"acknowledgements received\n  p50 {fig['p50_ms']:.0f} ms, p95 "
            f"{fig['p95_ms']:.0f} ms, max {fig['max_ms']:.0f} ms (POST sent -> .eml written)")
