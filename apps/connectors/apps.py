from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorsConfig(AppConfig):
    name = "apps.connectors"
    label = "connectors"
    verbose_name = _("Connectors")

    def ready(self) -> None:
        from . import receivers, registry

        registry.load_builtin()
        receivers.connect()
