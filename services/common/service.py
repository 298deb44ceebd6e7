"""What every service has besides its own entrypoints: health, metrics and
its OpenAPI document. A service class inherits PlatformService and declares
`name`, `config`, `db` and `relay`."""

from kombu import Connection
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from . import metrics, resolver, settings, tracing
from .config import ConfigProvider, PlatformConfig
from .http import api, json_response

tracing.setup()
resolver.install()  # host lookups in OS threads where `senctl serve` turned greendns off


class PlatformService:
    name = None
    config = ConfigProvider(PlatformConfig)  # a service names its own config class

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            def openapi(self, request):
                from .openapi import build_openapi  # apispec only when asked for
                return json_response(build_openapi(type(self)))
            openapi.__name__ = "openapi"
            cls.openapi = api("GET", f"/api/v1/{cls.name}/openapi.json", public=True)(openapi)

    @api("GET", "/health/live", public=True)
    def health_live(self, request):
        return json_response({"status": "ok", "service": self.name})

    @api("GET", "/health/ready", public=True)
    def health_ready(self, request):
        """Ready means "can serve its requests": the database. The broker's state
        is reported (and is the `broker_connected` metric) but never makes a
        service unready: intake works through the outbox while it is away."""
        checks = {}
        try:
            self.db.ping()
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["database"] = f"error: {type(exc).__name__}"
        connected = metrics.broker_connected(self.name)
        if connected is None:  # the relay has not looked yet
            try:
                uri = settings.amqp_uri()
                with Connection(uri, connect_timeout=1) as conn:
                    # every address of a cluster (`;`-separated) is tried
                    conn.ensure_connection(max_retries=uri.count(";") + 1, interval_start=0,
                                           interval_step=0)
                connected = True
            except Exception:  # noqa: BLE001
                connected = False
        checks["broker"] = "ok" if connected else "unavailable: events wait in the outbox"
        ready = checks["database"] == "ok"
        return json_response({"status": "ok" if ready else "unavailable", "checks": checks},
                             status=200 if ready else 503)

    @api("GET", "/metrics", public=True)
    def metrics(self, request):
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
