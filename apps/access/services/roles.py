"""What the access services record about roles (the DPO edits them in the admin)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from apps.audit.models import AuditEvent
from apps.audit.services import audit_event_record

from ..models import AccessRole

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def access_role_record_change(
    *, role: AccessRole, actor: User | None, created: bool, actor_label: str = ""
) -> AuditEvent:
    """Record the settings of ``role`` as they are now (after an admin create or change)."""
    data: dict[str, Any] = {"created": created}
    for f in AccessRole._meta.concrete_fields:
        if f.name in {"id", "created_at", "updated_at"}:
            continue
        value = getattr(role, f.attname)
        data[f.name] = int(value.total_seconds()) if isinstance(value, timedelta) else value
    data["assets"] = sorted(str(a) for a in role.assets.select_related("system"))
    data["asset_ids"] = sorted(role.assets.values_list("pk", flat=True))
    data["requestable_by_groups"] = sorted(
        role.requestable_by_groups.values_list("name", flat=True)
    )
    data["requestable_by_users"] = sorted(
        role.requestable_by_users.values_list("username", flat=True)
    )
    data["approver_groups"] = sorted(role.approver_groups.values_list("name", flat=True))
    data["dpo_required_effective"] = (
        role.require_dpo or role.assets.filter(is_special=True).exists()
    )
    return audit_event_record(
        action="access.role.changed",
        actor=actor,
        actor_label=actor_label,
        target=role,
        reason="created" if created else "changed",
        data=data,
    )


def access_role_record_deleted(*, role: AccessRole, actor: User | None) -> AuditEvent:
    """Record that ``role`` is being deleted (it had no requests: they protect it)."""
    return audit_event_record(
        action="access.role.deleted",
        actor=actor,
        target=role,
        reason="deleted",
        data={"name": role.name, "asset_ids": sorted(role.assets.values_list("pk", flat=True))},
    )
