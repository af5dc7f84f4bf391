"""The holder's page that shows a one-time password once (docs/connectors.md)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.signin.mfa import fresh_factor_redirect

from .models import Provisioning
from .selectors import connection_facts, holder_state
from .services import provisioning_secret_reveal


class AuthedRequest(HttpRequest):
    user: User


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def secret_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: what will be shown and a button; POST: the password, once, after a fresh second
    factor where MFA applies. Never cached; the password is in no log, email or event."""
    row = (
        Provisioning.objects.select_related("target", "grant")
        .filter(pk=pk, grant__user_id=request.user.pk)
        .first()
    )
    if row is None:
        raise PermissionDenied
    if stale := fresh_factor_redirect(request):
        return stale
    host, port, database = connection_facts(row.target)
    context = {
        "row": row,
        "state": holder_state(row),
        "host": host,
        "port": port,
        "database": database,
        "secret": None,
        "errors": [],
    }
    if request.method == "POST":
        try:
            context["secret"] = provisioning_secret_reveal(provisioning_id=pk, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            context["errors"] = getattr(exc, "messages", None) or [str(exc)]
    response = render(request, "connectors/secret.html", context)
    response["Cache-Control"] = "no-store"
    return response
