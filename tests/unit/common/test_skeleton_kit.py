"""The kit's typed handles: event types, roles, settings and domain errors."""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from marshmallow import fields

from services.common import errors
from services.common.access import HELD_AT, Role
from services.common.config import ConfigError, PlatformConfig, at_least, load, setting
from services.common.http import api, problem_for
from services.contracts import events
from services.contracts.registry import catalogue

ROOT = Path(__file__).resolve().parents[3]


def test_every_catalogued_type_has_one_handle_and_every_handle_a_type():
    types = {spec.type for spec in catalogue()}
    handles = events.handles()
    assert set(handles.values()) == types
    for name, value in handles.items():
        assert name == value.constant
        assert value.producer in ("pupils", "provision", "cpd", "referrals", "notify")


def test_a_subscription_to_an_unknown_type_fails_at_import():
    from services.common.consumer import subscribe
    with pytest.raises(KeyError):
        subscribe("referral.teleported")


def test_an_unknown_role_in_api_fails_where_it_is_written():
    with pytest.raises(ValueError, match="unknown role 'sencoo'"):
        api("GET", "/x", roles=("sencoo",))(lambda self, request: None)
    assert set(HELD_AT) == set(Role)


def _emit_and_subscribe_calls():
    for path in (ROOT / "services").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in ("emit", "emit_many", "subscribe") and node.args:
                    yield path.relative_to(ROOT), node.lineno, node.args[0]


def test_no_event_type_is_written_as_a_bare_string():
    literal = [f"{p}:{line}" for p, line, arg in _emit_and_subscribe_calls()
               if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    assert not literal, "use the catalogue's handles (services.contracts.events): " + \
        ", ".join(literal)


FORBIDDEN = {"first_name", "last_name", "date_of_birth", "dob", "concerns",
             "support_so_far", "notes", "pupil_name", "name_of_pupil", "address"}


def _field_names(schema, path=""):
    for name, field in schema.fields.items():
        yield f"{path}{name}", name
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            nested = inner.schema
            yield from _field_names(nested, f"{path}{name}.")


def test_no_event_carries_personal_data_at_any_depth():
    found = [f"{spec.type} v{spec.version}: {path}" for spec in catalogue()
             for path, name in _field_names(spec.schema()) if name in FORBIDDEN]
    assert not found, found


def test_the_privacy_walk_sees_a_nested_pupil_name():
    from marshmallow import Schema

    class Inner(Schema):
        first_name = fields.String()

    class Outer(Schema):
        pupil = fields.Nested(Inner)
        pupils = fields.List(fields.Nested(Inner))

    assert {p for p, n in _field_names(Outer()) if n in FORBIDDEN} == {
        "pupil.first_name", "pupils.first_name"}


@dataclass(frozen=True)
class ExampleConfig(PlatformConfig):
    working_days: int = setting(2, check=at_least(0))
    send_digest: bool = False
    delays: tuple[float, ...] = (1.0, 2.0)
    inbox: str | None = None


def test_config_reads_typed_values_with_the_service_prefix_first(monkeypatch):
    monkeypatch.setenv("WORKING_DAYS", "7")
    monkeypatch.setenv("EXAMPLE_WORKING_DAYS", "3")
    monkeypatch.setenv("EXAMPLE_SEND_DIGEST", "yes")
    monkeypatch.setenv("DELAYS", "0.5, 4")
    config = load(ExampleConfig, "example")
    assert (config.working_days, config.send_digest, config.delays, config.inbox) == (
        3, True, (0.5, 4.0), None)
    assert config.service == "example"
    assert load(ExampleConfig, "other").working_days == 7


@pytest.mark.parametrize("name, value, says", [
    ("EXAMPLE_WORKING_DAYS", "two", "EXAMPLE_WORKING_DAYS='two': expected a whole number"),
    ("WORKING_DAYS", "-1", "WORKING_DAYS: must be at least 0"),
    ("EXAMPLE_SEND_DIGEST", "maybe", "EXAMPLE_SEND_DIGEST='maybe': expected true or false"),
    ("QUEUE_TYPE", "lazy", "QUEUE_TYPE: must be one of quorum, classic"),
])
def test_a_bad_setting_fails_with_its_variable_named(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as exc:
        load(ExampleConfig, "example")
    assert says in str(exc.value)


def test_a_bad_setting_stops_the_container_from_starting(monkeypatch):
    from nameko.containers import ServiceContainer
    from nameko.testing.utils import get_extension

    from services.common.config import ConfigProvider

    class Example:
        name = "example"
        config = ConfigProvider(ExampleConfig)

    monkeypatch.setenv("EXAMPLE_WORKING_DAYS", "lots")
    container = ServiceContainer(Example)
    provider = get_extension(container, ConfigProvider)
    with pytest.raises(ConfigError, match="EXAMPLE_WORKING_DAYS"):
        provider.setup()


@pytest.mark.parametrize("error, status", [
    (errors.NotFound("No such pupil"), 404), (errors.NotAllowed("Not yours"), 403),
    (errors.Conflict("Already closed"), 409),
    (errors.RuleBroken("The end is before the start", field="ends_on"), 422),
])
def test_domain_errors_map_to_problems_in_one_place(error, status):
    problem = problem_for(error)
    assert problem.status == status
    assert problem.detail == error.detail
    if error.field:
        assert problem.errors == {"ends_on": ["The end is before the start"]}
