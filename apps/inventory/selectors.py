"""Reads of the register that take more than one line."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .completeness import REQUIREMENTS, REQUIREMENTS_BY_KEY, missing_flags_annotations
from .gdpr import CategoryKind
from .models import DataCategory, DataSubjectCategory, ProcessingActivity


def processing_activity_missing_keys(activity: ProcessingActivity) -> list[str]:
    """Keys (``completeness.REQUIREMENTS``) of what the stored activity still misses."""
    if activity.pk is None:
        raise ValueError("Only a saved activity can be checked for completeness.")
    flags = (
        ProcessingActivity.objects.filter(pk=activity.pk)
        .annotate(**missing_flags_annotations())
        .values(*(f"missing__{r.key}" for r in REQUIREMENTS))
        .get()
    )
    return [r.key for r in REQUIREMENTS if flags[f"missing__{r.key}"]]


def processing_activity_missing_fields(activity: ProcessingActivity) -> list[str]:
    """What the stored activity misses for a complete Art. 30 record, as ROPA column names.

    One query; the same SQL conditions as the changelist filter, so both always agree.
    """
    return [REQUIREMENTS_BY_KEY[key].label for key in processing_activity_missing_keys(activity)]


def processing_activity_categories(activity: ProcessingActivity) -> QuerySet[DataCategory]:
    """Categories of personal data in the record: the activity's own and its assets'."""
    return (
        DataCategory.objects.filter(Q(activities=activity) | Q(assets__activities=activity))
        .distinct()
        .order_by("name")
    )


def processing_activity_subjects(activity: ProcessingActivity) -> QuerySet[DataSubjectCategory]:
    """Categories of data subjects in the record: the activity's own and its assets'."""
    return (
        DataSubjectCategory.objects.filter(Q(activities=activity) | Q(assets__activities=activity))
        .distinct()
        .order_by("name")
    )


def processing_activity_restricted_categories(
    activity: ProcessingActivity,
) -> QuerySet[DataCategory]:
    """The Art. 9 and Art. 10 categories among :func:`processing_activity_categories`."""
    return processing_activity_categories(activity).exclude(kind=CategoryKind.ORDINARY)
