"""Settings as a typed object per service, read and validated once, when the
container starts.

A service declares its settings as a frozen dataclass that extends
`PlatformConfig` (the kit's own), in its `config.py`:

    @dataclass(frozen=True)
    class ReferralsConfig(PlatformConfig):
        acknowledge_working_days: int = setting(2, check=at_least(0))

and injects it: `config = ConfigProvider(ReferralsConfig)` on the service
class. A field `acknowledge_working_days` is read from `REFERRALS_ACKNOWLEDGE_
WORKING_DAYS`, else `ACKNOWLEDGE_WORKING_DAYS` (nameko config first, then the
environment), else its default. A value that does not parse or breaks its
check fails the container's start with a message naming the variable.
Outside nameko (senctl, benchmarks, tests), `load(ReferralsConfig, "referrals")`.
"""

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field

from nameko import config as nameko_config
from nameko.extensions import DependencyProvider


class ConfigError(ValueError):
    """A setting that does not parse or breaks its rule; names the variable."""


def setting(default, *, check=None, doc=None):
    """A field of a config class, with its default and an optional `check(value)`
    returning an error text (or None)."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for a list-valued default")
    return field(default=default, metadata={"check": check, "doc": doc})


def at_least(low):
    return lambda v: None if v >= low else f"must be at least {low}"


def one_of(*choices):
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def _parse(kind, raw):
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if raw.strip() == "" else _parse(inner[0], raw)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_parse(item, part.strip()) for part in raw.split(",") if part.strip())
    if kind is bool:
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError("expected a whole number") from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError("expected a number") from None
    return kind(raw)


def _raw(name, service):
    keys = ([f"{service.upper()}_{name}"] if service else []) + [name]
    for key in keys:
        value = nameko_config.get(key)
        if value not in (None, ""):
            return key, value if isinstance(value, str) else (
                ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value))
        value = os.environ.get(key)
        if value not in (None, ""):
            return key, value
    return None, None


def load(cls, service=None):
    """An instance of `cls` from the environment (and nameko config) of `service`."""
    hints = typing.get_type_hints(cls)
    values, problems = {}, []
    for f in dataclasses.fields(cls):
        if f.name == "service":
            values["service"] = service or ""
            continue
        key, raw = _raw(f.name.upper(), service)
        if raw is None:
            continue  # the default
        try:
            value = _parse(hints[f.name], raw)
        except ValueError as exc:
            problems.append(f"{key}={raw!r}: {exc}")
            continue
        values[f.name] = value
    instance = None
    if not problems:
        instance = cls(**values)
        for f in dataclasses.fields(cls):
            check = f.metadata.get("check")
            if check and (message := check(getattr(instance, f.name))):
                key, _ = _raw(f.name.upper(), service)
                problems.append(f"{key or f.name.upper()}: {message}")
    if problems:
        raise ConfigError(f"{service or 'platform'} settings: " + "; ".join(problems))
    return instance


@dataclass(frozen=True)
class PlatformConfig:
    """What every service reads: the broker, the database pool, the outbox and
    the consumers' retries, mail and the portal's address."""

    service: str = ""
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    queue_type: str = setting("quorum", check=one_of("quorum", "classic"))
    database_url: str | None = None
    db_pool_size: int = setting(10, check=at_least(1))
    db_max_overflow: int = setting(10, check=at_least(0))
    prefetch_count: int = setting(20, check=at_least(1))
    outbox_poll_seconds: float = setting(1.0, check=at_least(0.01))
    outbox_batch: int = setting(200, check=at_least(1))
    outbox_retention_hours: int = setting(72, check=at_least(1))
    handler_max_attempts: int = setting(5, check=at_least(1))
    handler_backoff_seconds: float = setting(0.5, check=at_least(0))
    # delayed redeliveries of a transient fault, seconds (about 8 minutes in all)
    handler_retry_delays: tuple[float, ...] = (1, 2, 5, 10, 20, 30, 60, 60, 60, 120, 120)
    public_base_url: str = "http://localhost:8000"  # the portal (contracts/links.py)
    jwt_issuer: str = "sen-trust"
    jwt_audience: str = "sen-trust-api"


class ConfigProvider(DependencyProvider):
    """`config = ConfigProvider(ReferralsConfig)`: the service's settings, loaded
    and checked in `setup()`, so a bad value stops the container from starting."""

    def __init__(self, cls=PlatformConfig, **kwargs):
        self.cls = cls
        self.value = None
        super().__init__(**kwargs)

    def setup(self):
        self.value = load(self.cls, self.container.service_name)

    def get_dependency(self, worker_ctx):
        return self.value
