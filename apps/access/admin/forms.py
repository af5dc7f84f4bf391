"""The access admin's forms (the portal's forms live in ``apps/access/forms.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset
from jitportal.durations import duration_text
from jitportal.inputs import (
    SEARCH_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    AsciiIntegerField,
    IdChoiceField,
    validate_date_range,
    validate_multiline_text,
    validate_single_line_text,
)

from ..forms import WindowDateTimeField
from ..models import AccessRequest, AccessRole


class ApproveForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Comment (optional)"),
        validators=[validate_multiline_text],
    )
    ends_at = WindowDateTimeField(
        required=False,
        label=_("Shorten the window to end at (optional)"),
        help_text=_(
            "Leave empty to approve the window asked for. Only an earlier end is accepted."
        ),
        validators=[validate_date_range],
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give a reason; it is recorded and shown to the person.")},
        validators=[validate_multiline_text],
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Comment (optional)"),
        validators=[validate_multiline_text],
    )


class BreakGlassForm(forms.Form):
    asset = forms.ModelChoiceField(
        queryset=DataAsset.objects.current().select_related("system"),
        label=_("Asset"),
        error_messages={
            "required": _("Choose the data asset."),
            "invalid_choice": _("Unknown asset."),
        },
    )
    minutes = AsciiIntegerField(
        min_value=1,
        label=_("Duration (minutes)"),
        error_messages={"required": _("Give a duration in minutes.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the emergency is. The DPO group is emailed at once."),
        error_messages={"required": _("Say what the emergency is; break-glass needs a reason.")},
        validators=[validate_multiline_text],
    )
    can_change = forms.BooleanField(required=False, label=_("Also change the data"))
    can_export = forms.BooleanField(required=False, label=_("Also export the data"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.JITPORTAL["BREAK_GLASS_MAX"]
        max_minutes = int(limit.total_seconds() // 60)
        self.fields["minutes"].widget.attrs["max"] = max_minutes
        self.fields["minutes"].validators.append(
            MaxValueValidator(
                max_minutes,
                message=gettext("Break-glass access lasts at most %(limit)s.")
                % {"limit": duration_text(limit)},
            )
        )
        self.fields["minutes"].help_text = gettext("At most %(limit)s.") % {
            "limit": duration_text(limit)
        }
        self.fields["minutes"].initial = min(60, max_minutes)


class HoldersForm(forms.Form):
    asset = IdChoiceField(
        queryset=DataAsset.objects.select_related("system"), required=False, label=_("Asset")
    )
    user = IdChoiceField(
        label=_("User"),
        queryset=get_user_model()
        .objects.filter(grants__isnull=False)
        .distinct()
        .order_by("username"),
        required=False,
    )


class QueueFilterForm(forms.Form):
    """Search and filters of the approver's queue (``GET`` parameters).

    The asset, role and requester choices are discovered from the approver's own queue, one
    query each whatever its size, and a value is accepted only when it is one of them, as a
    string: NUL bytes, ids out of any integer range, non-ASCII digits (``²``, ``١``) or an id
    outside the queue are a form error, never a database error. ``q`` is searched word by word
    (each word in the requester, the target, the justification or the ticket)."""

    AGES = {
        "hour": (_("Less than 1 hour"), timedelta(hours=1)),
        "day": (_("Less than 1 day"), timedelta(days=1)),
        "week": (_("Less than 1 week"), timedelta(weeks=1)),
        "older": (_("1 week or older"), timedelta(weeks=1)),
    }
    SEARCH_FIELDS = (
        "requester__username",
        "requester__first_name",
        "requester__last_name",
        "requester__email",
        "role__name",
        "asset__name",
        "asset__system__name",
        "justification",
        "ticket",
    )

    q = forms.CharField(
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        label=_("Search"),
        help_text=_("Requester, asset or role, justification, ticket."),
        validators=[validate_single_line_text],
    )
    asset = forms.ChoiceField(required=False, label=_("Asset"))
    role = forms.ChoiceField(required=False, label=_("Role"))
    requester = forms.ChoiceField(required=False, label=_("Requester"))
    special = forms.ChoiceField(
        required=False,
        label=_("Special-category data"),
        choices=[
            ("", _("Any")),
            ("yes", _("Art. 9/10 data")),
            ("no", _("No Art. 9/10 data")),
        ],
    )
    age = forms.ChoiceField(
        required=False,
        label=_("Waiting"),
        choices=[("", _("Any time")), *((k, label) for k, (label, _delta) in AGES.items())],
    )

    def __init__(self, data: Any, *, queue: QuerySet[AccessRequest]) -> None:
        super().__init__(data)
        # One pass over the queue for the (requester, role, asset) it holds and how many
        # requests each, then one query by primary keys for each kind of choice. The pass
        # also counts the whole queue (``total``), so an unfiltered page needs no COUNT.
        groups = (
            queue.order_by()
            .values_list("requester_id", "role_id", "asset_id")
            .annotate(n=Count("pk"))
        )
        seen: set[tuple[int, int | None, int | None]] = set()
        self.total = 0
        for requester_id, role_id, asset_id, n in groups:
            seen.add((requester_id, role_id, asset_id))
            self.total += n
        role_ids = {role for _, role, _ in seen if role is not None}
        asset_ids = {asset for _, _, asset in seen if asset is not None}
        roles = AccessRole.objects.filter(pk__in=role_ids).order_by("name")
        in_roles = AccessRole.assets.through.objects.filter(accessrole_id__in=role_ids).values(
            "dataasset_id"
        )
        assets = (
            DataAsset.objects.filter(Q(pk__in=asset_ids) | Q(pk__in=in_roles))
            .select_related("system")
            .order_by("system__name", "name")
        )
        requesters = (
            get_user_model()
            .objects.filter(pk__in={user for user, _, _ in seen})
            .order_by("username")
        )
        fields = cast(dict[str, forms.ChoiceField], self.fields)
        fields["asset"].choices = [
            ("", gettext("Any asset")),
            *((str(a.pk), str(a)) for a in assets),
        ]
        fields["role"].choices = [
            ("", gettext("Any role")),
            *((str(r.pk), r.name) for r in roles),
        ]
        fields["requester"].choices = [
            ("", gettext("Anyone")),
            *(
                (
                    str(u.pk),
                    f"{u.get_full_name()} ({u.get_username()})".lstrip(" ")
                    if u.get_full_name()
                    else u.get_username(),
                )
                for u in requesters
            ),
        ]

    def is_filtered(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())

    def apply(self, queue: QuerySet[AccessRequest]) -> QuerySet[AccessRequest]:
        """``queue`` narrowed by the valid form's search and filters."""
        data = self.cleaned_data
        for word in data["q"].split():
            any_field = Q()
            for name in self.SEARCH_FIELDS:
                any_field |= Q(**{f"{name}__icontains": word})
            queue = queue.filter(any_field)
        if data["asset"]:
            in_role = AccessRole.assets.through.objects.filter(dataasset_id=int(data["asset"]))
            queue = queue.filter(
                Q(asset_id=int(data["asset"])) | Q(role_id__in=in_role.values("accessrole_id"))
            )
        if data["role"]:
            queue = queue.filter(role_id=int(data["role"]))
        if data["requester"]:
            queue = queue.filter(requester_id=int(data["requester"]))
        if data["special"]:
            in_special_role = AccessRole.assets.through.objects.filter(
                accessrole_id=OuterRef("role_id"), dataasset__is_special=True
            )
            special = Q(asset__is_special=True) | Q(Exists(in_special_role))
            queue = queue.filter(special) if data["special"] == "yes" else queue.exclude(special)
        if data["age"]:
            since = timezone.now() - self.AGES[data["age"]][1]
            if data["age"] == "older":
                queue = queue.filter(created_at__lte=since)
            else:
                queue = queue.filter(created_at__gt=since)
        return queue
