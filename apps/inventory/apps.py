from django.apps import AppConfig
from django.db.models.signals import post_migrate


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
    verbose_name = "Data inventory"
    # The DPO keeps the register; approvers and auditors read it; staff see no admin at all.
    group_permissions = {
        "DPO": [*_crud("inventory", *_MODELS), "auditlog.view_logentry"],
        "Approvers": _crud("inventory", *_MODELS, actions=("view",)),
        "Auditors": [*_crud("inventory", *_MODELS, actions=("view",)), "auditlog.view_logentry"],
    }

    def ready(self) -> None:
        from . import signals  # noqa: F401

        post_migrate.connect(_sync_groups, sender=self)


def _sync_groups(sender, **kwargs) -> None:
    from .roles import groups_sync

    groups_sync()
