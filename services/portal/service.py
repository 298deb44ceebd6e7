"""The portal: pages instead of JSON. Each page loads the person's session, calls
the services' APIs with a token minted for that person (adapters/services.py), and
renders a GOV.UK page. No business rules live here: what a person may see or do is
what the APIs answer. The entrypoints are in entrypoints/, by area; this class
composes them with the dependencies they share."""

from services.common.config import ConfigProvider
from services.common.db import DatabaseProvider
from services.common.service import PlatformService

from .adapters.documents import DocumentRenderer
from .adapters.oidc import OpenIdProvider
from .adapters.services import ApiError, Client, ServicesProvider
from .adapters.web import Renderer
from .config import PortalConfig
from .domain import DECLINE_REASONS, OUTCOMES, SEEN, navigation
from .entrypoints.base import Pages, page, person_page
from .entrypoints.cpd import CpdPages
from .entrypoints.documents import DocumentPages
from .entrypoints.pupils import PupilPages
from .entrypoints.referrals import ReferralPages
from .entrypoints.reports import ReportPages
from .entrypoints.signin import SignInPages
from .models import Base

# what other modules import from here (documents and charts, tests)
__all__ = ["DECLINE_REASONS", "OUTCOMES", "SEEN", "ApiError", "Client", "PortalService",
           "navigation", "page", "person_page"]


class PortalService(SignInPages, ReferralPages, PupilPages, CpdPages, DocumentPages, ReportPages,
                    Pages, PlatformService):
    name = "portal"
    db = DatabaseProvider(Base.metadata)
    config = ConfigProvider(PortalConfig)
    services = ServicesProvider()
    oidc = OpenIdProvider()
    pages = Renderer()
    documents = DocumentRenderer()
