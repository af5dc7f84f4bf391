"""The inventory admin's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from jitportal.inputs import bounded_text

from ..models import ProcessingActivity, Transfer
from ..validation import ACTIVITY_FIELDS, processing_activity_m2m_errors


def _https_formfield(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    # Links the DPO pastes without a scheme are documents on the web: https.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


@bounded_text
class TransferInlineForm(forms.ModelForm):
    class Meta:
        model = Transfer
        formfield_callback = _https_formfield
        fields = (
            "recipient",
            "country",
            "international_organisation",
            "mechanism",
            "safeguard_link",
            "description",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 40})}


@bounded_text
class ProcessingActivityAdminForm(forms.ModelForm):
    class Meta:
        model = ProcessingActivity
        formfield_callback = _https_formfield
        # Every editable field; the admin's fieldsets lay them out.
        fields = (
            "name",
            "reference",
            "business_function",
            "owner",
            "is_active",
            "role",
            "joint_controller",
            "controller_on_behalf",
            "purposes",
            "lawful_basis",
            "legitimate_interests",
            "lia_link",
            "art9_condition",
            "art10_authority",
            "dpa2018_schedule1_condition",
            "consent_record_link",
            "data_subjects",
            "data_categories",
            "assets",
            "recipients",
            "no_recipients",
            "processor_contract_link",
            "retention_description",
            "retention_policy_link",
            "security_measures",
            "rights_available",
            "automated_decision_making",
            "automated_decision_details",
            "source_of_data",
            "data_location",
            "dpia_required",
            "dpia_status",
            "dpia_link",
            "breach_occurred",
            "breach_record_link",
            "last_reviewed_on",
            "next_review_on",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # The plain-field rules run in ProcessingActivity.clean(); these need the
        # many-to-many values the form is about to save.
        values = {name: cleaned.get(name, getattr(self.instance, name)) for name in ACTIVITY_FIELDS}
        errors = processing_activity_m2m_errors(
            values,
            data_categories=cleaned.get("data_categories"),
            assets=cleaned.get("assets"),
            recipients=cleaned.get("recipients"),
        )
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned
