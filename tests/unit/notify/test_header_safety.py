"""Values that cannot go into an email header as they are (issue 17)."""

from types import SimpleNamespace

import pytest
from marshmallow import ValidationError

from services.contracts.text import single_line
from services.notify import domain
from services.notify.adapters import SendFailed
from services.notify.adapters.email import build_email
from services.referrals.schemas import ReferralCreateSchema
from tests.helpers import referral_body


def delivery(**kw):
    values = dict(id="d-1", recipient="jo@riverside.example", recipient_name="Jo Smith",
                  subject="Referral REF-1 received", template_id="t", template_version=1,
                  body_text="Hello", body_html=None, language="en")
    values.update(kw)
    return SimpleNamespace(**values)


def test_a_name_with_a_line_break_cannot_add_a_header():
    msg = build_email(delivery(recipient_name="Jo\r\nBcc: someone@elsewhere.example",
                               subject="Hello\nX-Evil: 1"))
    raw = msg.as_bytes()
    assert b"\nBcc:" not in raw and b"\nX-Evil:" not in raw
    assert msg["To"].addresses[0].addr_spec == "jo@riverside.example"
    assert "\n" not in str(msg["Subject"])


def test_a_non_ascii_name_is_encoded():
    raw = build_email(delivery(recipient_name="Zoë Ó Briain")).as_bytes()
    assert b"=?utf-8?" in raw and "Zoë".encode() not in raw.split(b"\n\n")[0]


@pytest.mark.parametrize("address", ["jo@riverside.example\r\nBcc: x@y.example",
                                     "jo riverside.example", "a@b@c.example"])
def test_an_address_that_cannot_be_a_header_fails_permanently(address):
    with pytest.raises(SendFailed) as err:
        build_email(delivery(recipient=address))
    assert err.value.status == domain.PERMANENT_FAILURE


@pytest.mark.parametrize("value", ["Jo\nSmith", "Jo\rSmith", "Jo\x00", "Jo\u2028Smith"])
def test_the_api_refuses_control_characters_in_names(value):
    with pytest.raises(ValidationError):
        single_line(value)
    body = referral_body(contact={"name": value, "email": "jo@riverside.example",
                                  "phone": "01632 960000"})
    with pytest.raises(ValidationError) as err:
        ReferralCreateSchema().load(body)
    assert "name" in err.value.messages["contact"]
    pupil = {**referral_body()["pupil"], "first_name": value}
    with pytest.raises(ValidationError):
        ReferralCreateSchema().load(referral_body(pupil=pupil))
