"""Settings from the environment (12-factor), with nameko config as an overlay.

Lookup order for a key: nameko config (tests patch it), then the environment,
then the default. Per-service keys are spelled `<SERVICE>_<KEY>` and win over
the plain key, so one process (a test, `senctl`) can address several services.
"""

import os
from pathlib import Path

from nameko import config as nameko_config

ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("SEN_VAR_DIR", ROOT / "var"))

SERVICES = ("pupils", "provision", "cpd", "referrals", "notify", "portal")
DEV_PORTS = {"pupils": 8001, "provision": 8002, "cpd": 8003, "referrals": 8004, "notify": 8005,
             "portal": 8000}

def _platform_defaults():
    """The kit's defaults, from the one place they are written (config.PlatformConfig)."""
    import dataclasses

    from .config import PlatformConfig
    out = {}
    for f in dataclasses.fields(PlatformConfig):
        if f.name == "service" or f.default is None:
            continue
        value = f.default
        out[f.name.upper()] = (",".join(f"{v:g}" for v in value) if isinstance(value, tuple)
                               else str(value).lower() if isinstance(value, bool) else str(value))
    return out


_DEFAULTS = {
    **_platform_defaults(),
    # notify's, until every reader uses NotifyConfig
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": "8025",
    "SMTP_FROM": "SEN Trust <no-reply@sen-trust.example>",
    "SMTP_STARTTLS": "false",
    "SMTP_TIMEOUT": "10",
    "OUTREACH_INBOX": "outreach@sen-trust.example",
    "DELIVERY_MAX_ATTEMPTS": "8",
    "DELIVERY_BACKOFF_SECONDS": "2",
    "DELIVERY_LEASE_SECONDS": "30",
    "DELIVERY_SWEEP_SECONDS": "1.0",
}


def get(key, default=None, service=None):
    keys = ([f"{service.upper()}_{key}"] if service else []) + [key]
    for k in keys:
        value = nameko_config.get(k)
        if value not in (None, ""):
            return str(value) if not isinstance(value, str) else value
        value = os.environ.get(k)
        if value not in (None, ""):
            return value
    if default is not None:
        return default
    return _DEFAULTS.get(key)


def get_int(key, service=None):
    return int(get(key, service=service))


def get_float(key, service=None):
    return float(get(key, service=service))


def get_bool(key, service=None):
    return str(get(key, service=service)).lower() in ("1", "true", "yes", "on")


def amqp_uri():
    return get("AMQP_URI")


def database_url(service):
    url = get("DATABASE_URL", service=service)
    if url:
        return url
    db_dir = VAR_DIR / "db"
    db_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db_dir / (service + '.sqlite3')}"
