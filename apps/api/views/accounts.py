"""My grant's accounts in other systems (apps/connectors) and their one-time passwords.

The same rules as the holder's page (``/connectors/grants/<id>/accounts/``): only the grant's
holder, the password once, then never again, never in a log or the trail. Showing it needs a
second factor presented within ``MFA_FRESH_MINUTES`` wherever MFA applies (the portal's rule
for revealing connection credentials): a browser session that has one gets the password, an
integration token never has one, so it is sent to the portal's page (``portal_url``).
"""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.access import selectors
from apps.connectors.models import Provisioning
from apps.connectors.selectors import HOLDER_STATE_LABELS, HolderAccount, holder_accounts
from apps.connectors.services import provisioning_secret_reveal
from apps.signin.mfa import factor_is_fresh, mfa_on
from jitportal.inputs import parse_id

from ..inputs import call_service
from ..problems import fresh_factor_problem
from .base import ERRORS, WRITE_ERRORS, ApiListView, ApiView, row_or_404

REQUEST_SCOPES = ("request",)


class GrantAccountSerializer(serializers.Serializer):
    """One account a grant opened in another system (a ``HolderAccount``): where and under
    which name the holder connects, in which state. Never a password."""

    id = serializers.IntegerField(source="row.pk")
    target = serializers.CharField(source="row.target.name")
    kind = serializers.CharField(source="row.target.kind")
    state = serializers.ChoiceField(choices=list(HOLDER_STATE_LABELS))
    state_label = serializers.SerializerMethodField(
        help_text="the state in the reader's language (Accept-Language)"
    )
    account = serializers.CharField(source="row.account")
    host = serializers.CharField()
    port = serializers.SerializerMethodField(help_text="TCP port; null where the target has none")
    database = serializers.CharField()
    password_available = serializers.SerializerMethodField()

    def get_state_label(self, item: HolderAccount) -> str:
        return str(item.state_label)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_port(self, item: HolderAccount) -> int | None:
        return parse_id(item.port)

    def get_password_available(self, item: HolderAccount) -> bool:
        return item.row.secret_sealed is not None and item.row.secret_shown_at is None


PASSWORD = inline_serializer(
    "GrantAccountPassword", {"id": serializers.IntegerField(), "password": serializers.CharField()}
)


@extend_schema(tags=["my grants"], responses={200: GrantAccountSerializer(many=True), **ERRORS})
class MyGrantAccountsView(ApiListView):
    """The accounts my grant opened in other systems, by target name: where, under which
    name, in which state ("being set up", "ready", "failed, the admins are told", ...). Never
    a password. Paginated like every list."""

    token_scopes = REQUEST_SCOPES
    serializer_class = GrantAccountSerializer

    def get_queryset(self) -> list[HolderAccount]:
        grant = row_or_404(selectors.grants_for_user(self.request.user), self.kwargs["pk"])
        return holder_accounts(grant_ids=[grant.pk], user=self.request.user).get(grant.pk, [])


@extend_schema(tags=["my grants"], responses={200: PASSWORD, **WRITE_ERRORS})
class MyGrantAccountPasswordView(ApiView):
    """The account's one-time password, once. Needs a fresh second factor where MFA applies:
    a token is sent to the portal's page (403 with ``portal_url``)."""

    token_scopes = REQUEST_SCOPES

    def post(self, request, pk: str, account: str):
        grant = row_or_404(selectors.grants_for_user(request.user), pk)
        row_id = parse_id(account)
        if row_id is None or not Provisioning.objects.filter(pk=row_id, grant_id=grant.pk).exists():
            raise Http404
        if mfa_on() and (request.auth is not None or not factor_is_fresh(request._request)):
            raise fresh_factor_problem(
                detail=_(
                    "A password is shown only after a fresh second factor: take it on the "
                    "portal's page of this grant's accounts."
                ),
                portal_url=request.build_absolute_uri(
                    reverse("connectors-grant-accounts", args=[grant.pk])
                ),
            )
        password = call_service(
            provisioning_secret_reveal,
            provisioning_id=row_id,
            grant_id=grant.pk,
            actor=request.user,
        )
        response = Response({"id": row_id, "password": password})
        response["Cache-Control"] = "no-store"
        return response
