"""Create the portal's groups and give each exactly the permissions the apps declare."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from apps.inventory.roles import ALL_GROUPS, groups_sync


class Command(BaseCommand):
    help = (
        "Create the DPO, Approvers, Staff and Auditors groups and set their permissions to "
        "what each app declares (AppConfig.group_permissions). Safe to run at any time; "
        "migrate runs it too."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--quiet-perms",
            action="store_true",
            help="Print only the number of permissions per group, not the list.",
        )

    def handle(self, *args, **options):
        try:
            counts = groups_sync()
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        names = [*ALL_GROUPS, *sorted(set(counts) - set(ALL_GROUPS))]
        groups = {
            g.name: g
            for g in Group.objects.filter(name__in=names).prefetch_related(
                "permissions__content_type"
            )
        }
        for name in names:
            group = groups[name]
            perms = sorted(
                f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
            )
            members = group.user_set.count()
            self.stdout.write(
                self.style.MIGRATE_HEADING(f"{name}: {len(perms)} permissions, {members} member(s)")
            )
            if not perms:
                self.stdout.write("  (no permissions: no admin access)")
            elif not options["quiet_perms"]:
                for dotted in perms:
                    self.stdout.write(f"  {dotted}")
        self.stdout.write(self.style.SUCCESS(f"Groups in sync: {', '.join(names)}"))
