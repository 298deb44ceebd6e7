"""The daily digest: the messages a recipient chose to receive once a day,
gathered into one."""

import json
import uuid

from sqlalchemy import select, update

from services.common.db import utcnow
from services.common.ids import new_id

from .. import domain
from ..models import Delivery


def compose(db, *, trust_name, reach_us=None):
    """Gather the digest deliveries now due into one message per recipient;
    return the ids of the digests to send."""
    now = utcnow()
    with db.session() as s:
        rows = s.execute(select(Delivery).where(
            Delivery.digest == True,  # noqa: E712
            Delivery.digest_id.is_(None), Delivery.status == domain.CREATED,
            Delivery.next_attempt_at <= now).order_by(Delivery.created_at)).scalars().all()
    groups = {}
    for row in rows:
        groups.setdefault((row.recipient, row.channel), []).append(row)
    ids = []
    for (recipient, channel), items in groups.items():
        member_ids = sorted(i.id for i in items)
        digest_id = new_id()
        context = {"trust_name": trust_name, **({"reach_us": reach_us} if reach_us else {}),
                   "items": [
            {"subject": i.subject, "link": json.loads(i.context_json or "{}").get("link", "")}
            for i in items]}
        ctx = {**context, "recipient": {"name": items[0].recipient_name or "",
                                        "audience": items[0].audience}}
        subject, text, html = domain.render(domain.DIGEST_TEMPLATE, ctx, domain.EMAIL)
        with db.unit_of_work() as uow:
            claimed = uow.session.execute(update(Delivery).where(
                Delivery.id.in_(member_ids), Delivery.digest_id.is_(None)
            ).values(digest_id=digest_id)).rowcount
            if claimed != len(member_ids):  # another sweeper got there first
                uow.session.rollback()
                continue
            uow.session.add(Delivery(
                id=digest_id,
                source_event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "digest:" + ",".join(
                    member_ids))),
                source_event_type="digest", org_id=items[0].org_id, subject_ref=None,
                template_id=domain.DIGEST_TEMPLATE_ID,
                template_version=domain.DIGEST_TEMPLATE.version, audience=items[0].audience,
                channel=channel, recipient=recipient, recipient_name=items[0].recipient_name,
                language="en", category=domain.Category.DIGEST, statutory=False, urgent=False,
                context_json=json.dumps(context), subject=subject, body_text=text,
                body_html=html, status=domain.CREATED, attempts=0, created_at=now,
                next_attempt_at=now, held=False, digest=False))
        ids.append(digest_id)
    return ids
