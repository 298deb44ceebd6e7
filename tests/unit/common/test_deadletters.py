from types import SimpleNamespace

from services.common.deadletters import _describe_raw


def test_our_dead_letters_name_handler_queue_and_reason():
    msg = SimpleNamespace(headers={"x-queue": "evt-a-b--c.d", "x-handler": "c.d",
                                   "x-reason": "boom", "x-event-id": "e1",
                                   "x-event-type": "b", "x-failed-at": "t"},
                          properties={})
    info = _describe_raw(msg)
    assert info["queue"] == "evt-a-b--c.d" and info["reason"] == "boom"


def test_broker_dead_letters_fall_back_to_x_death():
    msg = SimpleNamespace(
        headers={"x-first-death-queue": "evt-referrals-referral.submitted--notify.on_x",
                 "x-first-death-reason": "delivery_limit",
                 "x-death": [{"queue": "evt-referrals-referral.submitted--notify.on_x",
                              "reason": "delivery_limit", "routing-keys": ["referral.submitted"]}]},
        properties={"message_id": "e2"})
    info = _describe_raw(msg)
    assert info["queue"] == "evt-referrals-referral.submitted--notify.on_x"
    assert info["handler"] == "notify.on_x" and info["event_id"] == "e2"
    assert info["event_type"] == "referral.submitted"
    assert info["reason"] == "broker: delivery_limit"
