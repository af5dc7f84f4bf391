"""Load the demo organisation: groups, users, the data inventory and each app's demo data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from apps.demo.access import load_access_demo
from apps.demo.connectors import load_connectors_demo
from apps.demo.crm import load_crm_demo
from apps.demo.inventory import DEMO_USERS, load_inventory_demo
from apps.demo.retention import load_retention_demo
from apps.inventory.roles import groups_sync

# Loaded after the inventory, in this order: the access demo's roles cover the CRM's assets,
# and the retention demo's rules and hold need the CRM's records. Each is
# ``(*, stdout=None) -> dict`` and idempotent.
LOADERS: tuple[tuple[str, Callable[..., dict[str, Any]]], ...] = (
    ("crm", load_crm_demo),
    ("access", load_access_demo),
    # When PostgreSQL answers: the Customers asset bound to a demo target database.
    ("connectors", load_connectors_demo),
    ("retention", load_retention_demo),
)


class Command(BaseCommand):
    help = (
        "Load the demo organisation (users with known passwords, the data inventory and the "
        "other apps' demo data). Idempotent. Refuses to run when DEBUG is off unless --force: "
        "never run it on a production database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (a demo or CI host only; it creates users "
            "with published passwords).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "load_demo creates users with published passwords and refuses to run with "
                "DEBUG off. If this really is a demo database, run it again with --force; "
                "never on production."
            )
        if not settings.DEBUG:
            self.stderr.write(
                self.style.WARNING("DEBUG is off: loading the demo anyway (--force).")
            )

        self.stdout.write(self.style.MIGRATE_HEADING("Groups"))
        for name, count in groups_sync().items():
            self.stdout.write(f"  {name}: {count} permissions")

        self.stdout.write(self.style.MIGRATE_HEADING("Data inventory"))
        results: dict[str, Any] = {"inventory": load_inventory_demo(stdout=self.stdout)}
        for label, loader in LOADERS:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{label} demo"))
            results[label] = loader(stdout=self.stdout)

        base = settings.PORTAL_BASE_URL.rstrip("/")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  Portal: {base}/")
        self.stdout.write(f"  Admin:  {base}{reverse('admin:index')}")
        self.stdout.write("")
        self.stdout.write(self._logins_table())
        return None

    @staticmethod
    def _logins_table() -> str:
        rows = [("username", "password", "groups")]
        for user in DEMO_USERS:
            groups = ", ".join(user.groups) or ("superuser" if user.is_superuser else "-")
            if user.is_superuser and user.groups:
                groups += ", superuser"
            rows.append((user.username, user.password, groups))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = []
        for n, row in enumerate(rows):
            lines.append(
                "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
            )
            if n == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        return "\n".join(lines)
