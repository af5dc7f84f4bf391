from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_TRAIL = ["audit.view_auditevent", "audit.export_auditevent", "audit.verify_auditevent"]


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = _("Audit trail")
    # Reading, verifying and exporting the trail is for the DPO and auditors only.
    group_permissions = {
        "DPO": _TRAIL,
        "Auditors": _TRAIL,
    }

    def ready(self) -> None:
        from apps.integrations.scopes import scope_register

        from . import receivers  # noqa: F401  (connects the security-event receivers)

        # The SIEM feed's token scope: its owner must be allowed to export the trail.
        scope_register(
            name="audit",
            description=_("read the audit trail (the SIEM feed)"),
            permissions=("audit.export_auditevent",),
        )
