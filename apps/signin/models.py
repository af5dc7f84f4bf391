"""What single sign-on keeps: the mapping of the identity provider's groups to the portal's
groups (editable in the admin, added to ``OIDC_GROUP_MAP`` from settings) and the link of an
account to the provider's subject."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# Targets a mapping may never name: privileges that no group of the identity provider
# may confer (the portal's groups imply ``is_staff`` by themselves, SIGNIN_ADMIN_GROUPS).
RESERVED_TARGETS = frozenset({"superuser", "is_superuser", "is_staff", "staff_status"})


def mapping_target_problem(name: str) -> str | None:
    """Why ``name`` may not be the target of a group mapping, or None."""
    if name.strip().casefold() in RESERVED_TARGETS:
        return str(
            _(
                "No identity-provider group may make anyone a superuser or give admin access "
                "beyond what the portal's groups imply; map it to a portal group instead."
            )
        )
    return None


class GroupMapping(models.Model):
    """One identity-provider group (as named in the groups claim) mapped to one portal group.

    Members of ``idp_group`` are put in ``group`` at each sign-in, and taken out of it when
    they are no longer members; portal groups no mapping names are never touched.
    """

    idp_group = models.CharField(
        _("identity-provider group"),
        max_length=255,
        help_text=_("The group's name exactly as the identity provider sends it."),
    )
    group = models.ForeignKey(
        Group,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("portal group"),
    )

    class Meta:
        verbose_name = _("group mapping")
        verbose_name_plural = _("group mappings")
        ordering = ["idp_group", "group__name"]
        constraints = [
            models.UniqueConstraint(fields=["idp_group", "group"], name="signin_mapping_unique")
        ]

    def __str__(self) -> str:
        return f"{self.idp_group} → {self.group.name}"

    def clean(self) -> None:
        if self.group_id is not None:
            problem = mapping_target_problem(self.group.name)
            if problem:
                raise ValidationError({"group": problem})


class OidcIdentity(models.Model):
    """The account an identity provider's subject (``iss``, ``sub``) signs in as.

    Created on the first single sign-on; later sign-ins find the account through it, whatever
    the provider then says the email or username is (OpenID Connect Core 1.0 section 5.7:
    only ``iss`` and ``sub`` together identify an end-user).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="oidc_identities",
        verbose_name=_("user"),
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="signin_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject}"
