"""The django-guardian mirror as a connector (docs/connectors.md, "django-guardian mirror").

The access app keeps its mirror of grants (``apps.access.services.mirror``): its services
write the object-permission rows when a grant becomes live and remove them when it ends,
and mark the grant ``mirrored``. This adapter puts the same rows behind the connector
interface, so a "guardian" target shows them as provisioning rows and its drift is checked
like any other target's.

The mirror is never written twice for a grant: both sides lock the grant row and go by its
``mirrored`` flag. Provision writes the rows only if the grant is not mirrored yet;
deprovision removes them only if it still is (whichever runs first does it, the other
finds nothing to do). Rows only mirror grants: access is decided from grant times at the
moment of use (docs/architecture.md, invariant 1), so a left-over row gives nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermission

from apps.access.models import Grant
from apps.access.policies import ACTIONS
from apps.access.services import mirror_add, mirror_remove
from apps.inventory.models import DataAsset
from jitportal.inputs import parse_id

from ..base import Connector, GrantContext, ObservedAccount, Problem, ProvisionResult
from ..models import Provisioning, ProvisioningState
from ..registry import register

#: A user holding rows no live grant gives: ``<prefix>u<id>``.
_STRAY = re.compile(r"^u(\d+)$")

Right = tuple[int, int, str]  # (user id, asset id, action)


def _perm_actions() -> dict[int, str]:
    """Permission id → action of the data permissions the mirror writes."""
    ct = ContentType.objects.get_for_model(DataAsset)
    return {
        pk: codename.removesuffix("_data")
        for pk, codename in Permission.objects.filter(
            content_type=ct, codename__in=[f"{a}_data" for a in ACTIONS]
        ).values_list("pk", "codename")
    }


def _rows() -> set[Right]:
    """Every data-permission row guardian holds, as rights."""
    actions = _perm_actions()
    ct = ContentType.objects.get_for_model(DataAsset)
    return {
        (user_id, asset_id, actions[perm_id])
        for user_id, object_pk, perm_id in UserObjectPermission.objects.filter(
            content_type=ct, permission_id__in=list(actions)
        ).values_list("user_id", "object_pk", "permission_id")
        if (asset_id := parse_id(str(object_pk))) is not None
    }


def _rights(grants: Sequence[Grant]) -> dict[int, set[Right]]:
    """grant id → the rights it gives."""
    out: dict[int, set[Right]] = defaultdict(set)
    links = Grant.assets.through.objects.filter(grant_id__in=[g.pk for g in grants])
    by_id = {g.pk: g for g in grants}
    for grant_id, asset_id in links.values_list("grant_id", "dataasset_id"):
        grant = by_id[grant_id]
        out[grant_id].update(
            (grant.user_id, asset_id, a) for a in ACTIONS if getattr(grant, f"can_{a}")
        )
    return out


@register
class GuardianMirrorConnector(Connector):
    kind = "guardian"
    label = _("django-guardian object permissions (this portal)")
    needs_url = False
    account_label = _("Object permission")
    guarantees = _(
        "The django-guardian object-permission rows that mirror the grant, in this portal's "
        "own database, for code that asks guardian. They are written and removed by the "
        "access services and the reconcile (each grant once, whichever acts first). They "
        "decide nothing: the portal checks the grant's window at the moment of use, so "
        "access ends on time even while a row is left over."
    )

    def provision(self, context: GrantContext) -> ProvisionResult:
        with transaction.atomic():
            grant = Grant.objects.select_for_update().get(pk=context.grant_id)
            if not grant.mirrored:
                mirror_add(grant_ids=[grant.pk])
                Grant.objects.filter(pk=grant.pk).update(mirrored=True)
        return ProvisionResult(account=context.account, secret=None)

    def deprovision(self, accounts: Sequence[str]) -> None:
        names = sorted({a for a in accounts if a.startswith(self.prefix)})
        if not names:
            return
        now = timezone.now()
        grant_ids = list(
            Provisioning.objects.filter(target=self.target, account__in=names).values_list(
                "grant_id", flat=True
            )
        )
        with transaction.atomic():
            ended = [
                g.pk
                for g in Grant.objects.select_for_update().filter(pk__in=grant_ids, mirrored=True)
                if not g.is_live(now)
            ]
            if ended:
                mirror_remove(grant_ids=ended, now=now)
                Grant.objects.filter(pk__in=ended).update(mirrored=False)
            strays = [int(m.group(1)) for n in names if (m := _STRAY.match(n[len(self.prefix) :]))]
            if strays:
                self._remove_unexplained(strays, now=now)

    def _remove_unexplained(self, user_ids: list[int], *, now) -> None:
        """Delete the rows of ``user_ids`` that no live grant gives."""
        live = _rights(list(Grant.objects.live(now).filter(user_id__in=user_ids)))
        given = {r for rights in live.values() for r in rights}
        actions = _perm_actions()
        by_action = {a: pk for pk, a in actions.items()}
        stale = [r for r in _rows() if r[0] in user_ids and r not in given]
        if not stale:
            return
        condition = Q()
        for user_id, asset_id, action in stale:
            condition |= Q(
                user_id=user_id, object_pk=str(asset_id), permission_id=by_action[action]
            )
        UserObjectPermission.objects.filter(
            condition, content_type=ContentType.objects.get_for_model(DataAsset)
        ).delete()

    def observe(self) -> list[ObservedAccount]:
        """Open provisionings whose rights are all mirrored, under their accounts; every
        user holding rows no live grant gives, as ``<prefix>u<id>``."""
        rows = _rows()
        now = timezone.now()
        open_rows = list(
            Provisioning.objects.filter(target=self.target)
            .exclude(state=ProvisioningState.DEPROVISIONED)
            .values_list("account", "grant_id")
        )
        grants = list(Grant.objects.filter(pk__in=[g for _a, g in open_rows]))
        rights = _rights(grants)
        seen, explained = [], set()
        for account, gid in sorted(open_rows):
            if rights.get(gid) and rights[gid] <= rows:
                held = frozenset(f"asset{a}:{act}" for _u, a, act in rights[gid])
                seen.append(ObservedAccount(account, held))
                explained |= rights[gid]
        holders = {user_id for user_id, _a, _act in rows}
        live = _rights(list(Grant.objects.live(now).filter(user_id__in=holders)))
        given = {r for rs in live.values() for r in rs}
        stale: dict[int, set[str]] = defaultdict(set)
        for user_id, asset_id, action in rows - given - explained:
            stale[user_id].add(f"asset{asset_id}:{action}")
        seen.extend(
            ObservedAccount(f"{self.prefix}u{user_id}", frozenset(held))
            for user_id, held in sorted(stale.items())
        )
        return seen

    def check_binding(self, binding) -> list[Problem]:
        return []
