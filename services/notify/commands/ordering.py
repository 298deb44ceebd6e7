"""Messages about one referral or one booking reach the mail server in the order
their events happened, although each event type has its own queue.

Each such delivery carries its subject (`order_key`: "referral:<id>",
"booking:<id>") and the event's sequence (`order_seq`: a referral event's
`sequence`, a booking event's `calendar_sequence`; None in older events). It
waits, for at most `delivery_order_wait_seconds` after it was recorded, while

- an earlier delivery of the same subject to the same recipient is not yet sent
  (earlier: a lower sequence; without sequences, an earlier `occurred_at`), or
- for a referral, the event just before it in the sequence has not been handled
  yet (a gap: its deliveries may not even be recorded). Every sequence handled
  is kept in `order_sequences`. Bookings are not checked for gaps: some booking
  events (an approval request, a session's move) never reach notify as
  booking events.

A waiting delivery stays `created` with `waiting` set; it is sent as soon as the
one before it is settled (deliveries._next_in_order), else by the sweeper once
it may go. Nothing here changes the exactly-once rules: the claim still decides
who sends."""

from datetime import timedelta

from sqlalchemy import or_, select, update

from .. import domain
from ..models import Delivery, OrderSequence

GAP_CHECKED = ("referral:",)


def seen(session, key, sequence):
    """Remember that the event `sequence` of subject `key` was handled."""
    if session.get(OrderSequence, (key, sequence)) is None:
        session.add(OrderSequence(order_key=key, sequence=sequence))


def _earlier_unsent(session, row):
    if row.order_seq is None:
        earlier = Delivery.created_at < row.created_at
    else:
        earlier = or_(Delivery.order_seq < row.order_seq,
                      Delivery.order_seq.is_(None) & (Delivery.created_at < row.created_at))
    return session.execute(select(Delivery.id).where(
        Delivery.order_key == row.order_key, Delivery.recipient == row.recipient,
        Delivery.id != row.id, Delivery.status.in_(domain.UNSENT), earlier).limit(1)).first()


def _gap(session, row):
    if row.order_seq is None or row.order_seq <= 1 or not row.order_key.startswith(GAP_CHECKED):
        return False
    return session.get(OrderSequence, (row.order_key, row.order_seq - 1)) is None


def must_wait(session, delivery_id, now, *, poll):
    """Whether the delivery, due now, must wait for an earlier one; if so it is
    marked waiting, to be looked at again in `poll` seconds."""
    row = session.get(Delivery, delivery_id)
    if (row is None or row.order_key is None or row.status != domain.CREATED
            or row.order_deadline is None or now >= row.order_deadline
            or row.next_attempt_at > now):
        return False
    if not (_earlier_unsent(session, row) or _gap(session, row)):
        return False
    again = min(now + timedelta(seconds=poll), row.order_deadline)
    session.execute(update(Delivery).where(
        Delivery.id == row.id, Delivery.status == domain.CREATED).values(
        waiting=True, next_attempt_at=again))
    return True


def waiting_after(session, delivery, now):
    """The deliveries waiting behind `delivery` (same subject and recipient), in
    order, made due now."""
    where = (Delivery.order_key == delivery.order_key, Delivery.recipient == delivery.recipient,
             Delivery.status == domain.CREATED, Delivery.waiting == True)  # noqa: E712
    ids = session.execute(select(Delivery.id).where(*where).order_by(
        Delivery.order_seq, Delivery.created_at)).scalars().all()
    if ids:
        session.execute(update(Delivery).where(*where).values(next_attempt_at=now))
    return ids
