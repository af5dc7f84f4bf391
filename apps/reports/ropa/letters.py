"""Where each column of the record comes from: one function per letter of GDPR Art. 30(1)
(a to g), then the UK ICO template's further columns.

Every function takes the facts of one activity (``RowFacts``) and fills the cells of its
columns: a value, or the column marked *not applicable* to this activity. The processor
record (Art. 30(2)) uses the same functions: its letters (a) to (d) are the controller's
(a), (b), (e) and (g), with the processor's own columns where they differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.inventory.gdpr import (
    SCHEDULE1_FOR_ART9,
    Art9Condition,
    CategoryKind,
    DpiaRequired,
    LawfulBasis,
    OrganisationRole,
    RecipientKind,
)
from apps.inventory.models import Organisation, ProcessingActivity

from ..retention import RetentionFacts
from .columns import CONTROLLER, HEADER_FIELDS
from .inventory import (
    Asset,
    Category,
    Inventory,
    RecipientFacts,
    Subject,
    SystemFacts,
    TransferFacts,
)


def join(parts: Iterable[str]) -> str:
    return "; ".join(p for p in parts if p)


@dataclass
class RowFacts:
    """One activity and what it refers to, read from the inventory once."""

    activity: ProcessingActivity
    record: str
    retention: RetentionFacts
    assets: list[Asset]
    categories: list[Category]
    subjects: list[Subject]
    recipients: list[RecipientFacts]
    transfers: list[TransferFacts]
    systems: list[SystemFacts]

    @classmethod
    def read(
        cls, activity: ProcessingActivity, *, record: str, inv: Inventory, retention: RetentionFacts
    ) -> RowFacts:
        pk = activity.pk
        assets = [inv.assets[a] for a in inv.activity_assets.get(pk, []) if a in inv.assets]
        # Categories and subjects: declared on the activity, or held by one of its assets.
        category_ids = set(inv.activity_categories.get(pk, []))
        subject_ids = set(inv.activity_subjects.get(pk, []))
        for asset in assets:
            category_ids.update(asset.categories)
            subject_ids.update(asset.subjects)
        systems = {a.system_id: a.system for a in assets}
        return cls(
            activity=activity,
            record=record,
            retention=retention,
            assets=assets,
            categories=sorted((inv.categories[c] for c in category_ids), key=lambda c: c.name),
            subjects=sorted((inv.subjects[s] for s in subject_ids), key=lambda s: s.name),
            recipients=sorted(
                (inv.recipients[r] for r in inv.activity_recipients.get(pk, [])),
                key=lambda r: r.name,
            ),
            transfers=inv.transfers.get(pk, []),
            systems=sorted(systems.values(), key=lambda s: s.name),
        )

    @cached_property
    def special(self) -> bool:
        """Special category data (Art. 9) among the categories."""
        return any(c.kind == CategoryKind.SPECIAL for c in self.categories)

    @cached_property
    def criminal(self) -> bool:
        """Criminal offence data (Art. 10) among the categories."""
        return any(c.kind == CategoryKind.CRIMINAL for c in self.categories)

    @property
    def processors(self) -> list[RecipientFacts]:
        return [r for r in self.recipients if r.kind == RecipientKind.PROCESSOR]


@dataclass
class Cells:
    """The cells of one row: column key -> text, and the columns that do not apply."""

    values: dict[str, str] = field(default_factory=dict)
    not_applicable: set[str] = field(default_factory=set)

    def na(self, *keys: str) -> None:
        self.not_applicable.update(keys)


Section = Callable[[RowFacts, Cells], None]


# --- Art. 30(1) -------------------------------------------------------------------------------


def art30_1_a_organisation(org: Organisation | None) -> tuple[dict[str, str], list[str]]:
    """Art. 30(1)(a), the organisation block above the table: the controller, its data
    protection officer and its representative (Art. 27), with the fields it misses.

    Returns ``(values by HEADER_FIELDS key, keys of the missing ones)``.
    """
    if org is None:
        values = {f.key: "" for f in HEADER_FIELDS}
    else:
        values = {
            "controller_name": org.legal_name,
            "controller_address": org.address,
            "controller_email": org.email,
            "controller_telephone": org.telephone,
            "dpo_name": org.dpo_name,
            "dpo_address": org.dpo_address,
            "dpo_email": org.dpo_email,
            "dpo_telephone": org.dpo_telephone,
            "representative_name": org.representative_name,
            "representative_address": org.representative_address,
            "representative_email": org.representative_email,
            "representative_telephone": org.representative_telephone,
        }
    gaps = []
    if not values["controller_name"]:
        gaps.append("controller_name")
    # Art. 30(1)(a) asks for "contact details": one way to reach the controller, and the DPO.
    contact = ("address", "email", "telephone")
    if not any(values[f"controller_{c}"] for c in contact):
        gaps.extend(f"controller_{c}" for c in contact)
    if not values["dpo_name"]:
        gaps.append("dpo_name")
    if not any(values[f"dpo_{c}"] for c in contact):
        gaps.extend(f"dpo_{c}" for c in contact)
    return values, gaps


def art30_1_a(row: RowFacts, cells: Cells) -> None:
    """Art. 30(1)(a) on each row: the joint controller (where the activity has one); for
    the processor record, Art. 30(2)(a): each controller on whose behalf it acts."""
    activity = row.activity
    cells.values["controller_on_behalf"] = activity.controller_on_behalf
    if activity.role == OrganisationRole.JOINT_CONTROLLER:
        cells.values["joint_controller"] = activity.joint_controller
    else:
        cells.values["joint_controller"] = ""
        cells.na("joint_controller")


def art30_1_b(row: RowFacts, cells: Cells) -> None:
    """Art. 30(1)(b): the purposes of the processing (Art. 30(2)(b): the categories of
    processing carried out for each controller)."""
    cells.values["purposes"] = row.activity.purposes


def art30_1_c(row: RowFacts, cells: Cells) -> None:
    """Art. 30(1)(c): the categories of data subjects and of personal data, declared on the
    activity or held by its assets; vulnerable subjects and Art. 9/10 categories marked."""
    cells.values["data_subjects"] = join(
        s.name + (" " + _("(vulnerable)") if s.is_vulnerable else "") for s in row.subjects
    )
    cells.values["data_categories"] = join(c.name + _kind_tag(c.kind) for c in row.categories)


def _kind_tag(kind: str) -> str:
    if kind == CategoryKind.SPECIAL:
        return " [" + _("Art. 9") + "]"
    if kind == CategoryKind.CRIMINAL:
        return " [" + _("Art. 10") + "]"
    return ""


def art30_1_d(row: RowFacts, cells: Cells) -> None:
    """Art. 30(1)(d): the categories of recipients, with their kind and country; or that
    there are none (a statement the DPO makes on the activity)."""
    if row.recipients:
        cells.values["recipients"] = join(
            f"{r.name} ({r.kind_label}"
            + (f", {r.country_name}" if r.country else "")
            + (", " + _("international organisation") if r.is_international_organisation else "")
            + ")"
            for r in row.recipients
        )
    else:
        cells.values["recipients"] = (
            _("None: not disclosed outside the organisation") if row.activity.no_recipients else ""
        )


def art30_1_e(row: RowFacts, cells: Cells) -> None:
    """Art. 30(1)(e): transfers to third countries or international organisations, and for
    each its safeguard (mechanism, document, description)."""
    transfers = row.transfers
    if transfers:
        cells.values["third_countries"] = join(t.where for t in transfers)
        cells.values["safeguards"] = join(
            f"{t.where}: "
            + join(
                [
                    t.mechanism_label if t.mechanism else _("no mechanism recorded"),
                    t.safeguard_link,
                    t.description,
                ]
            )
            for t in transfers
        )
    else:
        cells.values["third_countries"] = pgettext("no third countries", "None")
        cells.values["safeguards"] = ""
        cells.na("safeguards")


def art30_1_f(row: RowFacts, cells: Cells) -> None:
    """Art. 30(1)(f): the envisaged time limits for erasure: the activity's own description,
    then the retention rules of its assets."""
    cells.values["retention"] = "\n".join(
        p
        for p in (
            row.activity.retention_description,
            row.retention.schedule_for(a.pk for a in row.assets),
        )
        if p
    )


def art30_1_g(row: RowFacts, cells: Cells) -> None:
    """Art. 30(1)(g): a general description of the technical and organisational security
    measures (Art. 32(1))."""
    cells.values["security_measures"] = row.activity.security_measures


# --- the UK ICO template's further columns ----------------------------------------------------


def ico_business_function(row: RowFacts, cells: Cells) -> None:
    """ICO template: the business function the activity belongs to."""
    cells.values["business_function"] = row.activity.business_function


def ico_processor_contract(row: RowFacts, cells: Cells) -> None:
    """ICO template (Art. 28(3)): the contract with each processor; for the processor
    record, the contract with the controller. Not applicable to a controller's activity
    that uses no processor."""
    parts = []
    if row.activity.processor_contract_link:
        parts.append(row.activity.processor_contract_link)
    processors = row.processors
    parts += [f"{r.name}: {r.contract_link}" for r in processors if r.contract_link]
    cells.values["processor_contract"] = join(parts)
    if not parts and not processors and row.record == CONTROLLER:
        cells.na("processor_contract")


def ico_retention_policy_link(row: RowFacts, cells: Cells) -> None:
    """ICO template: the retention and erasure policy document."""
    cells.values["retention_policy_link"] = row.activity.retention_policy_link


def ico_lawful_basis(row: RowFacts, cells: Cells) -> None:
    """ICO template: the Art. 6 lawful basis, the legitimate interests and their assessment
    (Art. 6(1)(f)), and the record of consent (Art. 7(1))."""
    activity = row.activity
    basis = activity.lawful_basis
    cells.values["lawful_basis"] = str(activity.get_lawful_basis_display()) if basis else ""
    cells.values["legitimate_interests"] = activity.legitimate_interests
    cells.values["lia_link"] = activity.lia_link
    if basis != LawfulBasis.LEGITIMATE_INTERESTS:
        if not activity.legitimate_interests:
            cells.na("legitimate_interests")
        if not activity.lia_link:
            cells.na("lia_link")
    cells.values["consent_record_link"] = activity.consent_record_link
    consent_based = basis == LawfulBasis.CONSENT or activity.art9_condition == Art9Condition.A
    if not consent_based and not activity.consent_record_link:
        cells.na("consent_record_link")


def ico_special_category(row: RowFacts, cells: Cells) -> None:
    """ICO template: the Art. 9(2) condition and the Art. 10 authority; in the UK the
    DPA 2018 Schedule 1 condition (s. 10) as well. Not applicable without such data."""
    activity = row.activity
    art9 = []
    if activity.art9_condition:
        art9.append(str(activity.get_art9_condition_display()))
    if activity.art10_authority:
        art9.append(_("Art. 10: %(authority)s") % {"authority": activity.art10_authority})
    cells.values["art9_condition"] = join(art9)
    if not (row.special or row.criminal or art9):
        cells.na("art9_condition")
    cells.values["dpa2018_schedule1_condition"] = (
        str(activity.get_dpa2018_schedule1_condition_display())
        if activity.dpa2018_schedule1_condition
        else ""
    )
    if not (row.criminal or activity.dpa2018_schedule1_condition) and (
        not row.special or activity.art9_condition not in SCHEDULE1_FOR_ART9
    ):
        cells.na("dpa2018_schedule1_condition")


def ico_individuals(row: RowFacts, cells: Cells) -> None:
    """ICO template: the rights available to individuals (Art. 15 to 22), automated
    decision-making including profiling (Art. 22), and the source of the data (Art. 14(2)(f))."""
    activity = row.activity
    cells.values["rights_available"] = activity.rights_available
    cells.values["automated_decision_making"] = (
        _("Yes")
        + (
            f": {activity.automated_decision_details}"
            if activity.automated_decision_details
            else ""
        )
        if activity.automated_decision_making
        else _("No")
    )
    cells.values["source_of_data"] = activity.source_of_data


def ico_location(row: RowFacts, cells: Cells) -> None:
    """ICO template: where the data is: the activity's own statement, then each system
    holding its assets with where it is hosted."""
    locations = [row.activity.data_location] if row.activity.data_location else []
    for system in row.systems:
        where = ", ".join(p for p in (system.hosting_location, system.country_name) if p)
        locations.append(f"{system.name} ({where})" if where else system.name)
    cells.values["location"] = join(locations)


def ico_dpia(row: RowFacts, cells: Cells) -> None:
    """ICO template: whether a data protection impact assessment is required (Art. 35),
    its progress and the document; progress and link do not apply when none is required."""
    activity = row.activity
    cells.values["dpia_required"] = (
        str(activity.get_dpia_required_display())
        if activity.dpia_required != DpiaRequired.UNKNOWN
        else ""
    )
    cells.values["dpia_status"] = (
        str(activity.get_dpia_status_display()) if activity.dpia_status else ""
    )
    cells.values["dpia_link"] = activity.dpia_link
    if activity.dpia_required != DpiaRequired.YES:
        if not activity.dpia_status:
            cells.na("dpia_status")
        if not activity.dpia_link:
            cells.na("dpia_link")


def ico_breach(row: RowFacts, cells: Cells) -> None:
    """ICO template: whether a personal data breach occurred and its record (Art. 33(5))."""
    activity = row.activity
    cells.values["breach_occurred"] = _("Yes") if activity.breach_occurred else _("No")
    cells.values["breach_record_link"] = activity.breach_record_link
    if not activity.breach_occurred and not activity.breach_record_link:
        cells.na("breach_record_link")


# Every section of a row, in the order the letters run.
SECTIONS: tuple[Section, ...] = (
    art30_1_a,
    art30_1_b,
    art30_1_c,
    art30_1_d,
    art30_1_e,
    art30_1_f,
    art30_1_g,
    ico_business_function,
    ico_processor_contract,
    ico_retention_policy_link,
    ico_lawful_basis,
    ico_special_category,
    ico_individuals,
    ico_location,
    ico_dpia,
    ico_breach,
)


def row_cells(row: RowFacts) -> Cells:
    """Every column's cell of one activity, filled by each section in turn."""
    cells = Cells()
    for section in SECTIONS:
        section(row, cells)
    return cells
