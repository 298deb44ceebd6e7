"""Timers whose interval is a field of the service's settings (its `config.py`),
read when the service starts, so tests and deployments change it without code:

    @timer("overdue_scan_seconds")          # REFERRALS_OVERDUE_SCAN_SECONDS
    def overdue_timer(self): ...
"""

from nameko.timer import Timer

from .config import ConfigProvider, load


class ConfigTimer(Timer):
    def __init__(self, field, eager=False, **kwargs):
        self.field = field
        super().__init__(interval=1.0, eager=eager, **kwargs)

    def setup(self):
        providers = [d for d in self.container.dependencies if isinstance(d, ConfigProvider)]
        if not providers:
            raise TypeError(f"{self.container.service_name}: a timer on config field "
                            f"{self.field!r} needs the service's `config = ConfigProvider(...)`")
        provider = providers[0]
        config = provider.value or load(provider.cls, self.container.service_name)
        self.interval = float(getattr(config, self.field))
        super().setup()


timer = ConfigTimer.decorator
