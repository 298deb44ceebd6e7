"""Provision service: the provision map. Today its platform skeleton (health,
metrics, OpenAPI, outbox relay); the map itself is issue 4."""

from services.common.db import DatabaseProvider
from services.common.outbox import OutboxRelay
from services.common.service import PlatformService

from .models import Base


class ProvisionService(PlatformService):
    name = "provision"
    db = DatabaseProvider(Base.metadata)
    relay = OutboxRelay()
