"""Targets, bindings and the provisioning state of each grant in each target
(docs/connectors.md).

Secrets never go into these tables: a target names the setting or environment variable that
holds its connection URL; a one-time password is kept encrypted only until its holder has
seen it (``Provisioning.secret_sealed``), then wiped.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.access.models import Grant
from apps.inventory.models import DataAsset

#: What an account name may hold (a prefix, then what the portal adds): lower-case ASCII
#: letters, digits and underscores, safe as an identifier in every target kind.
PREFIX_PATTERN = r"^[a-z][a-z0-9_]{1,15}$"


#: The names a target may read its URL from: made for a target (``CRM_TARGET_URL``), so that
#: no other setting or environment variable of the server (``SECRET_KEY``, ``DATABASE_URL``,
#: ``PATH``) can be read through a target, nor its value reach a page in an error.
URL_SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,86}_TARGET_URL")


prefix_validate = RegexValidator(
    PREFIX_PATTERN,
    _(
        "2 to 16 characters: a lower-case letter, then lower-case letters, digits or "
        "underscores (e.g. “jp_”)."
    ),
    code="bad_prefix",
)


def _same_connection(url: str | None) -> str | None:
    """A connection URL without its credentials and query: two settings holding it reach the
    same server and database (``postgresql://a:x@db:5432/crm`` and ``…//b@db:5432/crm``)."""
    if not url:
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}{parts.path}"


def json_object_validate(value: object) -> None:
    """Options are a JSON object (``{"name": value}``), never a list or a bare value."""
    if not isinstance(value, dict):
        raise ValidationError(
            _('Options are a JSON object, e.g. {"host": "crm-db"}.'), code="not_an_object"
        )


def url_setting_validate(value: str) -> None:
    """Refuse a name that is not ``<NAME>_TARGET_URL`` (upper-case letters, digits, ``_``)."""
    if value and not URL_SETTING_NAME.fullmatch(value):
        raise ValidationError(
            _(
                "Name a setting or environment variable made for this target: upper-case "
                "letters, digits and underscores, ending in _TARGET_URL (e.g. CRM_TARGET_URL)."
            ),
            code="url_setting",
        )


