"""What the SMTP server has accepted, written the moment it says so.

Between the server's 250 after DATA and the commit that records the delivery
as delivered there is a window: a process killed in it leaves the delivery in
`sending`, and when its lease runs out it is sent again (the same Message-ID,
but some mailboxes keep both). This journal narrows that window to one
`write(2)` of the delivery's id to an append-only file (it survives the
process being killed; the kernel has it), so the sweeper that picks up a
lapsed lease first asks the journal and records the delivery as delivered
instead of sending it again.

One journal per process directory (NotifyConfig.notify_smtp_journal, default
$SEN_VAR_DIR/notify/smtp-accepted.journal): with several replicas a lapsed
lease taken over by another replica is still sent again (the Message-ID makes
that harmless for most mailboxes). Set NOTIFY_SMTP_JOURNAL=off to disable. The
mailer (adapters/__init__.py) holds the journal of its configured path.
"""

import logging
import os
import threading
from pathlib import Path

from services.common import settings  # VAR_DIR only

log = logging.getLogger(__name__)

KEEP = 20_000  # ids kept when the file is compacted (far more than a lease's worth)


class Journal:
    def __init__(self, path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._ids = None
        self._fd = None
        self.broken = False

    def _open(self):
        if self._fd is None and not self.broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                ids = []
                if self.path.exists():
                    ids = self.path.read_text(errors="replace").split()
                if len(ids) > KEEP:  # compact: keep the newest
                    ids = ids[-KEEP // 2:]
                    tmp = self.path.with_suffix(".tmp")
                    tmp.write_text("".join(i + "\n" for i in ids))
                    os.replace(tmp, self.path)
                self._ids = set(ids)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                log.warning("SMTP journal unavailable (%s): a kill after DATA may resend",
                            type(exc).__name__)
                self.broken = True
        return self._fd is not None

    def accepted(self, delivery_id):
        """Record that the SMTP server accepted `delivery_id` (call it straight
        after the 250 to DATA)."""
        with self._lock:
            if self._open():
                try:
                    os.write(self._fd, f"{delivery_id}\n".encode())
                    self._ids.add(delivery_id)
                except OSError as exc:
                    log.warning("SMTP journal write failed (%s)", type(exc).__name__)

    def was_accepted(self, delivery_id):
        with self._lock:
            return self._open() and delivery_id in self._ids


def path_for(configured):
    """The journal's file for the configured value, or None when it is off."""
    if configured.lower() == "off":
        return None
    return configured or str(settings.VAR_DIR / "notify" / "smtp-accepted.journal")
