"""Bounces: RFC 3464 delivery status notifications read from a bounce mailbox.

A message the SMTP server accepted can still bounce later. Notify sends with
the envelope sender NOTIFY_BOUNCE_ADDRESS (when set), so the reports come back
there; the mailbox is read as a directory of messages (NOTIFY_BOUNCE_DIR: a
maildir's `new/`, or the local SMTP catcher's directory, which stands in for
the bounce address in development and tests). Each report names the original
message by its Message-ID, which is the delivery's id; commands/receipts.py
decides what a report does (a `failed` action with a 5.x.x status fails the
delivery for good, with fallback; `delayed` changes nothing). Each file is handled
once and moved to `processed/` (or `unreadable/`).
"""

import email
import email.policy
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

MESSAGE_ID = re.compile(r"<([0-9a-f-]{36})@notify\.sen-trust\.example>", re.I)


def parse_dsn(raw):
    """[(delivery_id, action, status)] from one RFC 3464 report (bytes); [] if it
    is not a delivery status notification about one of our messages."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.get_content_type() != "multipart/report" or \
            msg.get_param("report-type", "").lower() != "delivery-status":
        return []
    delivery_id, recipients = None, []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            # per RFC 3464 the body is groups of header fields: one per message, then
            # one per recipient; the email package parses them as sub-messages
            for group in part.get_payload():
                if group.get("Action"):
                    recipients.append((str(group.get("Action")).strip().lower(),
                                       str(group.get("Status", "")).strip()))
        elif ctype in ("text/rfc822-headers", "message/rfc822") and delivery_id is None:
            text = part.as_string()
            found = MESSAGE_ID.search(text)
            if found:
                delivery_id = found.group(1)
    if delivery_id is None:
        return []
    return [(delivery_id, action, status) for action, status in recipients]


def read(directory, handle):
    """Call `handle(reports)` for every report file in the bounce directory (a
    maildir's `new/`, or `*.eml` files); each file is then moved to `processed/`,
    or to `unreadable/` if it cannot be parsed."""
    if not directory:
        return
    base = Path(directory)
    for path in sorted(base.glob("*.eml")) + sorted((base / "new").glob("*")) \
            if base.exists() else []:
        if not path.is_file():
            continue
        try:
            reports = parse_dsn(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - never stop on one bad file
            log.warning("bounce mailbox: unreadable report (%s)", type(exc).__name__)
            _move(path, base / "unreadable")
            continue
        handle(reports)
        _move(path, base / "processed")


def _move(path, target):
    target.mkdir(parents=True, exist_ok=True)
    os.replace(path, target / path.name)
