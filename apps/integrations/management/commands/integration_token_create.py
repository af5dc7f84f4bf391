"""Issue an integration token from the command line; the token is printed once."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.integrations.services import TokenInputError, integration_token_create
from jitportal.formats import datetime_display


class Command(BaseCommand):
    help = (
        "Issue an integration token: --owner USERNAME --name NAME --scope audit [--scope …] "
        "[--days 90]. Prints the token once on standard output; only its digest is kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", required=True, help="username the token acts for")
        parser.add_argument("--name", required=True, help="what uses it, e.g. 'SIEM'")
        parser.add_argument(
            "--scope", action="append", required=True, dest="scopes", help="repeatable"
        )
        parser.add_argument("--days", type=int, default=90, help="lifetime in days")

    def handle(self, *args, owner: str, name: str, scopes: list[str], days: int, **options):
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(_("No user named “%(name)s”.") % {"name": owner})
        if not 1 <= days <= 36500:
            raise CommandError(_("--days must be between 1 and 36500."))
        try:
            token, raw = integration_token_create(
                owner=user,
                name=name,
                scopes=scopes,
                expires_at=timezone.now() + timedelta(days=days),
            )
        except TokenInputError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"Token {token.name!r} for {owner}, scopes {', '.join(token.scopes)}, expires "
            f"{datetime_display(token.expires_at)}. It is shown only now:"
        )
        self.stdout.write(raw)
