"""A known inventory the record-of-processing tests read back, value by value."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from apps.inventory.gdpr import (
    CategoryKind,
    DpiaRequired,
    DpiaStatus,
    LawfulBasis,
    OrganisationRole,
    RecipientKind,
    TransferMechanism,
)
from apps.inventory.models import Transfer
from tests.factories import (
    DataAssetFactory,
    DataCategoryFactory,
    DataSubjectCategoryFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    SystemFactory,
)


@pytest.fixture
def ropa_world(db):
    """Four active activities (complete, gappy, processor, joint) and an inactive one."""
    org = OrganisationFactory()
    # The default taxonomy (a migration) already holds these; the factory finds them by slug.
    name = DataCategoryFactory(name="Name", slug="identity-name")
    email = DataCategoryFactory(name="Email address", slug="contact-email")
    health = DataCategoryFactory(
        name="Data concerning health", slug="health", kind=CategoryKind.SPECIAL
    )
    crime = DataCategoryFactory(
        name="Criminal record checks", slug="criminal-record-checks", kind=CategoryKind.CRIMINAL
    )
    customers = DataSubjectCategoryFactory(name="Customers")
    patients = DataSubjectCategoryFactory(name="Patients", is_vulnerable=True)
    crm = SystemFactory(name="CRM", hosting_location="eu-west-1", hosting_country="IE")
    analytics = SystemFactory(name="Analytics", hosting_location="us-east-1", hosting_country="US")
    customer_records = DataAssetFactory(
        name="Customer records", system=crm, categories=[name, email]
    )
    customer_records.subjects.set([customers])
    health_notes = DataAssetFactory(name="Health notes", system=crm, categories=[health])
    clicks = DataAssetFactory(name="Clickstream", system=analytics, categories=[email])
    mailer = RecipientFactory(
        name="Mailer Ltd",
        kind=RecipientKind.PROCESSOR,
        country="IE",
        contract_link="https://example.org/dpa/mailer.pdf",
    )
    us_vendor = RecipientFactory(name="US Vendor Inc", kind=RecipientKind.PROCESSOR, country="US")
    auditors = RecipientFactory(name="Auditors LLP", kind=RecipientKind.THIRD_PARTY, country="IE")

    complete = ProcessingActivityFactory(
        name="Customer accounts",
        reference="PA-001",
        business_function="Customer service",
        purposes="Running customer accounts",
        lawful_basis=LawfulBasis.CONTRACT,
        retention_description="6 years after the contract ends",
        security_measures="MFA, encryption at rest",
        rights_available="Access, rectification, erasure",
        source_of_data="The customer",
        data_location="Backups in Frankfurt",
        dpia_required=DpiaRequired.NO,
        last_reviewed_on=date(2026, 1, 10),
        next_review_on=date(2099, 1, 10),
    )
    complete.data_subjects.set([customers])
    complete.data_categories.set([name, email])
    complete.assets.set([customer_records])
    complete.recipients.set([mailer, auditors])

    gappy = ProcessingActivityFactory(
        name="Health outreach",
        reference="PA-002",
        purposes="",
        lawful_basis=LawfulBasis.LEGITIMATE_INTERESTS,
        legitimate_interests="",
        retention_description="",
        security_measures="",
        dpia_required=DpiaRequired.UNKNOWN,
        next_review_on=date(2020, 5, 1),
    )
    gappy.assets.set([health_notes, clicks])
    gappy.recipients.set([us_vendor])

    processor = ProcessingActivityFactory(
        name="Payroll for a sister company",
        reference="PA-003",
        role=OrganisationRole.PROCESSOR,
        controller_on_behalf="",
        purposes="Running payroll on instructions",
        security_measures="Encrypted transfer",
        next_review_on=date(2099, 1, 1),
    )
    processor.data_categories.set([name])

    joint = ProcessingActivityFactory(
        name="Joint research",
        reference="PA-004",
        role=OrganisationRole.JOINT_CONTROLLER,
        joint_controller="University X, dpo@univ.example",
        purposes="Research",
        lawful_basis=LawfulBasis.PUBLIC_TASK,
        art9_condition="9(2)(j)",
        art10_authority="Research exemption, Data Protection Act s.19",
        retention_description="Until the study ends",
        security_measures="Pseudonymisation",
        dpia_required=DpiaRequired.YES,
        dpia_status=DpiaStatus.COMPLETED,
        dpia_link="https://example.org/dpia/joint.pdf",
        breach_occurred=True,
        breach_record_link="https://example.org/breach/7",
        automated_decision_making=True,
        automated_decision_details="Risk scoring of participants",
        next_review_on=date(2099, 1, 1),
    )
    joint.data_subjects.set([patients])
    joint.data_categories.set([health, crime])
    joint.recipients.set([us_vendor])
    Transfer.objects.create(
        activity=joint,
        recipient=us_vendor,
        country="US",
        mechanism=TransferMechanism.SCCS,
        safeguard_link="https://example.org/sccs.pdf",
    )
    inactive = ProcessingActivityFactory(name="Old newsletter", reference="PA-009", is_active=False)
    return SimpleNamespace(
        org=org,
        complete=complete,
        gappy=gappy,
        processor=processor,
        joint=joint,
        inactive=inactive,
        assets=SimpleNamespace(
            customer_records=customer_records, health_notes=health_notes, clicks=clicks
        ),
        recipients=SimpleNamespace(mailer=mailer, us_vendor=us_vendor, auditors=auditors),
    )
