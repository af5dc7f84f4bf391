"""Admin index helper: how many access requests wait for the signed-in approver."""

from __future__ import annotations

from django import template

from apps.access.selectors import approval_queue_for, can_decide

register = template.Library()


@register.simple_tag(takes_context=True)
def access_queue_count(context) -> int | None:
    """None when the user decides nothing (the box is then not shown)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not can_decide(user):
        return None
    return approval_queue_for(user).count()
