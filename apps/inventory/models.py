"""The DPO's register: what personal data the organisation holds, where, and why."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from .gdpr import (
    EEA_COUNTRIES,
    Art9Condition,
    CategoryKind,
    Dpa2018Schedule1Condition,
    DpiaRequired,
    DpiaStatus,
    LawfulBasis,
    OrganisationRole,
    RecipientKind,
    Sensitivity,
    TransferMechanism,
)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True


class Organisation(TimeStamped):
    """The controller: the Art. 30(1)(a) block at the top of every record of processing."""

    legal_name = models.CharField(max_length=200, verbose_name=_("legal name"))
    address = models.TextField(blank=True, verbose_name=_("address"))
    email = models.EmailField(blank=True, verbose_name=_("email"))
    telephone = models.CharField(max_length=50, blank=True, verbose_name=_("telephone"))
    # Art. 30(1)(a) and Art. 37(7): the DPO's contact details, each on its own line as the
    # UK ICO controller template's header rows have them.
    dpo_name = models.CharField(_("DPO name"), max_length=200, blank=True)
    dpo_address = models.TextField(_("DPO address"), blank=True)
    dpo_email = models.EmailField(_("DPO email"), blank=True)
    dpo_telephone = models.CharField(_("DPO telephone"), max_length=50, blank=True)
    # Art. 27: the representative of a controller established outside the EU (or the UK).
    representative_name = models.CharField(
        _("EU/UK representative"),
        max_length=200,
        blank=True,
        help_text=_("Art. 27, where applicable."),
    )
    representative_address = models.TextField(_("Representative address"), blank=True)
    representative_email = models.EmailField(_("Representative email"), blank=True)
    representative_telephone = models.CharField(
        _("Representative telephone"), max_length=50, blank=True
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.legal_name

    @classmethod
    def current(cls) -> Organisation | None:
        return cls.objects.order_by("pk").first()


class DataCategoryQuerySet(models.QuerySet["DataCategory"]):
    def special(self) -> DataCategoryQuerySet:
        """Art. 9 and Art. 10 categories: the ones that need more care."""
        return self.exclude(kind=CategoryKind.ORDINARY)


class DataCategory(TimeStamped):
    name = models.CharField(max_length=120, unique=True, verbose_name=_("name"))
    slug = models.SlugField(max_length=120, unique=True, verbose_name=_("slug"))
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    kind = models.CharField(
        max_length=10,
        choices=CategoryKind.choices,
        default=CategoryKind.ORDINARY,
        verbose_name=_("kind"),
    )
    description = models.TextField(blank=True, verbose_name=_("description"))
    examples = models.CharField(max_length=255, blank=True, verbose_name=_("examples"))
    is_builtin = models.BooleanField(
        default=False,
        editable=False,
        help_text=_("Seeded with the default taxonomy."),
        verbose_name=_("is builtin"),
    )

    objects = DataCategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("data category")
        ordering = ["name"]
        verbose_name_plural = _("data categories")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})" if self.is_special else self.name

    @property
    def is_special(self) -> bool:
        return self.kind != CategoryKind.ORDINARY

    def clean(self) -> None:
        parent = self.parent if self.parent_id is not None else None
        if parent is not None:
            if parent.pk == self.pk:
                raise ValidationError({"parent": gettext("A category cannot be its own parent.")})
            ancestor: DataCategory | None = parent
            while ancestor is not None:
                if ancestor.pk == self.pk:
                    raise ValidationError({"parent": gettext("That parent would make a loop.")})
                ancestor = ancestor.parent
            if parent.is_special and self.kind != parent.kind:
                raise ValidationError(
                    {
                        "kind": gettext(
                            "A sub-category of “%(parent)s” is %(kind)s data too; choose that kind."
                        )
                        % {"parent": parent.name, "kind": parent.get_kind_display()}
                    }
                )


class DataSubjectCategory(TimeStamped):
    name = models.CharField(max_length=120, unique=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    is_vulnerable = models.BooleanField(
        _("vulnerable / children"),
        default=False,
        help_text=_(
            "Children, patients, employees or others in an imbalance of power (EDPB DPIA criterion)."
        ),
    )
    is_builtin = models.BooleanField(
        default=False,
        editable=False,
        help_text=_("Seeded with the default taxonomy."),
        verbose_name=_("is builtin"),
    )

    class Meta:
        verbose_name = _("data subject category")
        ordering = ["name"]
        verbose_name_plural = _("data subject categories")

    def __str__(self) -> str:
        return self.name


class System(TimeStamped):
    """Where data lives: an application, database, SaaS tenant, file share."""

    name = models.CharField(max_length=150, unique=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    owner_team = models.CharField(max_length=150, blank=True, verbose_name=_("owner team"))
    hosting_location = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("e.g. 'AWS eu-central-1', 'on-premises, Leeds'."),
        verbose_name=_("hosting location"),
    )
    hosting_country = CountryField(blank=True, verbose_name=_("hosting country"))
    vendor = models.CharField(max_length=150, blank=True, verbose_name=_("vendor"))

    class Meta:
        verbose_name = _("system")
        verbose_name_plural = _("systems")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def outside_eea(self) -> bool:
        return bool(self.hosting_country) and self.hosting_country.code not in EEA_COUNTRIES


class DataAssetQuerySet(models.QuerySet["DataAsset"]):
    def special(self) -> DataAssetQuerySet:
        return self.filter(is_special=True)

    def current(self) -> DataAssetQuerySet:
        """Assets not archived: the ones offered for new requests and in reports of the
        current state (archived ones stay for registers and history)."""
        return self.filter(archived_at__isnull=True)


class DataAsset(TimeStamped):
    """A set of personal data in one system that access and retention are decided on."""

    name = models.CharField(max_length=150, verbose_name=_("name"))
    system = models.ForeignKey(
        System, on_delete=models.PROTECT, related_name="assets", verbose_name=_("system")
    )
    description = models.TextField(blank=True, verbose_name=_("description"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_assets",
        help_text=_("Accountable for the asset; may approve access to it."),
        verbose_name=_("owner"),
    )
    steward_group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stewarded_assets",
        help_text=_("Members may approve access to it."),
        verbose_name=_("steward group"),
    )
    categories = models.ManyToManyField(
        DataCategory, related_name="assets", blank=True, verbose_name=_("categories")
    )
    subjects = models.ManyToManyField(
        DataSubjectCategory, related_name="assets", blank=True, verbose_name=_("subjects")
    )
    sensitivity = models.CharField(
        max_length=12,
        choices=Sensitivity.choices,
        default=Sensitivity.CONFIDENTIAL,
        verbose_name=_("sensitivity"),
    )
    record_count_estimate = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name=_("record count estimate")
    )
    # Derived from the categories (signals.py); never set by hand.
    is_special = models.BooleanField(
        _("special category"),
        default=False,
        editable=False,
        help_text=_("Holds Art. 9 or Art. 10 data; derived from its categories."),
    )
    governed_model = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The Django model whose rows this asset is, if the portal governs them."),
        verbose_name=_("governed model"),
    )
    # Set by the archive action (services.data_asset_archive), never by hand. An asset that
    # evidence refers to is archived, not deleted (docs/inventory.md, "Archiving").
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text=_(
            "When the asset was archived: no longer offered for new requests or shown "
            "in reports of the current state; kept for registers and history."
        ),
        verbose_name=_("archived at"),
    )

    objects = DataAssetQuerySet.as_manager()

    class Meta:
        verbose_name = _("data asset")
        verbose_name_plural = _("data assets")
        ordering = ["system__name", "name"]
        # Object permissions on the personal data an asset holds; only live grants give them.
        permissions = [
            ("view_data", _("Can view the personal data of the asset")),
            ("change_data", _("Can change the personal data of the asset")),
            ("export_data", _("Can export the personal data of the asset")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["system", "name"], name="asset_unique_name_per_system")
        ]

    def __str__(self) -> str:
        return f"{self.system.name} / {self.name}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Recipient(TimeStamped):
    name = models.CharField(max_length=150, unique=True, verbose_name=_("name"))
    kind = models.CharField(max_length=20, choices=RecipientKind.choices, verbose_name=_("kind"))
    country = CountryField(blank=True, verbose_name=_("country"))
    is_international_organisation = models.BooleanField(
        default=False, verbose_name=_("is international organisation")
    )
    contact = models.CharField(max_length=255, blank=True, verbose_name=_("contact"))
    contract_link = models.URLField(
        _("Art. 28 contract link"),
        blank=True,
        help_text=_("For processors: the data processing agreement."),
    )

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ProcessingActivityQuerySet(models.QuerySet["ProcessingActivity"]):
    def review_due(self, on=None) -> ProcessingActivityQuerySet:
        day = on or timezone.localdate()
        return self.filter(
            models.Q(next_review_on__lte=day) | models.Q(next_review_on__isnull=True)
        )

    # Art. 30 completeness, all in SQL (rules in completeness.py).
    def missing_any(self) -> ProcessingActivityQuerySet:
        from .completeness import missing_any_condition

        return self.filter(missing_any_condition())

    def complete(self) -> ProcessingActivityQuerySet:
        from .completeness import missing_any_condition

        return self.exclude(missing_any_condition())

    def missing(self, key: str) -> ProcessingActivityQuerySet:
        from .completeness import missing_condition

        return self.filter(missing_condition(key))

    def with_missing_count(self) -> ProcessingActivityQuerySet:
        from .completeness import missing_count_expression

        return self.annotate(missing_count=missing_count_expression())

    def with_special_data(self) -> ProcessingActivityQuerySet:
        """Annotate ``processes_special``: Art. 9/10 data on the activity or its assets."""
        from .completeness import has_restricted

        return self.annotate(
            processes_special=models.ExpressionWrapper(
                has_restricted(), output_field=models.BooleanField()
            )
        )

    def special_data(self) -> ProcessingActivityQuerySet:
        from .completeness import has_restricted

        return self.filter(has_restricted())

    def as_controller(self) -> ProcessingActivityQuerySet:
        return self.exclude(role=OrganisationRole.PROCESSOR)

    def as_processor(self) -> ProcessingActivityQuerySet:
        return self.filter(role=OrganisationRole.PROCESSOR)


class ProcessingActivity(TimeStamped):
    """One entry of the Art. 30 record of processing activities."""

    name = models.CharField(max_length=200, unique=True, verbose_name=_("name"))
    reference = models.CharField(
        max_length=30,
        blank=True,
        help_text=_("Your register number, e.g. PA-012."),
        verbose_name=_("reference"),
    )
    business_function = models.CharField(
        max_length=150, blank=True, verbose_name=_("business function")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("owner"),
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    # Art. 30(1)(a) / 30(2)(a)
    role = models.CharField(
        max_length=20,
        choices=OrganisationRole.choices,
        default=OrganisationRole.CONTROLLER,
        verbose_name=_("role"),
    )
    joint_controller = models.TextField(_("joint controller name and contact"), blank=True)
    controller_on_behalf = models.TextField(
        _("controller(s) acted for"),
        blank=True,
        help_text=_("Processor activities (Art. 30(2)(a)): each controller's name and contact."),
    )
    # Art. 30(1)(b)
    purposes = models.TextField(blank=True, verbose_name=_("purposes"))
    lawful_basis = models.CharField(
        max_length=10, choices=LawfulBasis.choices, blank=True, verbose_name=_("lawful basis")
    )
    legitimate_interests = models.TextField(
        blank=True,
        help_text=_("Required when the lawful basis is 6(1)(f)."),
        verbose_name=_("legitimate interests"),
    )
    lia_link = models.URLField(_("legitimate interests assessment link"), blank=True)
    art9_condition = models.CharField(
        _("Art. 9(2) condition"),
        max_length=10,
        choices=Art9Condition.choices,
        blank=True,
        help_text=_("Required when special-category data is processed."),
    )
    art10_authority = models.CharField(
        _("Art. 10 authority"),
        max_length=255,
        blank=True,
        help_text=_("The legal authority for criminal-offence data, when processed."),
    )
    consent_record_link = models.URLField(blank=True, verbose_name=_("consent record link"))
    # Art. 30(1)(c)
    data_subjects = models.ManyToManyField(
        DataSubjectCategory, related_name="activities", blank=True, verbose_name=_("data subjects")
    )
    data_categories = models.ManyToManyField(
        DataCategory, related_name="activities", blank=True, verbose_name=_("data categories")
    )
    assets = models.ManyToManyField(
        DataAsset, related_name="activities", blank=True, verbose_name=_("assets")
    )
    # Art. 30(1)(d)
    recipients = models.ManyToManyField(
        Recipient, related_name="activities", blank=True, verbose_name=_("recipients")
    )
    no_recipients = models.BooleanField(
        _("no recipients"),
        default=False,
        help_text=_(
            "Tick when the data is disclosed to nobody outside the organisation, so an "
            "empty recipient list is a decision and not a gap in the record."
        ),
    )
    processor_contract_link = models.URLField(_("link to processor contract"), blank=True)
    # Art. 30(1)(f)
    retention_description = models.TextField(
        _("retention schedule"),
        blank=True,
        help_text=_(
            "Envisaged erasure time limits; the retention rules of the assets are shown beside it."
        ),
    )
    retention_policy_link = models.URLField(
        _("link to retention and erasure policy"),
        blank=True,
        help_text=_("The organisation's retention and erasure policy document (UK ICO template)."),
    )
    # UK only: the Data Protection Act 2018 s. 10 and Schedule 1 condition that special-category
    # and criminal-offence data need besides the Art. 9(2) or Art. 10 basis.
    dpa2018_schedule1_condition = models.CharField(
        _("DPA 2018 Schedule 1 condition"),
        max_length=10,
        choices=Dpa2018Schedule1Condition.choices,
        blank=True,
        help_text=_(
            "UK organisations: required for special-category data processed under "
            "Art. 9(2)(b), (g), (h), (i) or (j), and for criminal-offence data."
        ),
    )
    # Art. 30(1)(g)
    security_measures = models.TextField(
        _("technical and organisational security measures"), blank=True
    )
    # Regulators' template columns
    rights_available = models.TextField(blank=True, verbose_name=_("rights available"))
    automated_decision_making = models.BooleanField(
        _("automated decision-making / profiling"), default=False
    )
    automated_decision_details = models.TextField(
        blank=True, verbose_name=_("automated decision details")
    )
    source_of_data = models.TextField(blank=True, verbose_name=_("source of data"))
    data_location = models.TextField(
        blank=True,
        help_text=_("Other locations than the systems of the assets, if any."),
        verbose_name=_("data location"),
    )
    dpia_required = models.CharField(
        _("DPIA required"), max_length=5, choices=DpiaRequired.choices, blank=True
    )
    dpia_status = models.CharField(
        _("DPIA progress"), max_length=20, choices=DpiaStatus.choices, blank=True
    )
    dpia_link = models.URLField(_("DPIA link"), blank=True)
    breach_occurred = models.BooleanField(_("personal data breach occurred"), default=False)
    breach_record_link = models.URLField(blank=True, verbose_name=_("breach record link"))
    last_reviewed_on = models.DateField(null=True, blank=True, verbose_name=_("last reviewed on"))
    next_review_on = models.DateField(null=True, blank=True, verbose_name=_("next review on"))

    objects = ProcessingActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("processing activity")
        ordering = ["name"]
        verbose_name_plural = _("processing activities")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The rules that need the many-to-many values (special data, recipients) run in the
        # admin form and in services through apps.inventory.validation; model.clean cannot
        # see unsaved many-to-many values.
        from .validation import processing_activity_field_errors, processing_activity_values

        errors = processing_activity_field_errors(processing_activity_values(self))
        if errors:
            raise ValidationError(errors)


class Transfer(TimeStamped):
    """A transfer to a third country or international organisation (Art. 30(1)(e))."""

    activity = models.ForeignKey(
        ProcessingActivity,
        on_delete=models.CASCADE,
        related_name="transfers",
        verbose_name=_("activity"),
    )
    recipient = models.ForeignKey(
        Recipient,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="transfers",
        verbose_name=_("recipient"),
    )
    country = CountryField(blank=True, verbose_name=_("country"))
    international_organisation = models.CharField(
        max_length=200, blank=True, verbose_name=_("international organisation")
    )
    mechanism = models.CharField(
        max_length=20, choices=TransferMechanism.choices, blank=True, verbose_name=_("mechanism")
    )
    safeguard_link = models.URLField(_("safeguard document link"), blank=True)
    description = models.TextField(blank=True, verbose_name=_("description"))

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["activity", "country"]

    def __str__(self) -> str:
        where = self.international_organisation or (self.country.name if self.country else "?")
        return f"{self.activity} → {where}"

    def clean(self) -> None:
        from .validation import transfer_errors

        errors = transfer_errors(
            country=self.country.code if self.country else "",
            international_organisation=self.international_organisation,
            mechanism=self.mechanism,
            description=self.description,
        )
        if errors:
            raise ValidationError(errors)

    @property
    def outside_eea(self) -> bool:
        if self.international_organisation:
            return True
        return bool(self.country) and self.country.code not in EEA_COUNTRIES
