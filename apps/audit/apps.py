from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"
    group_permissions = {
        "DPO": ["audit.view_auditevent"],
        "Auditors": ["audit.view_auditevent"],
    }
