"""Integration tokens: hashed at rest, scoped, expiring, revocable, owned by a user."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# A token's status (the code ``status`` returns) as a reader sees it, in their language.
STATUS_LABELS = {
    "active": pgettext_lazy("integration token", "active"),
    "revoked": pgettext_lazy("integration token", "revoked"),
    "expired": pgettext_lazy("integration token", "expired"),
}


class IntegrationToken(models.Model):
    """One machine credential. The secret itself is never stored, only its SHA-256 digest.

    Shape of a token: ``jpt_<prefix>_<secret>``; ``prefix`` (10 hex characters) is kept in the
    clear to find the row, ``digest`` is the SHA-256 of the whole token.
    """

    name = models.CharField(max_length=100, help_text=_("What uses it, e.g. 'SIEM (Splunk)'."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="integration_tokens",
        help_text=_("The token acts for this user and never does more than they may."),
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text=_("Scope names, e.g. ['audit']."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("integration token")
        verbose_name_plural = _("integration tokens")
        ordering = ["-created_at"]
        # Tokens are revoked, never deleted: the trail refers to them.
        default_permissions = ("add", "change", "view")

    def __str__(self) -> str:
        return f"{self.name} (jpt_{self.prefix}_…)"

    def status(self, now=None) -> str:
        """'revoked', 'expired' or 'active' at ``now`` (default: the clock)."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"

    def status_label(self, now=None) -> str:
        """``status`` in the active language."""
        return str(STATUS_LABELS[self.status(now)])
