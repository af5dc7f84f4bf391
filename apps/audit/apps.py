from django.apps import AppConfig

_TRAIL = ["audit.view_auditevent", "audit.export_auditevent", "audit.verify_auditevent"]


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"
    # Reading, verifying and exporting the trail is for the DPO and auditors only.
    group_permissions = {
        "DPO": _TRAIL,
        "Auditors": _TRAIL,
    }
