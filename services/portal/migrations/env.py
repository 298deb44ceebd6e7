from services.common.migrations import run_env
from services.portal.models import Base

run_env(Base.metadata)
