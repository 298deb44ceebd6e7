from services.common.migrations import run_env
from services.pupils.models import Base

run_env(Base.metadata)
