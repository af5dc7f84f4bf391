"""Showing a one-time secret to its holder, once (docs/connectors.md, "Credentials")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_event_record

from ..models import Provisioning, ProvisioningState
from ..sealing import unseal

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def provisioning_secret_reveal(*, provisioning_id: int, grant_id: int, actor: User) -> str:
    """Return the one-time secret of a provisioning of grant ``grant_id`` (the grant whose page
    or endpoint asked: an account of another grant is refused, so a secret is never used up
    where it cannot be shown) to the grant's holder and wipe it.

    Only the holder, only while the grant is live and the account provisioned, only once:
    the sealed secret is emptied in the same transaction as the ``connectors.secret.shown``
    audit event (which names the account, never the secret). The caller (the page) has
    already asked for a fresh second factor where MFA applies (issue rule: revealing
    connection credentials). Raises PermissionDenied for anyone else, ValidationError when
    there is nothing to show; nothing is written then.
    """
    with transaction.atomic(durable=True):
        row = (
            Provisioning.objects.select_for_update(of=("self",))
            .select_related("grant", "target")
            .filter(pk=provisioning_id)
            .first()
        )
        if row is None or row.grant.user_id != actor.pk or not actor.is_active:
            raise PermissionDenied(_("These credentials are not yours."))
        if row.grant_id != grant_id:
            raise ValidationError(_("That account is not one of this access's accounts."))
        if not row.grant.is_live() or row.remove_requested_at is not None:
            raise ValidationError(_("This access has ended; its credentials are gone."))
        if row.state != ProvisioningState.PROVISIONED:
            raise ValidationError(_("The account is not ready yet; try again in a moment."))
        if row.secret_sealed is None:
            raise ValidationError(
                _(
                    "The password was shown once already and is not kept. Ask an admin to "
                    "set the account up again if you lost it."
                )
            )
        secret = unseal(row.secret_sealed)
        now = timezone.now()
        row.secret_sealed = None
        row.secret_shown_at = now
        row.save(update_fields=["secret_sealed", "secret_shown_at"])
        if secret is None:
            raise ValidationError(
                _("The password can no longer be read (the key changed). Ask an admin.")
            )
        audit_event_record(
            action="connectors.secret.shown",
            actor=actor,
            target=row,
            data={"grant": row.grant_id, "target": row.target_id, "account": row.account},
        )
    return secret
