"""Portal forms for staff: ask for access, ask for more time.

The forms read and shape the input (which target, which window); the policy itself (maximum
duration, future starts, approvals, ticket pattern) is decided by the services, whose
ValidationError messages are put back on the fields here (``add_service_error``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset, ProcessingActivity
from jitportal.forms import WindowDateTimeField
from jitportal.inputs import (
    TEXT_MAX_LENGTH,
    AsciiDecimalField,
    IdChoiceField,
    parse_id,
    validate_multiline_text,
    validate_single_line_text,
)
from jitportal.timekeeping import elapsed_add

from . import selectors
from .models import AccessRole, Grant

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Starting "later" a minute ago is a slow form, not the past.
PAST_GRACE = timedelta(minutes=1)
MAX_HOURS = Decimal("9999.75")


def target_value(*, role: AccessRole | None = None, asset: DataAsset | None = None) -> str:
    """The choice value of a role or an asset in the target field."""
    if role is not None:
        return f"role-{role.pk}"
    if asset is not None:
        return f"asset-{asset.pk}"
    return ""


def hours_of(duration: timedelta) -> Decimal:
    return (Decimal(duration.total_seconds()) / Decimal(3600)).quantize(Decimal("0.01")).normalize()


class ServiceErrorsMixin:
    """Puts a service's ValidationError on the form fields the user can correct.

    An error goes under the field whose value the service judged, and nowhere else: the map is
    read once, before any error is added (``add_error`` drops a field's cleaned value, and a
    map read after that would move the next error to another field, where it stays however
    often that other field is corrected)."""

    # service field name -> form field name (None: the whole form)
    service_field_map: dict[str, str | None] = {}

    def add_service_error(self, error: ValidationError) -> None:
        mapping = dict(self.service_field_map)
        fields = self.fields  # type: ignore[attr-defined]

        def form_field_for(name: str) -> str | None:
            return mapping.get(name, name if name in fields else None)

        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                field = None if name == "__all__" else form_field_for(name)
                if field is not None and field not in self.fields:  # type: ignore[attr-defined]
                    field = None
                for item in errors:
                    self.add_error(field, item)  # type: ignore[attr-defined]
        else:
            self.add_error(None, error)  # type: ignore[attr-defined]


TICKET_HELP = _("The ticket or case this access is for.")


def ticket_help_text(policy: selectors.Policy | None) -> str:
    """The ticket field's help text under ``policy``: its ticket hint, else a general line."""
    hint = policy.ticket_hint_text if policy is not None else ""
    return gettext("Expected: %(hint)s") % {"hint": hint} if hint else str(TICKET_HELP)


class PolicyMarksMixin:
    """Marks on a form what the chosen target's policy asks of it, so that a person sees it
    before sending, with or without JavaScript: justification and ticket are required (a star,
    ``required`` and ``aria-required``) when the policy requires them, and the ticket's help
    text says what a reference looks like (the roles' ticket hints, never their pattern).
    The services enforce the policy; these marks only show it."""

    def mark_policy(self, policy: selectors.Policy | None) -> None:
        fields = self.fields  # type: ignore[attr-defined]
        for name, required in (
            ("justification", bool(policy and policy.require_justification)),
            ("ticket", bool(policy and policy.require_ticket)),
        ):
            fields[name].required = required
            if required:
                fields[name].widget.attrs["aria-required"] = "true"
            else:
                fields[name].widget.attrs.pop("aria-required", None)
        fields["ticket"].help_text = ticket_help_text(policy)


def _window_end(start: datetime, hours: Decimal) -> datetime:
    try:
        # Elapsed hours (UTC): 8 hours stay 8 hours on the night the clocks change.
        return elapsed_add(start, timedelta(seconds=int(hours * 3600)))
    except OverflowError as exc:
        raise ValidationError(gettext("That is further ahead than any calendar goes.")) from exc


