"""Django groups: membership of a group of this portal's user table for the grant's window,
for applications that share the portal's users (docs/connectors.md, "Django groups").

A binding names the group in its options (``{"group": "CRM readers"}``). The "account" of
a grant is the name the portal chose for its provisioning row; the membership it stands for
is (the grant's holder, each bound group). The connector runs in the portal's own database,
inside the transaction of the provisioning service that calls it, so the membership and the
provisioning state commit together.

Two grants of one person can need the same membership: a removal keeps a membership that
another open provisioning of this target still needs (the last one to end wins, as the
django-guardian mirror does: docs/architecture.md, invariant 5).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.access.models import Grant
from apps.inventory.roles import ALL_GROUPS

from ..base import (
    Connector,
    ConnectorError,
    GrantContext,
    ObservedAccount,
    Problem,
    ProvisionResult,
)
from ..models import Provisioning, ProvisioningState, TargetBinding
from ..registry import register

#: The name of a member of a bound group whom no open provisioning explains: ``<prefix>u<id>``.
_STRAY = re.compile(r"^u(\d+)$")


def _portal_app_labels() -> set[str]:
    """The labels of every app installed in this portal: a bound group holding any of their
    permissions would give rights here, which only grants and the portal's own roles may
    give (the apps that share the users have their own models, not installed here)."""
    return {config.label for config in django_apps.get_app_configs()}


def groups_giving_portal_rights(group_ids: set[int]) -> list[str]:
    """The names of the groups among ``group_ids`` that give rights in this portal: one of
    its own groups, or one holding a permission of an installed app. Checked when a binding
    is saved and again at every provision, since a group's permissions can change later."""
    found = Group.objects.filter(pk__in=group_ids).filter(
        Q(name__in=ALL_GROUPS) | Q(permissions__content_type__app_label__in=_portal_app_labels())
    )
    return sorted(set(found.values_list("name", flat=True)))


def binding_group(binding: TargetBinding) -> str | None:
    """The group a binding names, or None when its options name none."""
    name = (binding.options or {}).get("group") if isinstance(binding.options, dict) else None
    return name if isinstance(name, str) and name.strip() else None


