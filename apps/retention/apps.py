from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _

_MANAGE = [
    "retention.view_retentionrule",
    "retention.add_retentionrule",
    "retention.change_retentionrule",
    "retention.delete_retentionrule",
    "retention.view_anonymisedfield",
    "retention.add_anonymisedfield",
    "retention.change_anonymisedfield",
    "retention.delete_anonymisedfield",
    "retention.run_purge",
    "retention.confirm_purge",
    "retention.view_legalhold",
    "retention.place_legalhold",
    "retention.lift_legalhold",
    "retention.view_legalholdrecord",
    "retention.view_purgerun",
]
_READ = [
    "retention.view_retentionrule",
    "retention.view_anonymisedfield",
    "retention.view_legalhold",
    "retention.view_legalholdrecord",
    "retention.view_purgerun",
]


class RetentionConfig(AppConfig):
    name = "apps.retention"
    label = "retention"
    verbose_name = _("Retention and purges")
    # The DPO keeps rules and holds and runs purges; auditors read rules, holds and runs.
    group_permissions = {"DPO": _MANAGE, "Auditors": _READ}

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="retention-sqlite")
        _register_auditlog()
        # Registers the app's tasks with Celery in every process (web, beat, worker):
        # services queue them by name and import no tasks module.
        from . import tasks  # noqa: F401


def _register_auditlog() -> None:
    """Field-level history of what the DPO edits in the admin: rules (with their anonymised
    fields) and legal holds. Purge runs and hold records are written by services in bulk; their
    record is the hash-chained audit trail (docs/audit.md)."""
    from auditlog.registry import auditlog

    from .models import AnonymisedField, LegalHold, RetentionRule

    for model in (RetentionRule, AnonymisedField, LegalHold):
        if not auditlog.contains(model):
            auditlog.register(model, exclude_fields=["updated_at"])


def _register_sqlite_functions(sender, connection, **kwargs) -> None:
    # The hash strategy's SQL function on SQLite (PostgreSQL computes it natively).
    if connection.vendor == "sqlite":
        from .anonymise import SQLITE_HMAC_FUNCTION, sqlite_hmac

        connection.connection.create_function(
            SQLITE_HMAC_FUNCTION, 2, sqlite_hmac, deterministic=True
        )
