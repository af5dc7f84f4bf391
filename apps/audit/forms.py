from __future__ import annotations

from datetime import datetime, timedelta

from django import forms

from jitportal.timekeeping import day_start

from .exports import FORMATS


class AuditExportForm(forms.Form):
    """Period and format of an audit-trail download."""

    since = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="First day included (server time zone). Empty: from the oldest event.",
    )
    until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Last day included. Empty: up to now.",
    )
    after_id = forms.IntegerField(
        required=False, min_value=0, label="After event id", help_text="Only newer events."
    )
    format = forms.ChoiceField(choices=[(f, f.upper()) for f in FORMATS], initial="jsonl")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError("The last day is before the first day.")
        return data

    def since_at(self) -> datetime | None:
        day = self.cleaned_data.get("since")
        return day_start(day) if day else None

    def until_at(self) -> datetime | None:
        day = self.cleaned_data.get("until")
        if not day:
            return None
        return day_start(day + timedelta(days=1))
