"""Admin forms of the retention app. They validate input; services do the writes."""

from __future__ import annotations

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jitportal.inputs import AsciiIntegerField, bounded_text, has_visible_text, text_validate

from .models import AnonymisedField, HoldScope, LegalHold, PurgeAction, RetentionRule
from .validation import _NEVER_TARGETS, hold_record_ids_problem, parse_ids


def _target_choices():
    hidden = {tuple(label.split(".")) for label in _NEVER_TARGETS}
    return ContentType.objects.exclude(
        pk__in=[
            ct.pk
            for ct in ContentType.objects.all()
            if (ct.app_label, ct.model) in hidden or ct.model_class() is None
        ]
    ).order_by("app_label", "model")


@bounded_text
class RetentionRuleForm(forms.ModelForm):
    class Meta:
        field_classes = {
            "period_amount": AsciiIntegerField,
            "run_every_days": AsciiIntegerField,
            "batch_size": AsciiIntegerField,
        }
        model = RetentionRule
        fields = [
            "name",
            "asset",
            "category",
            "enabled",
            "target_kind",
            "content_type",
            "date_field",
            "filter",
            "raw_database",
            "raw_table",
            "raw_key_column",
            "period_amount",
            "period_unit",
            "action",
            "anonymised_marker_field",
            "legal_reason",
            "legal_citation",
            "run_every_days",
            "batch_size",
        ]
        widgets = {"filter": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "content_type" in self.fields:
            self.fields["content_type"].queryset = _target_choices()
            self.fields["content_type"].label_from_instance = lambda ct: (
                f"{ct.model_class()._meta.label} ({ct.model_class()._meta.verbose_name})"
            )


class AnonymisedFieldFormSet(forms.BaseInlineFormSet):
    """An anonymise rule needs fields; a delete rule has none."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("field_name")
        ]
        names = [form.cleaned_data["field_name"] for form in kept]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValidationError(
                gettext("Each field once: %(fields)s repeats.")
                % {"fields": ", ".join(sorted(duplicates))}
            )
        action = self.instance.action
        if action == PurgeAction.ANONYMISE and not kept:
            raise ValidationError(
                gettext("An anonymise rule needs at least one field to anonymise.")
            )
        if action == PurgeAction.DELETE and kept:
            raise ValidationError(
                gettext(
                    "A delete rule removes whole rows: remove these fields or choose anonymise."
                )
            )


class AnonymisedFieldForm(forms.ModelForm):
    class Meta:
        model = AnonymisedField
        fields = ["field_name", "strategy", "value", "truncate_to"]


@bounded_text
class LegalHoldPlaceForm(forms.ModelForm):
    object_ids = forms.CharField(
        label=_("Record ids"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        help_text=_("For a hold on specific records: their ids, separated by commas or spaces."),
    )

    class Meta:
        model = LegalHold
        fields = [
            "scope",
            "asset",
            "rule",
            "content_type",
            "raw_table",
            "object_ids",
            "basis",
            "reference",
            "reason",
            "review_on",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["content_type"].queryset = _target_choices()
        self.fields["content_type"].label_from_instance = lambda ct: ct.model_class()._meta.label

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        ids = parse_ids(data.get("object_ids", ""))
        data["object_ids"] = ids
        if data.get("scope") == HoldScope.RECORDS:
            problem = hold_record_ids_problem(
                content_type=data.get("content_type"),
                raw_table=data.get("raw_table", ""),
                ids=ids,
            )
            if problem:
                self.add_error("object_ids", problem)
        elif ids:
            self.add_error("object_ids", gettext("Only a hold on specific records lists ids."))
        return data


class LegalHoldReviewForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["review_on"]

    def clean_review_on(self):
        value = self.cleaned_data["review_on"]
        if value < timezone.localdate():
            raise ValidationError(gettext("The next review date cannot be in the past."))
        return value


@bounded_text
class LegalHoldLiftForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        label=_("Reason"),
        help_text=_("Why the hold is lifted (e.g. the claim was settled on ...)."),
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not has_visible_text(reason):
            raise ValidationError(gettext("Say why the hold is lifted."))
        text_validate(reason)
        return reason


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label=_("I have checked these numbers"),
        error_messages={"required": _("Tick the box to confirm you have checked the numbers.")},
    )
