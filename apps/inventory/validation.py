"""Validation rules of the register, with the messages the DPO sees.

Each function returns ``{field name: [message, ...]}`` (``"__all__"`` for the whole form)
and changes nothing, so the admin forms, ``Model.clean`` and services share one set of rules.
``Model.clean`` cannot see unsaved many-to-many values, so the rules that need them
(special-category data, recipients) take those values as arguments: the admin form passes
its ``cleaned_data`` and services pass what they are about to save.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Model, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from jitportal.formats import date_display

from .gdpr import (
    ADEQUATE_COUNTRIES,
    EEA_COUNTRIES,
    SCHEDULE1_FOR_ART9,
    CategoryKind,
    Dpa2018Schedule1Condition,
    DpiaStatus,
    LawfulBasis,
    OrganisationRole,
    TransferMechanism,
)
from .models import DataAsset, DataCategory, ProcessingActivity, Recipient

Errors = dict[str, list[str]]

# The plain (non many-to-many) fields the activity rules read.
ACTIVITY_FIELDS = (
    "role",
    "lawful_basis",
    "legitimate_interests",
    "art9_condition",
    "art10_authority",
    "dpa2018_schedule1_condition",
    "dpia_status",
    "dpia_link",
    "last_reviewed_on",
    "next_review_on",
    "no_recipients",
)


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _merge(*parts: Errors) -> Errors:
    merged: Errors = {}
    for part in parts:
        for field, messages in part.items():
            merged.setdefault(field, []).extend(messages)
    return merged


def _ids(values: Iterable[Any] | None) -> list[int]:
    if values is None:
        return []
    return [v.pk if isinstance(v, Model) else int(v) for v in values]


def _country_code(country: Any) -> str:
    code = getattr(country, "code", country)
    return (code or "").upper()


def _names(items: Iterable[Any]) -> str:
    return ", ".join(f"“{item.name}”" for item in items)


def processing_activity_values(activity: ProcessingActivity) -> dict[str, Any]:
    """The plain fields of an activity as the rules below read them."""
    return {name: getattr(activity, name) for name in ACTIVITY_FIELDS}


def restricted_categories(
    *, data_categories: Iterable[Any] | None, assets: Iterable[Any] | None
) -> list[DataCategory]:
    """Art. 9 and Art. 10 categories an activity processes: its own and its assets'."""
    category_ids, asset_ids = _ids(data_categories), _ids(assets)
    if not category_ids and not asset_ids:
        return []
    return list(
        DataCategory.objects.special()
        .filter(Q(pk__in=category_ids) | Q(assets__pk__in=asset_ids))
        .distinct()
        .order_by("name")
    )


def processing_activity_field_errors(values: Mapping[str, Any]) -> Errors:
    """Rules on the activity's own fields (``Model.clean`` runs these)."""
    errors: Errors = {}
    if (
        values.get("lawful_basis") == LawfulBasis.LEGITIMATE_INTERESTS
        and not (values.get("legitimate_interests") or "").strip()
    ):
        _add(
            errors,
            "legitimate_interests",
            _(
                "The lawful basis is legitimate interests (Art. 6(1)(f)): state the interest "
                "pursued, by the organisation or a third party."
            ),
        )
    last, nxt = values.get("last_reviewed_on"), values.get("next_review_on")
    if last and nxt and nxt < last:
        _add(
            errors,
            "next_review_on",
            _("The next review (%(next)s) cannot be before the last review (%(last)s).")
            % {"next": date_display(nxt), "last": date_display(last)},
        )
    if values.get("dpia_status") == DpiaStatus.COMPLETED and not values.get("dpia_link"):
        _add(errors, "dpia_link", _("The DPIA is marked completed: link to the DPIA document."))
    return errors


def processing_activity_m2m_errors(
    values: Mapping[str, Any],
    *,
    data_categories: Iterable[Any] | None,
    assets: Iterable[Any] | None,
    recipients: Iterable[Any] | None,
) -> Errors:
    """Rules that need the activity's categories, assets and recipients."""
    errors: Errors = {}
    # A processor applies the controller's Art. 9(2) condition and Art. 10 authority; its
    # Art. 30(2) record does not carry them.
    as_controller = values.get("role") != OrganisationRole.PROCESSOR
    restricted = (
        restricted_categories(data_categories=data_categories, assets=assets)
        if as_controller
        else []
    )
    special = [c for c in restricted if c.kind == CategoryKind.SPECIAL]
    criminal = [c for c in restricted if c.kind == CategoryKind.CRIMINAL]
    if special and not values.get("art9_condition"):
        _add(
            errors,
            "art9_condition",
            _(
                "This activity processes special-category data (%(categories)s, from its "
                "categories or its data assets). Processing it is prohibited unless an "
                "Art. 9(2) condition applies: choose the condition."
            )
            % {"categories": _names(special)},
        )
    if criminal and not (values.get("art10_authority") or "").strip():
        _add(
            errors,
            "art10_authority",
            _(
                "This activity processes criminal convictions and offences data "
                "(%(categories)s). Art. 10 allows it only under official authority or "
                "when authorised by law: name that authority."
            )
            % {"categories": _names(criminal)},
        )
    errors = _merge(
        errors, _schedule1_errors(values, special=bool(special), criminal=bool(criminal))
    )
    recipient_ids = _ids(recipients)
    if values.get("no_recipients") and recipient_ids:
        _add(
            errors,
            "no_recipients",
            ngettext(
                "“No recipients” is ticked but %(count)d recipient is listed: "
                "untick it or remove the recipients.",
                "“No recipients” is ticked but %(count)d recipients are listed: "
                "untick it or remove the recipients.",
                len(recipient_ids),
            )
            % {"count": len(recipient_ids)},
        )
    return errors


