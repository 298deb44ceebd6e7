"""The relay's bookkeeping of publisher confirms (services/common/outbox.py): the
rows it may mark published are those up to the first tag not acked in order."""

from collections import defaultdict

from services.common.outbox import _Confirms


class Channel:
    """What _Confirms uses of an amqp channel: its event callbacks and confirm.select."""

    def __init__(self):
        self.events = defaultdict(set)
        self.selected = False

    def confirm_select(self):
        self.selected = True


def confirms(published):
    channel = Channel()
    c = _Confirms(channel)
    c.published = published
    return c, channel


def test_confirm_select_is_sent_and_callbacks_registered():
    c, channel = confirms(0)
    assert channel.selected
    assert c.on_ack in channel.events["basic_ack"] and c.on_nack in channel.events["basic_nack"]


def test_acks_one_by_one_out_of_order_count_only_in_order():
    c, _ = confirms(5)
    c.on_ack(2, False)
    c.on_ack(3, False)
    assert c.confirmed_upto() == 0  # 1 not yet acked: nothing may be marked
    c.on_ack(1, False)
    assert c.confirmed_upto() == 3
    c.on_ack(5, False)
    assert c.confirmed_upto() == 3
    c.on_ack(4, False)
    assert c.confirmed_upto() == 5 and not c.acked


def test_a_multiple_ack_confirms_everything_up_to_its_tag():
    c, _ = confirms(10)
    c.on_ack(7, True)
    assert c.confirmed_upto() == 7
    c.on_ack(8, False)
    c.on_ack(10, True)
    assert c.confirmed_upto() == 10


def test_a_nack_stops_the_rows_before_it_even_if_later_ones_are_acked():
    c, _ = confirms(6)
    c.on_ack(2, True)
    c.on_nack(4, False)
    c.on_ack(6, True)
    assert c.confirmed_upto() == 3
    c2, _ = confirms(6)
    c2.on_ack(2, True)
    c2.on_nack(5, True)  # multiple: everything after the last ack is refused
    assert c2.confirmed_upto() == 2
