"""Offboarding when an account is deactivated (docs/access.md, "Offboarding").

``is_active`` going from True to False on any ``save()`` of a user (the admin's change form,
a shell, the sign-in backend) calls ``services.user_offboard`` once the save has committed:
``pre_save`` reads the stored value, ``post_save`` registers the call with
``transaction.on_commit`` (inside the admin's atomic block it runs after that block commits;
in autocommit at once, after the row is written). A queryset ``update(is_active=False)``
sends no signal and offboards nothing: call ``user_offboard`` after it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

_PENDING_ATTR = "_jitportal_offboard_actor"
_NOBODY = object()


#: The attribute a caller sets on the user it saves to say who deactivated it (the user
#: admin sets it to the signed-in admin); without it the system is the actor.
CHANGED_BY_ATTR = "changed_by"


def _acting_user(instance: Any) -> Any:
    """Who deactivated ``instance``: its ``changed_by`` if a signed-in user set it, else
    None (a shell, a task, the sign-in backend)."""
    actor = getattr(instance, CHANGED_BY_ATTR, None)
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk == instance.pk:
        return None
    return actor


def user_pre_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    instance.__dict__.pop(_PENDING_ATTR, None)  # left by an earlier save that failed
    if raw or instance.pk is None or instance.is_active:
        return
    was_active = (
        sender._default_manager.filter(pk=instance.pk).values_list("is_active", flat=True).first()
    )
    if was_active:
        setattr(instance, _PENDING_ATTR, _acting_user(instance) or _NOBODY)


def user_post_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    actor = instance.__dict__.pop(_PENDING_ATTR, None)
    if raw or actor is None:
        return
    user_id = instance.pk
    acting = None if actor is _NOBODY else actor

    def offboard() -> None:
        from .services import user_offboard

        user_offboard(user_id=user_id, actor=acting, reason="The account was deactivated.")

    transaction.on_commit(offboard)


# --- Grant lifecycle, for apps above access (connectors) -----------------------------------
# Sent inside the service's transaction with plain ids, so a receiver writes its own rows in
# that transaction and queues its work on commit; access imports none of the receivers.

#: A grant became live (activated, break-glass): ``grant_ids: list[int]``.
grant_live = Signal()
#: Grants ended (expired, revoked, given back, holder offboarded): ``grant_ids: list[int]``.
grant_ended = Signal()
#: A live grant's window moved (extended): ``grant_ids: list[int]``.
grant_window_changed = Signal()
#: Pages showing grants ask for extra panels: ``grants: list[Grant]``, ``user`` (who reads
#: the page) and ``audience``: ``"holder"`` (the holder's own pages: their accounts in other
#: systems) or ``"admin"`` (a grant's admin change page: each account's provisioning state,
#: for those allowed to see it); a receiver returns ``{grant_id: [safe HTML, ...]}``.
grant_panels = Signal()

#: The values of ``audience``.
PANELS_HOLDER = "holder"
PANELS_ADMIN = "admin"


def grant_panels_collect(grants: list[Any], user: Any, *, audience: str) -> dict[int, list[str]]:
    """Ask ``grant_panels`` for the panels of ``grants`` as ``user`` reads them:
    ``{grant id: [safe HTML, ...]}``, every receiver's in the order they answered; an answer
    that is not a dict is ignored."""
    from .models import Grant

    found: dict[int, list[str]] = {}
    for _receiver, panels in grant_panels.send(
        sender=Grant, grants=grants, user=user, audience=audience
    ):
        if not isinstance(panels, dict):
            continue
        for grant_id, html in panels.items():
            found.setdefault(grant_id, []).extend(html)
    return found