def _schedule1_errors(values: Mapping[str, Any], *, special: bool, criminal: bool) -> Errors:
    """UK organisations (``JITPORTAL_ROPA_UK``): the DPA 2018 s. 10 / Schedule 1 condition.

    Special-category data under Art. 9(2)(b), (g), (h), (i) or (j) needs the Schedule 1
    condition that matches it (s. 10(2)-(3)); criminal-offence data needs any Schedule 1
    condition (s. 10(5)).
    """
    errors: Errors = {}
    if not settings.JITPORTAL.get("ROPA_UK", False):
        return errors
    chosen = values.get("dpa2018_schedule1_condition") or ""
    art9 = values.get("art9_condition") or ""
    allowed = SCHEDULE1_FOR_ART9.get(art9) if special else None
    if chosen:
        if allowed is not None and chosen not in allowed and not criminal:
            fits = ", ".join(
                _("Sch. 1 para %(number)s") % {"number": number}
                for number in sorted(int(c.removeprefix("S1-")) for c in allowed)
            )
            _add(
                errors,
                "dpa2018_schedule1_condition",
                _(
                    "Under Art. %(article)s the DPA 2018 (s. 10) asks for a condition of "
                    "%(conditions)s; “%(chosen)s” does not fit it."
                )
                % {
                    "article": art9,
                    "conditions": fits,
                    "chosen": Dpa2018Schedule1Condition(chosen).label,
                },
            )
        return errors
    if allowed is not None or criminal:
        if allowed is not None:
            message = _(
                "This activity processes special-category data under Art. %(article)s: UK "
                "organisations also need a condition of Schedule 1 to the Data Protection "
                "Act 2018 (s. 10). Choose it."
            ) % {"article": art9}
        else:
            message = _(
                "This activity processes criminal-offence data: UK organisations also need "
                "a condition of Schedule 1 to the Data Protection Act 2018 (s. 10). Choose it."
            )
        _add(errors, "dpa2018_schedule1_condition", message)
    return errors


def processing_activity_errors(
    values: Mapping[str, Any],
    *,
    data_categories: Iterable[Any] | None,
    assets: Iterable[Any] | None,
    recipients: Iterable[Any] | None,
) -> Errors:
    return _merge(
        processing_activity_field_errors(values),
        processing_activity_m2m_errors(
            values, data_categories=data_categories, assets=assets, recipients=recipients
        ),
    )


def processing_activity_validate(
    *,
    activity: ProcessingActivity,
    data_categories: Iterable[DataCategory] | None = None,
    assets: Iterable[DataAsset] | None = None,
    recipients: Iterable[Recipient] | None = None,
) -> None:
    """Raise ``ValidationError`` when the activity, with these links, breaks a rule.

    Links left as None are read from the database (for a saved activity) so a service can
    validate what it is about to save as well as what is stored.
    """
    if activity.pk is not None:
        if data_categories is None:
            data_categories = activity.data_categories.all()
        if assets is None:
            assets = activity.assets.all()
        if recipients is None:
            recipients = activity.recipients.all()
    errors = processing_activity_errors(
        processing_activity_values(activity),
        data_categories=data_categories,
        assets=assets,
        recipients=recipients,
    )
    if errors:
        raise ValidationError(errors)


def transfer_errors(
    *, country: Any, international_organisation: str, mechanism: str, description: str
) -> Errors:
    """Rules of one transfer to a third country or international organisation."""
    errors: Errors = {}
    code = _country_code(country)
    organisation = (international_organisation or "").strip()
    if code and organisation:
        _add(
            errors,
            "__all__",
            _(
                "A transfer goes either to a country or to an international organisation, "
                "not both: record two transfers if data goes to each."
            ),
        )
        return errors
    if not code and not organisation:
        _add(
            errors,
            "__all__",
            _("Say where the data goes: a country or an international organisation."),
        )
        return errors
    outside = bool(organisation) or code not in EEA_COUNTRIES
    where = f"“{organisation}”" if organisation else code
    if outside and not mechanism:
        _add(
            errors,
            "mechanism",
            _(
                "Data going to %(where)s leaves the EEA: choose the Chapter V transfer "
                "mechanism (adequacy, SCCs, BCRs, other Art. 46 safeguard or an Art. 49 "
                "derogation)."
            )
            % {"where": where},
        )
    if mechanism == TransferMechanism.ADEQUACY:
        if organisation:
            _add(
                errors,
                "mechanism",
                _(
                    "No adequacy decision covers %(where)s: choose another mechanism "
                    "(e.g. an Art. 46 safeguard)."
                )
                % {"where": where},
            )
        elif code not in ADEQUATE_COUNTRIES and code not in EEA_COUNTRIES:
            _add(
                errors,
                "mechanism",
                _(
                    "The European Commission has no adequacy decision for %(country)s: "
                    "choose SCCs, BCRs, another Art. 46 safeguard or an Art. 49 derogation."
                )
                % {"country": code},
            )
    if mechanism == TransferMechanism.DEROGATION and not (description or "").strip():
        _add(
            errors,
            "description",
            _(
                "An Art. 49 derogation must be documented: say which derogation applies and "
                "why (Art. 30(1)(e), Art. 49(6))."
            ),
        )
    return errors
