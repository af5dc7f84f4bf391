"""The holder's page of a grant's accounts in other systems, where a one-time password is
shown once (docs/connectors.md, "Credentials")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.access.models import Grant
from apps.signin.mfa import fresh_factor_redirect
from jitportal.inputs import parse_id

from .selectors import holder_accounts
from .services import provisioning_secret_reveal


class AuthedRequest(HttpRequest):
    user: User


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def grant_accounts(request: AuthedRequest, pk: int) -> HttpResponse:
    """GET: the accounts of one's own grant, their state and a button per password not yet
    shown. POST ``provisioning=<id>``: that password, once, after a fresh second factor where
    MFA applies; the response is not stored by any cache. The password is in no log, email,
    audit event or export."""
    grant = Grant.objects.filter(pk=pk, user_id=request.user.pk).first()
    if grant is None:
        raise Http404
    shown: dict[int, str] = {}
    errors: list[str] = []
    if request.method == "POST":
        if stale := fresh_factor_redirect(request, back=request.path):
            return stale
        row_id = parse_id(request.POST.get("provisioning"))
        if row_id is None:
            errors.append(_("Choose the account whose password to show."))
        else:
            try:
                shown[row_id] = provisioning_secret_reveal(
                    provisioning_id=row_id, grant_id=grant.pk, actor=request.user
                )
            except (ValidationError, PermissionDenied) as exc:
                errors.extend(getattr(exc, "messages", None) or [str(exc) or _("Refused.")])
    accounts = holder_accounts(grant_ids=[grant.pk], user=request.user).get(grant.pk, [])
    response = render(
        request,
        "connectors/grant_accounts.html",
        {"grant": grant, "accounts": accounts, "shown": shown, "errors": errors},
    )
    response["Cache-Control"] = "no-store"
    return response
