"""A local SMTP server that keeps every message as an .eml file.

    python -m services.cli.mailcatcher --dir var/mail --port 8025

Files are named by Message-ID, as a mailbox keeps them: a message sent again
with the same Message-ID (a retry after a crash) is stored once, and the
repeat is counted in `<dir>/repeats.log`. Every SMTP transaction is appended
to `<dir>/transactions.log`, so tests can count what really crossed the wire.
"""

import argparse
import email
import email.policy
import hashlib
import os
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


def _filename(message_id, envelope_rcpt):
    key = f"{message_id}|{envelope_rcpt}".encode()
    return hashlib.sha256(key).hexdigest()[:32] + ".eml"


class MaildirHandler:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        message_id = msg.get("Message-ID") or hashlib.sha256(envelope.content).hexdigest()
        with self._lock:
            with open(self.dir / "transactions.log", "a") as log:
                log.write(f"{message_id} {','.join(envelope.rcpt_tos)}\n")
            for rcpt in envelope.rcpt_tos:
                path = self.dir / _filename(message_id, rcpt)
                if path.exists():
                    with open(self.dir / "repeats.log", "a") as log:
                        log.write(f"{message_id} {rcpt}\n")
                    continue
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(envelope.original_content or envelope.content)
                os.replace(tmp, path)
        return "250 Message accepted for delivery"


def start(directory, host="127.0.0.1", port=8025):
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="var/mail")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    controller = start(args.dir, args.host, args.port)
    print(f"SMTP catcher on {args.host}:{args.port}, keeping mail in {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
