"""The default GDPR taxonomy: data categories and data subject categories.

Seeded by migration 0003 (and again, harmlessly, by the demo loader). The seeding function
takes the model classes as arguments so a migration can pass its historical models; it
imports no model itself and must keep working with only the fields it uses here.

Names of the Art. 9(1) and Art. 10 categories follow docs/reference/gdpr/special_categories.csv.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORDINARY = "ordinary"
SPECIAL = "special"
CRIMINAL = "criminal"


@dataclass(frozen=True)
class CategorySeed:
    slug: str
    name: str
    kind: str = ORDINARY
    description: str = ""
    examples: str = ""
    children: tuple[CategorySeed, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SubjectSeed:
    name: str
    description: str = ""
    is_vulnerable: bool = False


def _c(slug: str, name: str, examples: str = "", *, kind: str = ORDINARY, description: str = ""):
    return CategorySeed(slug=slug, name=name, kind=kind, examples=examples, description=description)


DEFAULT_CATEGORIES: tuple[CategorySeed, ...] = (
    CategorySeed(
        "identity",
        "Identity",
        description="Who the person is.",
        examples="name, date of birth, gender",
        children=(
            _c("identity-name", "Name", "full name, maiden name, title"),
            _c("identity-date-of-birth", "Date of birth and age", "date of birth, age band"),
            _c("identity-gender", "Gender", "gender, pronouns (not sex life)"),
            _c("identity-nationality", "Nationality and citizenship", "nationality, residence"),
            _c(
                "identity-marital-status", "Marital status and family", "marital status, dependants"
            ),
        ),
    ),
    CategorySeed(
        "contact",
        "Contact details",
        description="How the person is reached.",
        examples="postal address, email address, telephone number",
        children=(
            _c("contact-postal-address", "Postal address", "home address, billing address"),
            _c("contact-email", "Email address", "personal or work email"),
            _c("contact-telephone", "Telephone number", "mobile, landline"),
            _c("contact-emergency", "Emergency contacts", "next of kin name and phone"),
        ),
    ),
    CategorySeed(
        "account",
        "Account and authentication",
        description="How the person signs in to our services.",
        examples="username, password hash, MFA devices",
        children=(
            _c("account-identifiers", "Account identifiers", "username, customer number"),
            _c("account-credentials", "Authentication credentials", "password hashes, MFA secrets"),
            _c("account-access-logs", "Access and sign-in logs", "sign-in times, failed logins"),
        ),
    ),
    CategorySeed(
        "financial",
        "Financial and payment",
        description="Money the person pays or is paid.",
        examples="bank details, card data, invoices",
        children=(
            _c("financial-bank-account", "Bank account details", "IBAN, sort code"),
            _c("financial-payment-card", "Payment card data", "card token, last four digits"),
            _c("financial-transactions", "Transactions and invoices", "orders, refunds"),
            _c("financial-credit", "Credit and solvency", "credit score, debts"),
        ),
    ),
    CategorySeed(
        "location",
        "Location",
        description="Where the person is or has been.",
        examples="GPS position, travel history",
        children=(
            _c("location-precise", "Precise location", "GPS coordinates, delivery tracking"),
            _c("location-approximate", "Approximate location", "city from IP address, time zone"),
        ),
    ),
    CategorySeed(
        "online-identifiers",
        "Device and online identifiers",
        description="Identifiers of the person's devices and browsers (Recital 30).",
        examples="IP address, cookie IDs, device IDs",
        children=(
            _c("online-ip-address", "IP address", "IPv4/IPv6 addresses in logs"),
            _c("online-cookie-ids", "Cookie and advertising identifiers", "cookie IDs, ad IDs"),
            _c("online-device-ids", "Device identifiers", "IMEI, device fingerprint"),
        ),
    ),
    CategorySeed(
        "behaviour",
        "Behaviour and usage",
        description="What the person does with our services.",
        examples="browsing, purchases, preferences",
        children=(
            _c("behaviour-usage", "Website and app usage", "pages visited, clicks, sessions"),
            _c("behaviour-purchases", "Purchase history", "products bought, baskets"),
            _c("behaviour-preferences", "Preferences and interests", "marketing preferences"),
            _c("behaviour-profiling", "Profiles and inferences", "segments, scores, predictions"),
        ),
    ),
    CategorySeed(
        "employment",
        "Employment",
        description="The person's work for us or others.",
        examples="job title, salary, appraisals",
        children=(
            _c("employment-role", "Job title and role", "job title, department, manager"),
            _c("employment-pay", "Salary and benefits", "salary, bonus, pension"),
            _c("employment-performance", "Performance and conduct", "appraisals, disciplinary"),
            _c("employment-history", "Employment history", "CV, previous employers, references"),
            _c("employment-absence", "Absence and leave (non-medical)", "holidays, parental leave"),
            _c("employment-right-to-work", "Right-to-work checks", "visa status, work permit"),
        ),
    ),
    CategorySeed(
        "education",
        "Education and training",
        description="What the person has learned.",
        examples="degrees, certificates, training records",
        children=(
            _c("education-qualifications", "Qualifications", "degrees, certificates"),
            _c("education-training", "Training records", "courses attended, test results"),
        ),
    ),
    CategorySeed(
        "government-ids",
        "Government identifiers",
        description="Numbers issued by a state (Art. 87 allows national conditions).",
        examples="national ID, passport, tax number",
        children=(
            _c("gov-national-id", "National identification number", "PPSN, BSN, NIR"),
            _c("gov-passport", "Passport and identity card", "passport number, ID card scan"),
            _c("gov-tax-id", "Tax identification number", "TIN, VAT number of a sole trader"),
            _c("gov-social-security", "Social security number", "NI number, SSN"),
            _c("gov-driving-licence", "Driving licence", "licence number, categories"),
        ),
    ),
    CategorySeed(
        "communications",
        "Communications content",
        description="What the person wrote or said to us.",
        examples="emails, chat messages, support tickets",
        children=(
            _c("communications-messages", "Emails and messages", "email bodies, chat"),
            _c("communications-tickets", "Support requests", "ticket text, attachments"),
            _c("communications-metadata", "Communication metadata", "sender, time, recipients"),
        ),
    ),
    CategorySeed(
        "images-recordings",
        "Images and recordings",
        description="Pictures and recordings of the person (biometric only when processed to identify).",
        examples="photos, CCTV, call recordings",
        children=(
            _c("images-photographs", "Photographs", "ID badge photo, profile picture"),
            _c("images-cctv", "CCTV footage", "video of premises"),
            _c("images-voice", "Voice recordings", "recorded phone calls"),
            _c("images-video", "Video recordings", "recorded meetings, interviews"),
        ),
    ),
    CategorySeed(
        "special",
        "Special category data (Art. 9)",
        kind=SPECIAL,
        description="Art. 9(1): processing is prohibited unless an Art. 9(2) condition applies.",
        children=(
            _c("racial-ethnic-origin", "Racial or ethnic origin", kind=SPECIAL),
            _c("political-opinions", "Political opinions", kind=SPECIAL),
            _c("religious-beliefs", "Religious beliefs", kind=SPECIAL),
            _c("philosophical-beliefs", "Philosophical beliefs", kind=SPECIAL),
            _c("trade-union-membership", "Trade-union membership", kind=SPECIAL),
            _c("genetic-data", "Genetic data", "DNA test results", kind=SPECIAL),
            _c(
                "biometric-identification",
                "Biometric data for uniquely identifying a person",
                "fingerprint templates, face templates",
                kind=SPECIAL,
            ),
            _c(
                "health",
                "Data concerning health",
                "sickness absence, occupational health, disabilities",
                kind=SPECIAL,
            ),
            _c("sex-life", "Data concerning sex life", kind=SPECIAL),
            _c("sexual-orientation", "Sexual orientation", kind=SPECIAL),
        ),
    ),
    CategorySeed(
        "criminal",
        "Criminal convictions and offences",
        kind=CRIMINAL,
        description="Art. 10: only under official authority or when authorised by law.",
        examples="criminal record certificates, allegations, sentences",
        children=(
            _c(
                "criminal-record-checks",
                "Criminal record checks",
                "basic disclosure, police certificate",
                kind=CRIMINAL,
            ),
            _c(
                "criminal-allegations",
                "Alleged offences and proceedings",
                "fraud investigations, court cases",
                kind=CRIMINAL,
            ),
        ),
    ),
)

DEFAULT_SUBJECTS: tuple[SubjectSeed, ...] = (
    SubjectSeed("Customers", "People who buy or use our products and services."),
    SubjectSeed("Prospective customers", "Leads and people who asked for information."),
    SubjectSeed(
        "Employees",
        "Current staff. An imbalance of power (EDPB DPIA criterion 7).",
        is_vulnerable=True,
    ),
    SubjectSeed("Former employees", "Leavers whose records we still keep."),
    SubjectSeed("Job applicants", "Candidates in recruitment."),
    SubjectSeed(
        "Contractors and temporary staff", "People working for us without a contract of employment."
    ),
    SubjectSeed("Patients", "People receiving care or health services.", is_vulnerable=True),
    SubjectSeed("Minors", "Children under 18.", is_vulnerable=True),
    SubjectSeed("Suppliers' contacts", "Named people at our suppliers."),
    SubjectSeed("Business partners' contacts", "Named people at partners and resellers."),
    SubjectSeed("Website visitors", "People browsing our websites and apps."),
    SubjectSeed("Newsletter subscribers", "People who signed up for marketing."),
    SubjectSeed("Visitors to premises", "Guests, couriers and others entering our buildings."),
    SubjectSeed("Shareholders", "Holders of shares and their representatives."),
)


def iter_category_seeds() -> list[tuple[CategorySeed, CategorySeed | None]]:
    """Every seed with its parent seed, parents first."""
    out: list[tuple[CategorySeed, CategorySeed | None]] = []
    for parent in DEFAULT_CATEGORIES:
        out.append((parent, None))
        out.extend((child, parent) for child in parent.children)
    return out


def taxonomy_seed(*, category_model: Any, subject_model: Any) -> dict[str, int]:
    """Create the default categories and subject categories that are not there yet.

    Idempotent and respectful of the DPO's edits: a category is found by slug (or, failing
    that, by name, in case the DPO created it by hand) and is never changed once it exists;
    only missing rows are created. Returns how many rows of each were created.
    """
    created = {"categories": 0, "subjects": 0}
    by_slug: dict[str, Any] = {}
    for seed, parent_seed in iter_category_seeds():
        obj = (
            category_model.objects.filter(slug=seed.slug).first()
            or category_model.objects.filter(name__iexact=seed.name).first()
        )
        if obj is None:
            obj = category_model.objects.create(
                slug=seed.slug,
                name=seed.name,
                kind=seed.kind,
                description=seed.description,
                examples=seed.examples,
                parent=by_slug.get(parent_seed.slug) if parent_seed else None,
                is_builtin=True,
            )
            created["categories"] += 1
        by_slug[seed.slug] = obj
    for subject in DEFAULT_SUBJECTS:
        if not subject_model.objects.filter(name__iexact=subject.name).exists():
            subject_model.objects.create(
                name=subject.name,
                description=subject.description,
                is_vulnerable=subject.is_vulnerable,
                is_builtin=True,
            )
            created["subjects"] += 1
    return created
