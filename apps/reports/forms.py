from __future__ import annotations

from datetime import date, datetime, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.inventory.models import DataAsset, ProcessingActivity
from jitportal.inputs import validate_date_range, validate_single_line_text
from jitportal.timekeeping import day_bounds

from .models import RopaSnapshot

MAX_PERIOD_DAYS = 3660


class PeriodForm(forms.Form):
    """A period of whole days: from the first day's start to the end of the last."""

    start = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        required=False,
        validators=[validate_date_range],
    )
    end = forms.DateField(
        label=_("To (inclusive)"),
        widget=forms.DateInput(attrs={"type": "date"}),
        required=False,
        validators=[validate_date_range],
    )
    default_days = 30

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=self.default_days - 1)
        if start > end:
            raise forms.ValidationError(_("The period ends before it starts."))
        if (end - start).days > MAX_PERIOD_DAYS:
            raise forms.ValidationError(_("Choose a period of at most ten years."))
        data["start"], data["end"] = start, end
        return data

    def bounds(self) -> tuple[datetime, datetime]:
        start: date = self.cleaned_data["start"]
        end: date = self.cleaned_data["end"]
        # Whole local days (23 or 25 hours on the nights the clocks change).
        return day_bounds(start, end)


class AssetRegisterForm(PeriodForm):
    asset = forms.ModelChoiceField(
        queryset=DataAsset.objects.select_related("system").order_by("system__name", "name"),
        label=_("Data asset"),
        empty_label=_("Choose a data asset"),
    )
    field_order = ["asset", "start", "end"]


class UserRegisterForm(PeriodForm):
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"),
        label=_("Person"),
        empty_label=_("Choose a person"),
    )
    field_order = ["user", "start", "end"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.get_username()} ({u.get_full_name()})" if u.get_full_name() else u.get_username()
        )


class ApprovalStatsForm(PeriodForm):
    default_days = 90


class DataMapForm(forms.Form):
    activity = forms.ModelChoiceField(
        queryset=ProcessingActivity.objects.filter(is_active=True).order_by("name"),
        required=False,
        label=_("Processing activity"),
        empty_label=_("All processing activities"),
    )
    special_only = forms.BooleanField(required=False, label=_("Special-category flows only"))


class SnapshotTakeForm(forms.Form):
    record = forms.ChoiceField(
        label=_("Record"),
        choices=[
            ("controller", _("Controller record (Art. 30(1))")),
            ("processor", _("Processor record (Art. 30(2))")),
        ],
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=255,
        required=False,
        help_text=_("Why, and for whom."),
        validators=[validate_single_line_text],
    )


class SnapshotCompareForm(forms.Form):
    before = forms.ModelChoiceField(
        label=_("Before"), queryset=RopaSnapshot.objects.defer("content")
    )
    after = forms.ModelChoiceField(label=_("After"), queryset=RopaSnapshot.objects.defer("content"))

    def clean(self):
        data = super().clean()
        before, after = data.get("before"), data.get("after")
        if before and after:
            if before.pk == after.pk:
                raise forms.ValidationError(_("Choose two different snapshots."))
            if before.record != after.record:
                raise forms.ValidationError(
                    _(
                        "Compare a controller record with a controller record, or a processor "
                        "record with a processor record."
                    )
                )
        return data