class AccessRequestForm(PolicyMarksMixin, ServiceErrorsMixin, forms.Form):
    target = forms.ChoiceField(
        label=_("What do you need access to?"),
        help_text=_("A role bundles access to several data assets; or ask for one asset."),
    )
    start = forms.ChoiceField(
        label=_("Start"),
        choices=[("now", _("Now, once approved")), ("later", _("Later, at a time I choose"))],
        initial="now",
        widget=forms.RadioSelect,
    )
    starts_at = WindowDateTimeField(
        label=_("Start at"),
        required=False,
    )
    duration = AsciiDecimalField(
        label=_("Duration (hours)"),
        required=False,
        min_value=Decimal("0.25"),
        max_value=MAX_HOURS,
        max_digits=6,
        decimal_places=2,
        help_text=_("For example 0.5 for half an hour, 4 for a morning."),
        widget=forms.NumberInput(attrs={"step": "0.25", "min": "0.25"}),
    )
    ends_at = WindowDateTimeField(
        label=_("Or until"),
        required=False,
        help_text=_("Instead of a duration: the time access should end."),
    )
    processing_activity = IdChoiceField(
        label=_("Purpose (processing activity)"),
        queryset=ProcessingActivity.objects.none(),
        required=False,
        empty_label=_("— choose the processing activity this serves —"),
        help_text=_("The entry of the record of processing activities this access serves."),
    )
    justification = forms.CharField(
        label=_("Justification"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you will do with the data, and why now."),
        validators=[validate_multiline_text],
    )
    ticket = forms.CharField(
        label=_("Ticket"),
        required=False,
        max_length=100,
        help_text=TICKET_HELP,
        validators=[validate_single_line_text],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.roles = {role.pk: role for role in selectors.requestable_roles_for(user)}
        self.assets = {
            asset.pk: asset
            for asset in selectors.requestable_assets_for(user).select_related("system")
        }
        cast(forms.ChoiceField, self.fields["target"]).choices = [
            ("", gettext("— choose a role or a data asset —")),
            (gettext("Roles"), [(target_value(role=r), r.name) for r in self.roles.values()]),
            (
                gettext("Data assets"),
                [(target_value(asset=a), str(a)) for a in self.assets.values()],
            ),
        ]
        activities = ProcessingActivity.objects.filter(is_active=True)
        cast(forms.ModelChoiceField, self.fields["processing_activity"]).queryset = activities
        # The purpose is asked for whenever the register has one to choose.
        self.fields["processing_activity"].required = activities.exists()

    @property
    def end_field(self) -> str:
        """The field the window's end comes from: "Or until" when given, else the duration.

        Read from what was sent, not from ``cleaned_data`` (which loses a field once an error
        is put on it)."""
        return "ends_at" if str(self.data.get("ends_at", "")).strip() else "duration"

    @property
    def service_field_map(self) -> dict[str, str | None]:  # type: ignore[override]
        return {
            "role": "target",
            "asset": "target",
            "starts_at": "starts_at" if self.data.get("start") == "later" else "start",
            "ends_at": self.end_field,
            "duration": self.end_field,
        }

    def resolve_target(self, value: str) -> AccessRole | DataAsset | None:
        """The role or asset a choice value names, if the user may ask for it."""
        kind, _, raw_id = (value or "").partition("-")
        target_id = parse_id(raw_id)
        if target_id is None:
            return None
        pools: dict[str, dict[int, Any]] = {"role": self.roles, "asset": self.assets}
        pool = pools.get(kind, {})
        return pool.get(target_id)

    def clean_target(self) -> AccessRole | DataAsset:
        target = self.resolve_target(self.cleaned_data["target"])
        if target is None:
            raise ValidationError(gettext("Choose a role or a data asset from the list."))
        return target

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        now = timezone.now()
        start = data.get("start")
        starts_at = data.get("starts_at")
        if start == "later":
            if starts_at is None:
                if "starts_at" not in self.errors:
                    self.add_error("starts_at", gettext("Give the time access should start."))
                return data
            if starts_at < now - PAST_GRACE:
                self.add_error(
                    "starts_at", gettext("The start is in the past; choose a later time.")
                )
                return data
        elif start == "now":
            starts_at = now
        else:
            return data
        ends_at = data.get("ends_at")
        duration = data.get("duration")
        if self.end_field == "ends_at" and ends_at is None:
            return data  # "Or until" was given and refused: the duration is not used instead
        if ends_at is not None:
            if ends_at <= starts_at:
                self.add_error("ends_at", gettext("The end must be after the start."))
                return data
        elif duration is not None:
            try:
                ends_at = _window_end(starts_at, duration)
            except ValidationError as exc:
                self.add_error("duration", exc)
                return data
        else:
            if "duration" not in self.errors and "ends_at" not in self.errors:
                self.add_error(
                    "duration", gettext("Give a duration, or the time access should end.")
                )
            return data
        data["window"] = (starts_at, ends_at)
        return data

    def submit_kwargs(self) -> dict[str, Any]:
        """Arguments for services.access_request_submit from the cleaned data."""
        data = self.cleaned_data
        target = data["target"]
        starts_at, ends_at = data["window"]
        return {
            "role": target if isinstance(target, AccessRole) else None,
            "asset": target if isinstance(target, DataAsset) else None,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "justification": data.get("justification", "").strip(),
            "ticket": data.get("ticket", "").strip(),
            "processing_activity": data.get("processing_activity"),
        }


class GrantExtendForm(PolicyMarksMixin, ServiceErrorsMixin, forms.Form):
    extend_by = AsciiDecimalField(
        label=_("Extend by (hours)"),
        required=False,
        min_value=Decimal("0.25"),
        max_value=MAX_HOURS,
        max_digits=6,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.25", "min": "0.25"}),
    )
    ends_at = WindowDateTimeField(
        label=_("Or until"),
        required=False,
        help_text=_("Instead of a number of hours: the new end."),
    )
    justification = forms.CharField(
        label=_("Justification"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why the work needs more time."),
        validators=[validate_multiline_text],
    )
    ticket = forms.CharField(
        label=_("Ticket"),
        required=False,
        max_length=100,
        help_text=TICKET_HELP,
        validators=[validate_single_line_text],
    )

    def __init__(self, *args: Any, grant: Grant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grant = grant

    @property
    def end_field(self) -> str:
        """The field the new end comes from: "Or until" when given, else the hours (read from
        what was sent, as ``AccessRequestForm.end_field``)."""
        return "ends_at" if str(self.data.get("ends_at", "")).strip() else "extend_by"

    @property
    def service_field_map(self) -> dict[str, str | None]:  # type: ignore[override]
        field = self.end_field
        return {"ends_at": field, "duration": field, "starts_at": None, "grant_id": None}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        ends_at = data.get("ends_at")
        extend_by = data.get("extend_by")
        if self.end_field == "ends_at" and ends_at is None:
            return data  # "Or until" was given and refused: the hours are not used instead
        if ends_at is not None:
            if ends_at <= self.grant.ends_at:
                self.add_error(
                    "ends_at", gettext("The new end must be after the grant's current end.")
                )
                return data
        elif extend_by is not None:
            try:
                ends_at = _window_end(self.grant.ends_at, extend_by)
            except ValidationError as exc:
                self.add_error("extend_by", exc)
                return data
        else:
            if "extend_by" not in self.errors and "ends_at" not in self.errors:
                self.add_error("extend_by", gettext("Give a number of hours, or the new end."))
            return data
        data["new_ends_at"] = ends_at
        return data
