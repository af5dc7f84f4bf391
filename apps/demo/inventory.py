"""The demo organisation's register: users, systems, data assets, activities, transfers.

``load_inventory_demo`` is what ``manage.py load_demo`` calls first. It is idempotent: every
row is found by its natural key (username, group name, system name, system + asset name,
activity name, ...) and only created when missing. A row that exists is left exactly as it
is, so a second run changes nothing and the DPO's edits to demo rows survive a re-run.

Some activities are deliberately incomplete (marked ``# incomplete`` below) so that the
"Art. 30 completeness" filter of the admin has something to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TextIO

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import OutputWrapper
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_event_record
from apps.inventory.gdpr import (
    Art9Condition,
    Dpa2018Schedule1Condition,
    DpiaRequired,
    DpiaStatus,
    LawfulBasis,
    OrganisationRole,
    RecipientKind,
    Sensitivity,
    TransferMechanism,
)
from apps.inventory.models import (
    DataAsset,
    DataCategory,
    DataSubjectCategory,
    Organisation,
    ProcessingActivity,
    Recipient,
    System,
    Transfer,
)
from apps.inventory.roles import APPROVERS, AUDITORS, DPO, STAFF
from apps.inventory.taxonomy import taxonomy_seed
from apps.inventory.validation import processing_activity_validate


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    groups: tuple[str, ...]
    first_name: str
    last_name: str
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def email(self) -> str:
        return f"{self.username}@lumen-health.example"


# The demo logins. Known passwords, for a demo database only: load_demo refuses to run
# with DEBUG off unless forced, and never belongs on a production database.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "admin-demo-pass", (), "Ada", "Admin", is_staff=True, is_superuser=True),
    DemoUser("dpo", "dpo-demo-pass", (DPO,), "Dana", "Okafor", is_staff=True),
    DemoUser("approver", "approver-demo-pass", (APPROVERS,), "Aron", "Keane", is_staff=True),
    DemoUser("approver2", "approver2-demo-pass", (APPROVERS,), "Brid", "Walsh", is_staff=True),
    DemoUser("staff", "staff-demo-pass", (STAFF,), "Sam", "Byrne"),
    DemoUser("staff2", "staff2-demo-pass", (STAFF,), "Tess", "Nolan"),
    DemoUser("auditor", "auditor-demo-pass", (AUDITORS,), "Ola", "Nowak", is_staff=True),
)

# Groups whose members may approve access to the assets they steward.
STEWARD_GROUPS = {
    "Customer data stewards": ("approver",),
    "HR data stewards": ("approver2",),
    "Security stewards": ("approver", "approver2"),
}

ORGANISATION = {
    "legal_name": "Lumen Health Services Ltd",
    "address": "14 Harcourt Street, Dublin 2, D02 XK00, Ireland",
    "email": "privacy@lumen-health.example",
    "telephone": "+353 1 555 0100",
    "dpo_name": "Dana Okafor",
    "dpo_address": "14 Harcourt Street, Dublin 2, D02 XK00, Ireland",
    "dpo_email": "dpo@lumen-health.example",
    "dpo_telephone": "+353 1 555 0199",
    "representative_name": "Repwise UK Ltd (UK representative, UK GDPR Art. 27)",
    "representative_address": "20 Fleet Street, London EC4Y 1AA, United Kingdom",
    "representative_email": "lumen@repwise.example",
    "representative_telephone": "+44 20 5550 0127",
}

SYSTEMS: tuple[dict[str, Any], ...] = (
    {
        "name": "CRM",
        "description": "Customer relationship management: customers and their support tickets.",
        "owner": "approver",
        "owner_team": "Customer service",
        "hosting_location": "AWS eu-west-1 (Dublin)",
        "hosting_country": "IE",
        "vendor": "In-house",
    },
    {
        "name": "HR system",
        "description": "Employee records, absence, recruitment and vetting.",
        "owner": "approver2",
        "owner_team": "People team",
        "hosting_location": "PeopleHub EU cloud, Frankfurt",
        "hosting_country": "DE",
        "vendor": "PeopleHub GmbH",
    },
    {
        "name": "Payroll",
        "description": "Payroll run by an external payroll processor.",
        "owner": "approver2",
        "owner_team": "Finance",
        "hosting_location": "PayRight data centre, Zurich",
        "hosting_country": "CH",
        "vendor": "PayRight Payroll AG",
    },
    {
        "name": "Data warehouse",
        "description": "Analytics copies of CRM and website data, pseudonymised where possible.",
        "owner": "approver",
        "owner_team": "Data & analytics",
        "hosting_location": "DataLake Co, Frankfurt region",
        "hosting_country": "DE",
        "vendor": "DataLake Co GmbH",
    },
    {
        "name": "Support desk",
        "description": "SaaS help desk for customer conversations and phone support.",
        "owner": "approver",
        "owner_team": "Customer service",
        "hosting_location": "HelpDeskly US-East (Virginia)",
        "hosting_country": "US",
        "vendor": "HelpDeskly Inc.",
    },
    {
        "name": "Building access control",
        "description": "Badge and fingerprint readers, CCTV of the Dublin office.",
        "owner": "approver",
        "owner_team": "Facilities and security",
        "hosting_location": "On-premises, Dublin office",
        "hosting_country": "IE",
        "vendor": "SecureDoor Systems",
    },
    {
        "name": "Website",
        "description": "Public website, contact forms and newsletter sign-up.",
        "owner": "approver",
        "owner_team": "Marketing",
        "hosting_location": "AWS eu-west-1 (Dublin)",
        "hosting_country": "IE",
        "vendor": "In-house",
    },
)

# (system, asset name): description, sensitivity, category slugs, subject names, owner,
# steward group, governed model ("app_label.model") and record estimate.
ASSETS: tuple[dict[str, Any], ...] = (
    {
        "system": "CRM",
        "name": "Customers",
        "description": "Customer master records, including accessibility and medical needs.",
        "sensitivity": Sensitivity.RESTRICTED,
        "categories": (
            "identity-name",
            "identity-date-of-birth",
            "contact-postal-address",
            "contact-email",
            "contact-telephone",
            "health",
        ),
        "subjects": ("Customers",),
        "owner": "approver",
        "steward": "Customer data stewards",
        "governed": "crm.customer",
        "records": 200,
    },
    {
        "system": "CRM",
        "name": "Support tickets",
        "description": "Support tickets raised by customers and the team's replies.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": ("contact-email", "communications-tickets"),
        "subjects": ("Customers",),
        "owner": "approver",
        "steward": "Customer data stewards",
        "governed": "crm.supportticket",
        "records": 600,
    },
    {
        "system": "CRM",
        "name": "Marketing preferences",
        "description": "Consents and opt-outs per channel.",
        "sensitivity": Sensitivity.INTERNAL,
        "categories": ("contact-email", "behaviour-preferences"),
        "subjects": ("Customers", "Newsletter subscribers"),
        "owner": "approver",
        "steward": "Customer data stewards",
        "records": 5400,
    },
    {
        "system": "HR system",
        "name": "Employee records",
        "description": "Contracts, roles, contact and emergency contact details.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": (
            "identity-name",
            "identity-date-of-birth",
            "contact-postal-address",
            "contact-emergency",
            "employment-role",
            "employment-history",
            "gov-social-security",
        ),
        "subjects": ("Employees", "Former employees"),
        "owner": "approver2",
        "steward": "HR data stewards",
        "records": 420,
    },
    {
        "system": "HR system",
        "name": "Sickness absence and occupational health",
        "description": "Fit notes, sickness absence and occupational health referrals.",
        "sensitivity": Sensitivity.RESTRICTED,
        "categories": ("identity-name", "employment-absence", "health"),
        "subjects": ("Employees",),
        "owner": "approver2",
        "steward": "HR data stewards",
        "records": 950,
    },
    {
        "system": "HR system",
        "name": "Recruitment candidates",
        "description": "Applications, CVs, interview notes.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": (
            "identity-name",
            "contact-email",
            "contact-telephone",
            "employment-history",
            "education-qualifications",
        ),
        "subjects": ("Job applicants",),
        "owner": "approver2",
        "steward": "HR data stewards",
        "records": 1300,
    },
    {
        "system": "HR system",
        "name": "Criminal record checks",
        "description": "Vetting disclosures for roles working with patients and children.",
        "sensitivity": Sensitivity.RESTRICTED,
        "categories": ("identity-name", "criminal-record-checks"),
        "subjects": ("Job applicants", "Employees"),
        "owner": "dpo",
        "steward": "HR data stewards",
        "records": 300,
    },
    {
        "system": "HR system",
        "name": "Diversity monitoring",
        "description": "Voluntary equal-opportunities questionnaire answers.",
        "sensitivity": Sensitivity.RESTRICTED,
        "categories": ("racial-ethnic-origin", "religious-beliefs", "sexual-orientation"),
        "subjects": ("Employees", "Job applicants"),
        "owner": "approver2",
        "steward": "HR data stewards",
        "records": 510,
    },
    {
        "system": "HR system",
        "name": "Training records",
        "description": "Mandatory and optional training completed.",
        "sensitivity": Sensitivity.INTERNAL,
        "categories": ("identity-name", "education-training"),
        "subjects": ("Employees",),
        "owner": "approver2",
        "steward": "HR data stewards",
        "records": 3100,
    },
    {
        "system": "Payroll",
        "name": "Payroll records",
        "description": "Monthly pay, deductions, tax and pension contributions.",
        "sensitivity": Sensitivity.RESTRICTED,
        "categories": ("identity-name", "employment-pay", "gov-tax-id", "gov-social-security"),
        "subjects": ("Employees", "Former employees"),
        "owner": "approver2",
        "steward": "HR data stewards",
        "records": 30000,
    },
    {
        "system": "Payroll",
        "name": "Salary bank details",
        "description": "Bank accounts salaries are paid into.",
        "sensitivity": Sensitivity.RESTRICTED,
        "categories": ("identity-name", "financial-bank-account"),
        "subjects": ("Employees",),
        "owner": "approver2",
        "steward": "HR data stewards",
        "records": 420,
    },
    {
        "system": "Data warehouse",
        "name": "Customer analytics",
        "description": "Pseudonymised customer and purchase history for reporting.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": ("account-identifiers", "behaviour-purchases", "behaviour-profiling"),
        "subjects": ("Customers",),
        "owner": "approver",
        "steward": "Customer data stewards",
        "records": 180000,
    },
    {
        "system": "Data warehouse",
        "name": "Website analytics events",
        "description": "Page views and clicks with pseudonymous cookie identifiers.",
        "sensitivity": Sensitivity.INTERNAL,
        "categories": ("online-cookie-ids", "online-ip-address", "behaviour-usage"),
        "subjects": ("Website visitors",),
        "owner": "approver",
        "steward": "Customer data stewards",
        "records": 4200000,
    },
    {
        "system": "Support desk",
        "name": "Support conversations",
        "description": "Emails and chats with customers in the help desk.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": ("identity-name", "contact-email", "communications-messages"),
        "subjects": ("Customers",),
        "owner": "approver",
        "steward": "Customer data stewards",
        "records": 25000,
    },
    {
        "system": "Support desk",
        "name": "Call recordings",
        "description": "Recorded support calls, kept for quality and disputes.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": ("images-voice", "contact-telephone"),
        "subjects": ("Customers",),
        "owner": "approver",
        "steward": "Customer data stewards",
        "records": 8000,
    },
    {
        "system": "Building access control",
        "name": "Badge holders",
        "description": "Names, photos and badge numbers of people allowed in the office.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": ("identity-name", "images-photographs", "account-access-logs"),
        "subjects": ("Employees", "Contractors and temporary staff"),
        "owner": "approver",
        "steward": "Security stewards",
        "records": 480,
    },
    {
        "system": "Building access control",
        "name": "Fingerprint templates",
        "description": "Fingerprint templates for the server-room readers.",
        "sensitivity": Sensitivity.RESTRICTED,
        "categories": ("biometric-identification",),
        "subjects": ("Employees",),
        "owner": "dpo",
        "steward": "Security stewards",
        "records": 35,
    },
    {
        "system": "Building access control",
        "name": "CCTV footage",
        "description": "Entrance and car-park cameras, overwritten after 30 days.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": ("images-cctv",),
        "subjects": ("Employees", "Visitors to premises"),
        "owner": "approver",
        "steward": "Security stewards",
        "records": None,
    },
    {
        "system": "Website",
        "name": "Web server logs",
        "description": "Access logs of the public website.",
        "sensitivity": Sensitivity.INTERNAL,
        "categories": ("online-ip-address", "online-device-ids"),
        "subjects": ("Website visitors",),
        "owner": "approver",
        "steward": "Security stewards",
        "records": 9000000,
    },
    {
        "system": "Website",
        "name": "Newsletter subscribers",
        "description": "Email addresses and sign-up evidence of subscribers.",
        "sensitivity": Sensitivity.INTERNAL,
        "categories": ("contact-email", "behaviour-preferences"),
        "subjects": ("Newsletter subscribers",),
        "owner": "approver",
        "steward": "Customer data stewards",
        "records": 5400,
    },
    {
        "system": "Website",
        "name": "Contact form submissions",
        "description": "Messages sent through the website contact form.",
        "sensitivity": Sensitivity.CONFIDENTIAL,
        "categories": ("identity-name", "contact-email", "communications-messages"),
        "subjects": ("Prospective customers", "Website visitors"),
        "owner": "approver",
        "steward": "Customer data stewards",
        "records": 2100,
    },
)

RECIPIENTS: tuple[dict[str, Any], ...] = (
    {
        "name": "PayRight Payroll AG",
        "kind": RecipientKind.PROCESSOR,
        "country": "CH",
        "contact": "privacy@payright.example",
        "contract_link": "https://docs.lumen-health.example/contracts/payright-dpa.pdf",
    },
    {
        "name": "HelpDeskly Inc.",
        "kind": RecipientKind.PROCESSOR,
        "country": "US",
        "contact": "dpa@helpdeskly.example",
        "contract_link": "https://docs.lumen-health.example/contracts/helpdeskly-dpa.pdf",
    },
    {
        "name": "PeopleHub GmbH",
        "kind": RecipientKind.PROCESSOR,
        "country": "DE",
        "contact": "datenschutz@peoplehub.example",
        "contract_link": "https://docs.lumen-health.example/contracts/peoplehub-dpa.pdf",
    },
    {
        "name": "DataLake Co GmbH",
        "kind": RecipientKind.PROCESSOR,
        "country": "DE",
        "contact": "privacy@datalake.example",
        "contract_link": "https://docs.lumen-health.example/contracts/datalake-dpa.pdf",
    },
    {
        # incomplete: a processor without a contract link of its own.
        "name": "WellWork Occupational Health",
        "kind": RecipientKind.PROCESSOR,
        "country": "IE",
        "contact": "clinic@wellwork.example",
        "contract_link": "",
    },
    {
        # incomplete: a US processor no transfer is recorded for.
        "name": "SendPost Mailing Inc.",
        "kind": RecipientKind.PROCESSOR,
        "country": "US",
        "contact": "legal@sendpost.example",
        "contract_link": "https://docs.lumen-health.example/contracts/sendpost-dpa.pdf",
    },
    {
        "name": "Revenue Commissioners",
        "kind": RecipientKind.PUBLIC_AUTHORITY,
        "country": "IE",
        "contact": "Revenue, Dublin Castle, Dublin 2",
    },
    {
        "name": "National Vetting Bureau",
        "kind": RecipientKind.PUBLIC_AUTHORITY,
        "country": "IE",
        "contact": "vetting@garda.example",
    },
    {
        "name": "Harbour Pension Trustees",
        "kind": RecipientKind.THIRD_PARTY,
        "country": "IE",
        "contact": "trustees@harbourpensions.example",
    },
    {
        "name": "External auditors",
        "kind": RecipientKind.THIRD_PARTY,
        "country": "IE",
        "contact": "audit@auditors.example",
    },
)

_SECURITY = (
    "Single sign-on with MFA; role-based and just-in-time access through jitportal; "
    "encryption in transit (TLS 1.2+) and at rest (AES-256); access logging; quarterly "
    "access reviews; processor security assessed before contract."
)
_RETENTION_POLICY = "https://intranet.lumen-health.example/policies/retention-and-erasure"
_RIGHTS = "Access, rectification, erasure, restriction, objection, portability where it applies."


def _activities(today: date) -> tuple[dict[str, Any], ...]:
    last = today - timedelta(days=90)
    nxt = today + timedelta(days=275)
    return (
        {
            "name": "Customer account management",
            "reference": "PA-001",
            "business_function": "Customer service",
            "owner": "approver",
            "purposes": "Opening and running customer accounts, delivering the contracted "
            "services, recording accessibility and medical needs customers tell us about.",
            "lawful_basis": LawfulBasis.CONTRACT,
            "art9_condition": Art9Condition.A,
            "data_subjects": ("Customers",),
            "assets": (("CRM", "Customers"),),
            "recipients": ("External auditors",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "6 years after the contract ends (limitation period), "
            "then anonymised.",
            "security_measures": _SECURITY,
            "rights_available": _RIGHTS,
            "source_of_data": "The customer.",
            "dpia_required": DpiaRequired.NO,
            "dpia_status": DpiaStatus.NOT_APPLICABLE,
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            "name": "Customer support",
            "reference": "PA-002",
            "business_function": "Customer service",
            "owner": "approver",
            "purposes": "Answering customers' questions and complaints by email, chat and phone.",
            "lawful_basis": LawfulBasis.CONTRACT,
            "data_subjects": ("Customers",),
            "assets": (
                ("CRM", "Support tickets"),
                ("Support desk", "Support conversations"),
                ("Support desk", "Call recordings"),
            ),
            "recipients": ("HelpDeskly Inc.",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Tickets 2 years after closing; call recordings 90 days.",
            "security_measures": _SECURITY,
            "rights_available": _RIGHTS,
            "source_of_data": "The customer.",
            "dpia_required": DpiaRequired.NO,
            "last_reviewed_on": last,
            "next_review_on": nxt,
            "transfers": (
                {
                    "recipient": "HelpDeskly Inc.",
                    "country": "US",
                    "mechanism": TransferMechanism.SCCS,
                    "safeguard_link": "https://docs.lumen-health.example/transfers/helpdeskly-sccs.pdf",
                    "description": "Module 2 SCCs (controller to processor) with a transfer "
                    "impact assessment; HelpDeskly is not DPF-certified.",
                },
            ),
        },
        {
            "name": "Payroll",
            "reference": "PA-003",
            "business_function": "Finance",
            "owner": "approver2",
            "purposes": "Paying salaries, deducting tax and social insurance, pension contributions.",
            "lawful_basis": LawfulBasis.LEGAL_OBLIGATION,
            "data_subjects": ("Employees", "Former employees"),
            "assets": (("Payroll", "Payroll records"), ("Payroll", "Salary bank details")),
            "recipients": (
                "PayRight Payroll AG",
                "Revenue Commissioners",
                "Harbour Pension Trustees",
            ),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "6 years after the end of the tax year (Taxes "
            "Consolidation Act 1997, s. 886).",
            "security_measures": _SECURITY,
            "rights_available": "Access, rectification; erasure and objection do not apply "
            "(legal obligation).",
            "source_of_data": "The employee; HR system.",
            "dpia_required": DpiaRequired.NO,
            "last_reviewed_on": last,
            "next_review_on": nxt,
            "transfers": (
                {
                    "recipient": "PayRight Payroll AG",
                    "country": "CH",
                    "mechanism": TransferMechanism.ADEQUACY,
                    "description": "Switzerland: Commission adequacy decision 2000/518/EC.",
                },
            ),
        },
        {
            "name": "Sickness absence and occupational health",
            "reference": "PA-004",
            "business_function": "People team",
            "owner": "approver2",
            "purposes": "Managing sickness absence, sick pay and occupational health referrals.",
            "lawful_basis": LawfulBasis.LEGAL_OBLIGATION,
            "art9_condition": Art9Condition.H,
            # UK organisations (JITPORTAL_ROPA_UK): DPA 2018 s. 10 and Sch. 1.
            "dpa2018_schedule1_condition": Dpa2018Schedule1Condition.P2,
            "data_subjects": ("Employees",),
            "assets": (("HR system", "Sickness absence and occupational health"),),
            "recipients": ("WellWork Occupational Health", "PeopleHub GmbH"),
            "processor_contract_link": "",  # incomplete: WellWork has no contract link
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Duration of employment plus 6 years.",
            "security_measures": _SECURITY + " Health data visible to the People team leads only.",
            "rights_available": _RIGHTS,
            "source_of_data": "The employee, their doctor, the occupational health provider.",
            "dpia_required": DpiaRequired.YES,
            "dpia_status": DpiaStatus.COMPLETED,
            "dpia_link": "https://docs.lumen-health.example/dpia/occupational-health.pdf",
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            "name": "Building access with fingerprint readers",
            "reference": "PA-005",
            "business_function": "Facilities and security",
            "owner": "dpo",
            "purposes": "Controlling entry to the server room with fingerprint readers; "
            "badges remain available to anyone who does not consent.",
            "lawful_basis": LawfulBasis.LEGITIMATE_INTERESTS,
            "legitimate_interests": "Keeping unauthorised people out of the server room "
            "that holds patients' data.",
            "lia_link": "https://docs.lumen-health.example/lia/server-room-access.pdf",
            "art9_condition": Art9Condition.A,
            "consent_record_link": "https://docs.lumen-health.example/consent/biometrics/",
            "data_subjects": ("Employees",),
            "assets": (
                ("Building access control", "Fingerprint templates"),
                ("Building access control", "Badge holders"),
            ),
            "no_recipients": True,
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Template deleted within 7 days of access being withdrawn.",
            "security_measures": _SECURITY + " Templates stay on the reader, never exported.",
            "rights_available": _RIGHTS + " Consent can be withdrawn at any time.",
            "source_of_data": "The employee.",
            "dpia_required": DpiaRequired.YES,
            "dpia_status": DpiaStatus.IN_PROGRESS,
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            "name": "Pre-employment criminal record checks",
            "reference": "PA-006",
            "business_function": "People team",
            "owner": "dpo",
            "purposes": "Vetting candidates for roles with access to children and vulnerable "
            "patients.",
            "lawful_basis": LawfulBasis.LEGAL_OBLIGATION,
            "dpa2018_schedule1_condition": Dpa2018Schedule1Condition.P18,
            "art10_authority": "National Vetting Bureau (Children and Vulnerable Persons) "
            "Acts 2012 to 2016",
            "data_subjects": ("Job applicants",),
            "assets": (("HR system", "Criminal record checks"),),
            "recipients": ("National Vetting Bureau",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Disclosure destroyed 12 months after the hiring "
            "decision; the fact of vetting kept for the employment.",
            "security_measures": _SECURITY + " Disclosures readable by the DPO and HR lead only.",
            "rights_available": _RIGHTS,
            "source_of_data": "The candidate; the National Vetting Bureau.",
            "dpia_required": DpiaRequired.YES,
            "dpia_status": DpiaStatus.COMPLETED,
            "dpia_link": "https://docs.lumen-health.example/dpia/vetting.pdf",
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            "name": "Recruitment",
            "reference": "PA-007",
            "business_function": "People team",
            "owner": "approver2",
            "purposes": "Assessing applications and hiring.",
            "lawful_basis": LawfulBasis.CONTRACT,
            "data_subjects": ("Job applicants",),
            "assets": (("HR system", "Recruitment candidates"),),
            "recipients": ("PeopleHub GmbH",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Unsuccessful candidates: 12 months after the decision.",
            "security_measures": _SECURITY,
            "rights_available": _RIGHTS,
            "source_of_data": "The candidate; referees.",
            "dpia_required": DpiaRequired.NO,
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            # incomplete: no consent record link, no retention schedule.
            "name": "Diversity and equal opportunities monitoring",
            "reference": "PA-008",
            "business_function": "People team",
            "owner": "approver2",
            "purposes": "Measuring the diversity of applicants and staff to find and fix "
            "unfair barriers.",
            "lawful_basis": LawfulBasis.CONSENT,
            "art9_condition": Art9Condition.A,
            "data_subjects": ("Employees", "Job applicants"),
            "assets": (("HR system", "Diversity monitoring"),),
            "no_recipients": True,
            "security_measures": _SECURITY + " Reported in aggregate only.",
            "dpia_required": DpiaRequired.YES,
            "dpia_status": DpiaStatus.NOT_STARTED,
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            # incomplete: a US mailing processor with no transfer recorded.
            "name": "Email newsletter",
            "reference": "PA-009",
            "business_function": "Marketing",
            "owner": "approver",
            "purposes": "Sending the monthly newsletter to people who asked for it.",
            "lawful_basis": LawfulBasis.CONSENT,
            "consent_record_link": "https://docs.lumen-health.example/consent/newsletter/",
            "data_subjects": ("Newsletter subscribers",),
            "assets": (("Website", "Newsletter subscribers"), ("CRM", "Marketing preferences")),
            "recipients": ("SendPost Mailing Inc.",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Until the subscriber unsubscribes, then 30 days.",
            "security_measures": _SECURITY,
            "rights_available": _RIGHTS + " Unsubscribe link in every email.",
            "source_of_data": "The subscriber (double opt-in).",
            "dpia_required": DpiaRequired.NO,
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            # incomplete: no next review date (so it is also "review due").
            "name": "Website analytics",
            "reference": "PA-010",
            "business_function": "Marketing",
            "owner": "approver",
            "purposes": "Measuring how the website is used to improve it.",
            "lawful_basis": LawfulBasis.LEGITIMATE_INTERESTS,
            "legitimate_interests": "Understanding which pages help visitors; no advertising "
            "profiles.",
            "data_subjects": ("Website visitors",),
            "assets": (
                ("Data warehouse", "Website analytics events"),
                ("Website", "Web server logs"),
            ),
            "recipients": ("DataLake Co GmbH",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Raw events 13 months; aggregates kept.",
            "security_measures": _SECURITY + " IP addresses truncated before storage.",
            "rights_available": _RIGHTS,
            "source_of_data": "Visitors' browsers (cookies set only after consent).",
            "dpia_required": DpiaRequired.NO,
        },
        {
            "name": "CCTV of the premises",
            "reference": "PA-011",
            "business_function": "Facilities and security",
            "owner": "approver",
            "purposes": "Security of people and property at the office entrances and car park.",
            "lawful_basis": LawfulBasis.LEGITIMATE_INTERESTS,
            "legitimate_interests": "Preventing and investigating theft and intrusion.",
            "data_subjects": ("Employees", "Visitors to premises"),
            "assets": (("Building access control", "CCTV footage"),),
            "no_recipients": True,
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "30 days, longer only for footage of an incident.",
            "security_measures": _SECURITY + " Viewing logged; recorder in a locked room.",
            "rights_available": _RIGHTS,
            "source_of_data": "Cameras.",
            "dpia_required": DpiaRequired.NO,
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
        {
            # incomplete: a processor activity without the controller acted for.
            "name": "Payroll services for Lumen Clinics Ltd",
            "reference": "PA-012",
            "business_function": "Finance",
            "owner": "approver2",
            "role": OrganisationRole.PROCESSOR,
            "purposes": "Running payroll for our sister company on its instructions.",
            "data_subjects": ("Employees",),
            "assets": (("Payroll", "Payroll records"),),
            "recipients": ("PayRight Payroll AG",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "As instructed by the controller.",
            "security_measures": _SECURITY,
            "last_reviewed_on": last,
            "next_review_on": nxt,
            "transfers": (
                {
                    "recipient": "PayRight Payroll AG",
                    "country": "CH",
                    "mechanism": TransferMechanism.ADEQUACY,
                    "description": "Switzerland: Commission adequacy decision 2000/518/EC.",
                },
            ),
        },
        {
            "name": "Training and development",
            "reference": "PA-013",
            "business_function": "People team",
            "owner": "approver2",
            "purposes": "Recording mandatory and optional training.",
            "lawful_basis": LawfulBasis.LEGITIMATE_INTERESTS,
            "legitimate_interests": "Keeping staff qualified and proving mandatory training.",
            "data_subjects": ("Employees",),
            "assets": (("HR system", "Training records"),),
            "recipients": ("PeopleHub GmbH",),
            "retention_policy_link": _RETENTION_POLICY,
            "retention_description": "Duration of employment plus 2 years.",
            "security_measures": _SECURITY,
            "rights_available": _RIGHTS,
            "source_of_data": "The employee; trainers.",
            "dpia_required": DpiaRequired.NO,
            "last_reviewed_on": last,
            "next_review_on": nxt,
        },
    )


_M2M_KEYS = ("data_subjects", "assets", "recipients", "transfers")


class _Loader:
    def __init__(self, stdout: TextIO | OutputWrapper | None) -> None:
        self.stdout = stdout
        self.created: dict[str, int] = {}

    def log(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message + "\n")

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    def save_new(self, obj: Any, kind: str) -> Any:
        obj.full_clean()
        obj.save()
        self.count(kind)
        return obj

    # -- users and groups -------------------------------------------------------------------
    def users(self) -> dict[str, Any]:
        user_model = get_user_model()
        users: dict[str, Any] = {}
        for spec in DEMO_USERS:
            user = user_model.objects.filter(username=spec.username).first()
            if user is None:
                user = user_model(
                    username=spec.username,
                    email=spec.email,
                    first_name=spec.first_name,
                    last_name=spec.last_name,
                    is_staff=spec.is_staff,
                    is_superuser=spec.is_superuser,
                )
                user.set_password(spec.password)
                self.save_new(user, "users")
            elif not user.check_password(spec.password):
                # The table printed at the end must be true.
                user.set_password(spec.password)
                user.save(update_fields=["password"])
                self.log(f"  reset the demo password of {spec.username}")
            for name in spec.groups:
                group = Group.objects.get(name=name)
                if not user.groups.filter(pk=group.pk).exists():
                    user.groups.add(group)
            users[spec.username] = user
        for name, members in STEWARD_GROUPS.items():
            group, created = Group.objects.get_or_create(name=name)
            if created:
                self.count("groups")
                group.user_set.add(*(users[m] for m in members))
        return users

    # -- register ---------------------------------------------------------------------------
    def organisation(self) -> None:
        if not Organisation.objects.exists():
            self.save_new(Organisation(**ORGANISATION), "organisation")

    def systems(self, users: dict[str, Any]) -> dict[str, System]:
        systems = {}
        for spec in SYSTEMS:
            system = System.objects.filter(name=spec["name"]).first()
            if system is None:
                fields = {k: v for k, v in spec.items() if k != "owner"}
                system = self.save_new(System(**fields, owner=users[spec["owner"]]), "systems")
            systems[system.name] = system
        return systems

    def assets(
        self, users: dict[str, Any], systems: dict[str, System]
    ) -> dict[tuple[str, str], DataAsset]:
        categories = {c.slug: c for c in DataCategory.objects.all()}
        subjects = {s.name: s for s in DataSubjectCategory.objects.all()}
        assets = {}
        for spec in ASSETS:
            system = systems[spec["system"]]
            asset = DataAsset.objects.filter(system=system, name=spec["name"]).first()
            if asset is None:
                governed = None
                if spec.get("governed"):
                    app_label, model = spec["governed"].split(".")
                    if django_apps.is_installed(f"apps.{app_label}"):
                        governed = ContentType.objects.filter(
                            app_label=app_label, model=model
                        ).first()
                asset = self.save_new(
                    DataAsset(
                        system=system,
                        name=spec["name"],
                        description=spec["description"],
                        sensitivity=spec["sensitivity"],
                        owner=users[spec["owner"]],
                        steward_group=Group.objects.get(name=spec["steward"]),
                        record_count_estimate=spec["records"],
                        governed_model=governed,
                    ),
                    "assets",
                )
                asset.categories.set([categories[slug] for slug in spec["categories"]])
                asset.subjects.set([subjects[name] for name in spec["subjects"]])
            assets[(system.name, asset.name)] = asset
        return assets

    def recipients(self) -> dict[str, Recipient]:
        recipients = {}
        for spec in RECIPIENTS:
            recipient = Recipient.objects.filter(name=spec["name"]).first()
            if recipient is None:
                recipient = self.save_new(Recipient(**spec), "recipients")
            recipients[recipient.name] = recipient
        return recipients

    def activities(
        self,
        users: dict[str, Any],
        assets: dict[tuple[str, str], DataAsset],
        recipients: dict[str, Recipient],
    ) -> None:
        subjects = {s.name: s for s in DataSubjectCategory.objects.all()}
        for spec in _activities(timezone.localdate()):
            if ProcessingActivity.objects.filter(name=spec["name"]).exists():
                continue
            fields = {k: v for k, v in spec.items() if k not in (*_M2M_KEYS, "owner")}
            activity = ProcessingActivity(**fields, owner=users[spec["owner"]])
            linked_subjects = [subjects[n] for n in spec.get("data_subjects", ())]
            linked_assets = [assets[key] for key in spec.get("assets", ())]
            linked_recipients = [recipients[n] for n in spec.get("recipients", ())]
            # The same rules the admin applies, with the links about to be saved.
            processing_activity_validate(
                activity=activity,
                data_categories=[],
                assets=linked_assets,
                recipients=linked_recipients,
            )
            self.save_new(activity, "activities")
            activity.data_subjects.set(linked_subjects)
            activity.assets.set(linked_assets)
            activity.recipients.set(linked_recipients)
            for transfer in spec.get("transfers", ()):
                self.save_new(
                    Transfer(
                        activity=activity,
                        recipient=recipients[transfer["recipient"]],
                        country=transfer["country"],
                        mechanism=transfer["mechanism"],
                        safeguard_link=transfer.get("safeguard_link", ""),
                        description=transfer.get("description", ""),
                    ),
                    "transfers",
                )


def load_inventory_demo(*, stdout: TextIO | OutputWrapper | None = None) -> dict[str, Any]:
    """Create the demo organisation's users and register; return what was created.

    Idempotent: rows are found by natural key and only created when missing.
    """
    loader = _Loader(stdout)
    with transaction.atomic():
        seeded = taxonomy_seed(category_model=DataCategory, subject_model=DataSubjectCategory)
        for kind, n in seeded.items():
            if n:
                loader.created[f"taxonomy {kind}"] = n
        users = loader.users()
        loader.organisation()
        systems = loader.systems(users)
        assets = loader.assets(users, systems)
        recipients = loader.recipients()
        loader.activities(users, assets, recipients)
        if loader.created:
            audit_event_record(
                action="inventory.demo.loaded",
                actor_label="system:command",
                reason="Demo organisation loaded (manage.py load_demo).",
                data={"created": loader.created},
            )
    if loader.created:
        for kind, n in sorted(loader.created.items()):
            loader.log(f"  inventory: created {n} {kind}")
    else:
        loader.log("  inventory: already loaded, nothing to do")
    return {
        "created": loader.created,
        "users": [u.username for u in DEMO_USERS],
        "systems": System.objects.count(),
        "assets": DataAsset.objects.count(),
        "activities": ProcessingActivity.objects.count(),
    }
