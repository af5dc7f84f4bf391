"""What the access admin's pages and columns share: a window as people read it, the pages a
revoke form may return to, the columns of a request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from jitportal.formats import datetime_display

from .. import selectors
from ..models import AccessRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def window_text(starts_at, ends_at) -> str:
    """ "5 Mar 2027, 09:00 CET → 13:00 CET"; the end's date only when it is another day."""
    same_day = timezone.localdate(starts_at) == timezone.localdate(ends_at)
    end = date_format(timezone.localtime(ends_at), "TIME_FORMAT") if same_day else None
    return f"{datetime_display(starts_at)} → {end or datetime_display(ends_at)}"


#: How a right (``selectors.ACTIONS``) reads in a list of rights.
RIGHT_LABELS = {
    "view": pgettext_lazy("a right on data", "view"),
    "change": pgettext_lazy("a right on data", "change"),
    "export": pgettext_lazy("a right on data", "export"),
}


def rights_text(obj: Any) -> str:
    """The rights a role or grant gives (its ``can_<action>`` flags), e.g. "view, export"."""
    return ", ".join(
        str(RIGHT_LABELS.get(a, a)) for a in selectors.ACTIONS if getattr(obj, f"can_{a}")
    )


# Pages a grant's revoke form returns to, by name: the form never redirects to a URL it is
# given, only to one of these with a query string parsed and encoded again.
RETURNS = {"grants": "admin:access_grant_changelist", "holders": "admin:access_grant_holders"}


def return_query(where: str, query: str) -> str:
    """The query string a revoke link carries so the form returns to ``where`` (a key of
    ``RETURNS``) with the filters the list had."""
    return urlencode({"return_to": where, "return_query": query})


def acting_user(request: HttpRequest) -> User:
    # The custom views are wrapped in admin_site.admin_view: signed-in staff only.
    return cast("User", request.user)


def still_needs_message(obj: AccessRequest) -> str:
    """After an approval that did not complete a request: what it still needs, and whose
    earlier approvals stopped counting (one source: ``selectors.approvals_still_needed``)."""
    text = gettext("Your approval of #%(id)s is recorded; it still needs %(needed)s.") % {
        "id": obj.pk,
        "needed": selectors.approvals_still_needed(obj),
    }
    stale = [a.approver.get_username() for a in selectors.approvals_no_longer_counting(obj)]
    if stale:
        text += " " + ngettext(
            "The approval of %(names)s no longer counts: they may no longer decide it.",
            "The approvals of %(names)s no longer count: they may no longer decide it.",
            len(stale),
        ) % {"names": ", ".join(stale)}
    return text


class RequestDisplayMixin:
    """Columns shared by the request changelist and the approval queue."""

    @admin.display(description=_("requester"), ordering="requester__username")
    def requester_name(self, obj: AccessRequest) -> str:
        user = obj.requester
        full = user.get_full_name()
        return f"{full} ({user.username})" if full else user.username

    @admin.display(description=_("asset / role"))
    def target(self, obj: AccessRequest) -> str:
        if obj.role is not None:
            label = gettext("Role: %(role)s") % {"role": obj.role.name}
        else:
            label = str(obj.asset)
        if obj.extends_grant_id:
            label += " " + gettext("(extends grant #%(id)s)") % {"id": obj.extends_grant_id}
        if obj.is_break_glass:
            label += " " + gettext("(break-glass)")
        return label

    @admin.display(description=_("sensitivity"), ordering="sensitivity_rank")
    def sensitivity(self, obj: AccessRequest) -> str:
        return selectors.sensitivity_label(getattr(obj, "sensitivity_rank", None))

    @admin.display(description=_("special"), boolean=True)
    def special(self, obj: AccessRequest) -> bool:
        return bool(getattr(obj, "holds_special", False))

    @admin.display(description=_("window"), ordering="starts_at")
    def window(self, obj: AccessRequest) -> str:
        return window_text(obj.starts_at, obj.ends_at)

    @admin.display(description=_("approvals still needed"))
    def still_needed(self, obj: AccessRequest) -> str:
        return selectors.approvals_still_needed_label(obj)

    @admin.display(description=_("purpose (lawful basis)"), ordering="processing_activity__name")
    def purpose(self, obj: AccessRequest) -> str:
        """The processing activity the requester chose, with its Art. 6(1) lawful basis and,
        for Art. 9/10 data, its Art. 9(2) condition: what an approver needs to judge whether
        the access serves a purpose the organisation may process the data for."""
        activity = obj.processing_activity
        if activity is None:
            return format_html('<span class="jp-purpose-none">{}</span>', gettext("None given"))
        basis = activity.get_lawful_basis_display() or gettext("no lawful basis recorded")
        condition = ""
        if getattr(obj, "holds_special", False):
            condition = format_html(
                '<br><small class="jp-purpose-basis">{}</small>',
                gettext("Art. 9(2): %(condition)s")
                % {
                    "condition": activity.get_art9_condition_display()
                    or gettext("no condition recorded")
                },
            )
        return format_html(
            '<span class="jp-purpose">{}</span><br><small class="jp-purpose-basis">{}</small>{}',
            activity.name,
            gettext("Lawful basis: %(basis)s") % {"basis": basis},
            condition,
        )
