from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from jitportal.inputs import BIGINT_MAX, AsciiIntegerField, validate_date_range
from jitportal.timekeeping import day_start

from .exports import FORMATS


class AuditExportForm(forms.Form):
    """Period and format of an audit-trail download."""

    since = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=_("Since"),
        help_text=_("First day included (server time zone). Empty: from the oldest event."),
        validators=[validate_date_range],
    )
    until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=_("Until"),
        help_text=_("Last day included. Empty: up to now."),
        validators=[validate_date_range],
    )
    after_id = AsciiIntegerField(
        required=False,
        min_value=0,
        max_value=BIGINT_MAX,
        label=_("After event id"),
        help_text=_("Only newer events."),
    )
    format = forms.ChoiceField(
        label=_("Format"), choices=[(f, f.upper()) for f in FORMATS], initial="jsonl"
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError(_("The last day is before the first day."))
        return data

    def since_at(self) -> datetime | None:
        day = self.cleaned_data.get("since")
        return day_start(day) if day else None

    def until_at(self) -> datetime | None:
        day = self.cleaned_data.get("until")
        if not day:
            return None
        return day_start(day + timedelta(days=1))
