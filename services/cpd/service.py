"""CPD service: staff training. Today its platform skeleton (health, metrics,
OpenAPI, outbox relay); courses and bookings are issue 6."""

from services.common.db import DatabaseProvider
from services.common.outbox import OutboxRelay
from services.common.service import PlatformService

from .models import Base


class CpdService(PlatformService):
    name = "cpd"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()