class Target(models.Model):
    """A system's account store the portal acts on."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    kind = models.CharField(
        max_length=30,
        verbose_name=_("kind"),
        help_text=_("Which connector acts on it (docs/connectors.md lists each one)."),
    )
    url_setting = models.CharField(
        max_length=100,
        blank=True,
        validators=[url_setting_validate],
        verbose_name=_("connection URL setting"),
        help_text=_(
            "Name of the Django setting or environment variable holding the connection URL, "
            "ending in _TARGET_URL (e.g. CRM_TARGET_URL); the URL itself is never stored."
        ),
    )
    authoritative = models.BooleanField(
        default=False,
        verbose_name=_("authoritative"),
        help_text=_(
            "On: accounts with the portal's prefix that no live grant needs are removed. "
            "Off: they are only reported."
        ),
    )
    account_prefix = models.CharField(
        max_length=16,
        default="jp_",
        validators=[prefix_validate],
        verbose_name=_("account prefix"),
        help_text=_("Every account the portal makes here starts with it; nothing else does."),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    options = models.JSONField(
        default=dict, blank=True, validators=[json_object_validate], verbose_name=_("options")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """No two targets on one connection (one URL setting, or two settings holding the
        same server and database; the portal's own database for the kinds with none) have
        prefixes one of which starts with the other: each target's drift would take the
        other's accounts for hand-made ones, and an authoritative one would remove them."""
        super().clean()
        prefix = self.account_prefix or ""
        if not re.fullmatch(PREFIX_PATTERN, prefix):
            return  # the field's own validator says why
        here = _same_connection(self.connection_url())
        for other in Target.objects.exclude(pk=self.pk).only(
            "name", "url_setting", "account_prefix"
        ):
            same = other.url_setting == self.url_setting or (
                here is not None and _same_connection(other.connection_url()) == here
            )
            theirs = other.account_prefix
            if same and (prefix.startswith(theirs) or theirs.startswith(prefix)):
                raise ValidationError(
                    {
                        "account_prefix": _(
                            "Target “%(other)s” on the same connection uses the prefix "
                            "“%(prefix)s”: one of the two starts with the other, so each "
                            "would take the other's accounts for its own."
                        )
                        % {"other": other.name, "prefix": theirs}
                    },
                    code="prefix_overlap",
                )

    def connection_url(self) -> str | None:
        """The URL the setting or environment variable ``url_setting`` holds (setting first),
        or None when neither is set."""
        if not self.url_setting or not URL_SETTING_NAME.fullmatch(self.url_setting):
            return None
        value = getattr(settings, self.url_setting, None)
        if value is None:
            value = os.environ.get(self.url_setting)
        return str(value) if value else None


class TargetBinding(models.Model):
    """What a data asset means in a target: the schema and tables (databases) and which of
    the target's privileges ``view``, ``change`` and ``export`` map to."""

    target = models.ForeignKey(
        Target, on_delete=models.PROTECT, related_name="bindings", verbose_name=_("target")
    )
    asset = models.ForeignKey(
        DataAsset,
        on_delete=models.PROTECT,
        related_name="target_bindings",
        verbose_name=_("data asset"),
    )
    schema = models.CharField(max_length=63, blank=True, verbose_name=_("schema"))
    tables = models.JSONField(default=list, blank=True, verbose_name=_("tables"))
    privileges = models.JSONField(
        default=dict,
        blank=True,
        verbose_name=_("privileges"),
        help_text=_(
            'Per action, the target\'s privileges, e.g. {"view": ["SELECT"], '
            '"change": ["INSERT", "UPDATE", "DELETE"], "export": ["SELECT"]}. Empty: the '
            "connector's default."
        ),
    )
    options = models.JSONField(
        default=dict, blank=True, validators=[json_object_validate], verbose_name=_("options")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("target binding")
        verbose_name_plural = _("target bindings")
        ordering = ["target", "asset"]
        constraints = [
            models.UniqueConstraint(fields=["target", "asset"], name="binding_one_per_asset")
        ]

    def __str__(self) -> str:
        return f"{self.asset} → {self.target}"


class ProvisioningState(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROVISIONED = "provisioned", _("Provisioned")
    FAILED = "failed", _("Failed")
    DEPROVISIONED = "deprovisioned", _("Deprovisioned")


class ProvisioningQuerySet(models.QuerySet["Provisioning"]):
    def to_remove(self) -> ProvisioningQuerySet:
        """The portal asked for removal and the target has not confirmed it yet."""
        return self.filter(remove_requested_at__isnull=False).exclude(
            state=ProvisioningState.DEPROVISIONED
        )

    def to_provision(self) -> ProvisioningQuerySet:
        return self.filter(
            remove_requested_at__isnull=True,
            state__in=[ProvisioningState.PENDING, ProvisioningState.FAILED],
        )


class Provisioning(models.Model):
    """One grant's account in one target.

    ``state`` says what the target holds as far as the portal knows; ``remove_requested_at``
    says the portal wants the account gone (the grant ended). ``deprovisioned`` is written
    only after the target confirmed the removal (docs/connectors.md, "Guarantees").
    """

    # No index of their own: the two unique constraints below lead with them. Every index
    # is rewritten when 1,000 accounts are removed at once (bench_deprovision_1000).
    grant = models.ForeignKey(
        Grant,
        on_delete=models.PROTECT,
        related_name="provisionings",
        db_index=False,
        verbose_name=_("grant"),
    )
    target = models.ForeignKey(
        Target,
        on_delete=models.PROTECT,
        related_name="provisionings",
        db_index=False,
        verbose_name=_("target"),
    )
    account = models.CharField(max_length=63, verbose_name=_("account"))
    state = models.CharField(
        max_length=14,
        choices=ProvisioningState.choices,
        default=ProvisioningState.PENDING,
        verbose_name=_("state"),
    )
    tries = models.PositiveIntegerField(default=0, verbose_name=_("tries"))
    error = models.TextField(blank=True, verbose_name=_("last error"))
    last_try_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last try at"))
    next_try_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next try at"))
    alerted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("admins alerted at"))
    provisioned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("provisioned at"))
    remove_requested_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("removal requested at")
    )
    deprovisioned_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("deprovisioned at")
    )
    # The one-time secret, Fernet-encrypted, until its holder has seen it; then empty.
    secret_sealed = models.BinaryField(null=True, blank=True, editable=False)
    secret_shown_at = models.DateTimeField(null=True, blank=True, verbose_name=_("secret shown at"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ProvisioningQuerySet.as_manager()

    class Meta:
        verbose_name = _("provisioning")
        verbose_name_plural = _("provisionings")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["grant", "target"], name="provisioning_one_per_target"),
            models.UniqueConstraint(fields=["target", "account"], name="provisioning_account_once"),
        ]

    def __str__(self) -> str:
        return f"{self.account} @ {self.target_id} (grant #{self.grant_id})"

    @property
    def removal_pending(self) -> bool:
        return (
            self.remove_requested_at is not None and self.state != ProvisioningState.DEPROVISIONED
        )


class DriftKind(models.TextChoices):
    STRAY = "stray", _("Account no live grant needs")
    HAND_MADE = "hand_made", _("Account with the portal's prefix the portal never made")
    MISSING = "missing", _("Account a live grant needs is missing")


class DriftAction(models.TextChoices):
    REMOVED = "removed", _("Removed")
    REPORTED = "reported", _("Reported only")
    REPROVISIONED = "reprovisioned", _("Provisioned again")
    FAILED = "failed", _("Repair failed")


class DriftFinding(models.Model):
    """One difference between what a target holds and what live grants need."""

    target = models.ForeignKey(
        Target, on_delete=models.CASCADE, related_name="drift", verbose_name=_("target")
    )
    kind = models.CharField(max_length=12, choices=DriftKind.choices, verbose_name=_("kind"))
    account = models.CharField(max_length=63, verbose_name=_("account"))
    action = models.CharField(
        max_length=14, choices=DriftAction.choices, verbose_name=_("action taken")
    )
    grant = models.ForeignKey(
        Grant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("grant"),
    )
    found_at = models.DateTimeField(default=timezone.now, verbose_name=_("found at"))

    class Meta:
        verbose_name = _("drift finding")
        verbose_name_plural = _("drift findings")
        ordering = ["-found_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.account}"