@register
class DjangoGroupsConnector(Connector):
    kind = "django_groups"
    label = _("Django groups (this portal's users)")
    needs_url = False
    account_label = _("Group membership")
    guarantees = _(
        "Membership of the bound group, in this portal's own database, for the grant's "
        "window: added when the grant is activated, removed when it ends (by the task queued "
        "for the exact end, the reconcile as the backstop). Group membership has no end of "
        "its own: an application that reads the group sees the member until the worker "
        "removes it. A membership another open grant of the same person still needs is kept."
    )

    # -- helpers ---------------------------------------------------------------------------
    def _groups_of_bindings(self, bindings: Sequence[TargetBinding]) -> dict[int, set[int]]:
        """asset id → ids of the groups its bindings name (unknown names are an error)."""
        names = {b.asset_id: binding_group(b) for b in bindings}
        wanted = {n for n in names.values() if n}
        found = dict(Group.objects.filter(name__in=wanted).values_list("name", "pk"))
        missing = sorted(wanted - set(found))
        if missing:
            raise ConnectorError(f"no group named {', '.join(missing)}", retryable=False)
        return {asset: {found[n]} for asset, n in names.items() if n}

    def _needs(self, rows: Sequence[tuple[int, int, str]]) -> dict[str, tuple[int, set[int]]]:
        """account → (user id, group ids) for provisioning rows (id, grant id, account)."""
        grants = dict(
            Grant.objects.filter(pk__in={g for _p, g, _a in rows}).values_list("pk", "user_id")
        )
        links = Grant.assets.through.objects.filter(grant_id__in=list(grants)).values_list(
            "grant_id", "dataasset_id"
        )
        assets_of: dict[int, set[int]] = defaultdict(set)
        for grant_id, asset_id in links:
            assets_of[grant_id].add(asset_id)
        bound = {
            b.asset_id: name
            for b in TargetBinding.objects.filter(
                target=self.target, asset_id__in={a for s in assets_of.values() for a in s}
            )
            if (name := binding_group(b))
        }
        ids = dict(Group.objects.filter(name__in=set(bound.values())).values_list("name", "pk"))
        groups = {asset: ids[name] for asset, name in bound.items() if name in ids}
        return {
            account: (
                grants[grant_id],
                {groups[a] for a in assets_of[grant_id] if a in groups},
            )
            for _pk, grant_id, account in rows
            if grant_id in grants
        }

    def _open_rows(self, *, exclude: Sequence[str] = ()) -> list[tuple[int, int, str]]:
        """Provisionings of this target whose grant is live and whose removal nobody asked
        for (pending or failed ones included: they are about to need their membership)."""
        now = timezone.now()
        return list(
            Provisioning.objects.filter(target=self.target, remove_requested_at__isnull=True)
            .exclude(state=ProvisioningState.DEPROVISIONED)
            .exclude(account__in=list(exclude))
            .filter(
                grant__starts_at__lte=now, grant__ends_at__gt=now, grant__revoked_at__isnull=True
            )
            .values_list("pk", "grant_id", "account")
        )

    def _bound_group_ids(self) -> set[int]:
        names = {
            n for b in TargetBinding.objects.filter(target=self.target) if (n := binding_group(b))
        }
        return set(Group.objects.filter(name__in=names).values_list("pk", flat=True))

    # -- interface -------------------------------------------------------------------------
    def provision(self, context: GrantContext) -> ProvisionResult:
        groups = self._groups_of_bindings(context.bindings)
        wanted = {g for ids in groups.values() for g in ids}
        if risky := groups_giving_portal_rights(wanted):
            raise ConnectorError(
                f"group {', '.join(risky)} gives rights in this portal (its own groups or "
                "permissions of its apps); only grants and the portal's roles may give those",
                retryable=False,
            )
        user = get_user_model().objects.filter(pk=context.user_id, is_active=True).first()
        if user is None:
            raise ConnectorError(f"user #{context.user_id} is not active", retryable=False)
        user.groups.add(*sorted(wanted))
        return ProvisionResult(account=context.account, secret=None)

    def deprovision(self, accounts: Sequence[str]) -> None:
        names = sorted({a for a in accounts if a.startswith(self.prefix)})
        if not names:
            return
        rows = list(
            Provisioning.objects.filter(target=self.target, account__in=names).values_list(
                "pk", "grant_id", "account"
            )
        )
        drop: set[tuple[int, int]] = {
            (user_id, group) for user_id, groups in self._needs(rows).values() for group in groups
        }
        bound = self._bound_group_ids()
        for name in names:
            stray = _STRAY.match(name[len(self.prefix) :])
            if stray:  # a member no grant explains (observe): every bound group of theirs
                drop.update((int(stray.group(1)), group) for group in bound)
        keep = {
            (user_id, group)
            for user_id, groups in self._needs(self._open_rows(exclude=names)).values()
            for group in groups
        }
        remove = drop - keep
        if not remove:
            return
        condition = Q()
        for user_id, group in remove:
            condition |= Q(user_id=user_id, group_id=group)
        get_user_model().groups.through.objects.filter(condition).delete()

    def observe(self) -> list[ObservedAccount]:
        """The members of the bound groups as accounts: each open provisioning whose holder
        is in all its groups under its own name, every other member as ``<prefix>u<id>``."""
        bound = self._bound_group_ids()
        members: dict[int, set[int]] = defaultdict(set)
        for user_id, group in (
            get_user_model()
            .groups.through.objects.filter(group_id__in=bound)
            .values_list("user_id", "group_id")
        ):
            members[user_id].add(group)
        names = dict(Group.objects.filter(pk__in=bound).values_list("pk", "name"))
        rows = list(
            Provisioning.objects.filter(target=self.target)
            .exclude(state=ProvisioningState.DEPROVISIONED)
            .values_list("pk", "grant_id", "account")
        )
        seen: list[ObservedAccount] = []
        explained: set[tuple[int, int]] = set()
        for account, (user_id, groups) in sorted(self._needs(rows).items()):
            if groups and groups <= members.get(user_id, set()):
                seen.append(ObservedAccount(account, frozenset(names[g] for g in groups)))
                explained.update((user_id, g) for g in groups)
        for user_id, groups in sorted(members.items()):
            rest = {g for g in groups if (user_id, g) not in explained}
            if rest:
                seen.append(
                    ObservedAccount(f"{self.prefix}u{user_id}", frozenset(names[g] for g in rest))
                )
        return seen

    def check_binding(self, binding: TargetBinding) -> list[Problem]:
        name = binding_group(binding)
        if name is None:
            return [Problem("options", gettext('Name the group in the options: {"group": "…"}.'))]
        group = Group.objects.filter(name=name).first()
        if group is None:
            return [Problem("options", gettext("There is no group “%(name)s”.") % {"name": name})]
        if groups_giving_portal_rights({group.pk}):
            return [
                Problem(
                    "options",
                    gettext(
                        "Group “%(name)s” gives rights in this portal; only grants and the "
                        "portal's own roles may give those."
                    )
                    % {"name": name},
                )
            ]
        return []
