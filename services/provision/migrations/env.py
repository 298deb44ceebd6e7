from services.common.migrations import run_env
from services.provision.models import Base

run_env(Base.metadata)
