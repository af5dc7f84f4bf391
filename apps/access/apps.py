from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_VIEW = [
    "access.view_accessrole",
    "access.view_accessrequest",
    "access.view_approval",
    "access.view_grant",
    "access.view_notice",
]


class AccessConfig(AppConfig):
    name = "apps.access"
    label = "access"
    verbose_name = _("Just-in-time access")
    # Requests and grants change only through services (admin buttons and actions), so no
    # group gets add/change/delete on them; the custom permissions gate the decisions.
    group_permissions = {
        "DPO": [
            *_VIEW,
            "access.add_accessrole",
            "access.change_accessrole",
            "access.delete_accessrole",
            "access.decide_accessrequest",
            "access.revoke_grant",
            "access.break_glass",
            "access.review_grant",
            "access.resend_notice",
        ],
        "Approvers": [*_VIEW, "access.decide_accessrequest", "access.revoke_grant"],
        "Auditors": list(_VIEW),
    }

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_save

        from .models import AccessRole
        from .signals import user_post_save, user_pre_save

        # Deactivating an account offboards it (signals.py, services/offboarding.py).
        user_model = get_user_model()
        pre_save.connect(user_pre_save, sender=user_model, dispatch_uid="access.offboard.pre")
        post_save.connect(user_post_save, sender=user_model, dispatch_uid="access.offboard.post")

        # Field-level history of what people edit in the admin (roles). Requests, approvals
        # and grants are written by services and bulk reconcile paths: their record is the
        # hash-chained audit trail (apps.audit), not django-auditlog (docs/audit.md).
        auditlog.register(
            AccessRole,
            m2m_fields={
                "assets",
                "requestable_by_groups",
                "requestable_by_users",
                "approver_groups",
            },
        )
