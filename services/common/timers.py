"""Timers whose interval is a setting (read when the service starts, so tests
and deployments can change it without code)."""

from nameko.timer import Timer

from . import settings


class SettingTimer(Timer):
    """`@SettingTimer.decorator("EHCP_TIMER_SECONDS", default=86400)`"""

    def __init__(self, setting, default, eager=False, **kwargs):
        self.setting, self.default = setting, default
        super().__init__(interval=default, eager=eager, **kwargs)

    def setup(self):
        self.interval = float(settings.get(self.setting, default=str(self.default),
                                           service=self.container.service_name))
        super().setup()


timer_from_setting = SettingTimer.decorator
