"""A JSON body's booleans are true or false: marshmallow's Boolean also loads 1, "yes",
"on", "0"… which a client never means in JSON. The kit checks this once, for every
service's bodies (services/common/http.py load_body); query strings keep "true"."""

import pytest
from marshmallow import Schema, fields

from services.common.http import NOT_A_BOOLEAN, load_body
from services.common.problems import Unprocessable
from services.notify.schemas import PreferenceSchema
from services.referrals.schemas import ReferralCreateSchema


class Inner(Schema):
    given = fields.Boolean(required=True)


class Body(Schema):
    urgent = fields.Boolean(load_default=False)
    maybe = fields.Boolean(allow_none=True, data_key="maybeSo")
    inner = fields.Nested(Inner)
    items = fields.List(fields.Nested(Inner))
    many = fields.Nested(Inner, many=True)
    flags = fields.List(fields.Boolean())


def errors_of(schema, data):
    with pytest.raises(Unprocessable) as exc:
        load_body(schema, data)
    return exc.value.errors


@pytest.mark.parametrize("value", [1, 0, "yes", "no", "true", "on", "1", "", [], {}])
def test_anything_but_true_or_false_is_a_422_naming_the_field(value):
    assert errors_of(Body, {"urgent": value}) == {"urgent": [NOT_A_BOOLEAN]}


def test_nested_lists_and_data_keys_are_named_by_their_path():
    errors = errors_of(Body, {"maybeSo": "y", "inner": {"given": 1},
                              "items": [{"given": True}, {"given": "yes"}],
                              "many": [{"given": 0}], "flags": [True, "false"]})
    assert errors == {"maybeSo": [NOT_A_BOOLEAN], "inner.given": [NOT_A_BOOLEAN],
                      "items.1.given": [NOT_A_BOOLEAN], "many.0.given": [NOT_A_BOOLEAN],
                      "flags.1": [NOT_A_BOOLEAN]}


def test_true_false_and_an_allowed_null_load():
    body = load_body(Body, {"urgent": True, "maybeSo": None, "inner": {"given": False},
                            "flags": [True, False]})
    assert body == {"urgent": True, "maybe": None, "inner": {"given": False},
                    "flags": [True, False]}


def test_the_other_fields_errors_come_in_the_same_422():
    errors = errors_of(PreferenceSchema, {"address": "x", "digest": "yes"})
    assert errors == {"address": ["Length must be between 3 and 254."],
                      "digest": [NOT_A_BOOLEAN]}


def test_the_services_schemas_are_strict_too():
    errors = errors_of(ReferralCreateSchema, {"parental_consent": {"given": "yes"}})
    assert errors["parental_consent.given"] == [NOT_A_BOOLEAN]
    assert "parental_consent.given" not in errors_of(
        ReferralCreateSchema, {"parental_consent": {"given": True}})
