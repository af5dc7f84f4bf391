from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _crud(app: str, *models: str, actions=("view", "add", "change", "delete")) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in actions]


_MODELS = (
    "organisation",
    "datacategory",
    "datasubjectcategory",
    "system",
    "dataasset",
    "recipient",
    "processingactivity",
    "transfer",
)


class InventoryConfig(AppConfig):
    name = "apps.inventory"
    label = "inventory"
    verbose_name = _("Data inventory")
    # The DPO keeps the register; approvers and auditors read it; staff see no admin at all.
    group_permissions = {
        # Viewing users and groups lets the DPO pick owners and steward groups (autocomplete).
        "DPO": [
            *_crud("inventory", *_MODELS),
            "auditlog.view_logentry",
            "auth.view_user",
            "auth.view_group",
        ],
        "Approvers": _crud("inventory", *_MODELS, actions=("view",)),
        "Auditors": [*_crud("inventory", *_MODELS, actions=("view",)), "auditlog.view_logentry"],
    }

    def ready(self) -> None:
        from . import signals  # noqa: F401

        _register_auditlog()
        post_migrate.connect(_sync_groups, sender=self)


# Many-to-many fields whose changes the field-level audit log records, per model.
_AUDITED_M2M = {
    "DataAsset": ("categories", "subjects"),
    "ProcessingActivity": ("data_subjects", "data_categories", "assets", "recipients"),
}


def _register_auditlog() -> None:
    """Every change to the register is in django-auditlog's trail, with the acting user."""
    from auditlog.registry import auditlog

    from . import models

    for name in (
        "Organisation",
        "DataCategory",
        "DataSubjectCategory",
        "System",
        "DataAsset",
        "Recipient",
        "ProcessingActivity",
        "Transfer",
    ):
        model = getattr(models, name)
        if auditlog.contains(model):
            continue
        # Own columns only (no reverse relations); updated_at changes on every save and
        # is_special is derived from the categories.
        columns = [
            f.name
            for f in model._meta.concrete_fields
            if f.name not in {"id", "updated_at", "is_special"}
        ]
        auditlog.register(
            model,
            include_fields=columns,
            m2m_fields=set(_AUDITED_M2M.get(name, ())),
        )


def _sync_groups(sender, **kwargs) -> None:
    from .roles import groups_sync

    groups_sync()
