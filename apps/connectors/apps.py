from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorsConfig(AppConfig):
    name = "apps.connectors"
    label = "connectors"
    verbose_name = _("Connectors")
    # Targets and bindings are the DPO's register of where access is opened; the rows the
    # services write are read by the DPO and auditors.
    group_permissions = {
        "DPO": [
            "connectors.view_target",
            "connectors.add_target",
            "connectors.change_target",
            "connectors.view_targetbinding",
            "connectors.add_targetbinding",
            "connectors.change_targetbinding",
            "connectors.delete_targetbinding",
            "connectors.view_provisioning",
            "connectors.view_driftfinding",
        ],
        "Auditors": [
            "connectors.view_target",
            "connectors.view_targetbinding",
            "connectors.view_provisioning",
            "connectors.view_driftfinding",
        ],
    }

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from . import receivers, registry
        from .models import Target, TargetBinding

        # Field-level history of what people edit in the admin (the rows services write are
        # in the hash-chained audit trail).
        auditlog.register(Target)
        auditlog.register(TargetBinding)

        registry.load_builtin()
        receivers.connect()
