from services.common.migrations import run_env
from services.cpd.models import Base

run_env(Base.metadata)
