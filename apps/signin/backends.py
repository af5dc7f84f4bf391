"""Authentication backends: passwords (switchable off but for break-glass admins) and
OpenID Connect single sign-on (mozilla-django-oidc)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .groups import group_mapping, groups_sync
from .models import OidcIdentity
from .oidc import oidc_enabled, oidc_setting

logger = logging.getLogger(__name__)


def password_signin_allowed(username: str | None) -> bool:
    """Whether a password may sign ``username`` in: always when ``PASSWORD_SIGNIN`` is on;
    when it is off, only for the break-glass admins of ``PASSWORD_SIGNIN_BREAK_GLASS``
    (usernames compared case-insensitively)."""
    if getattr(settings, "PASSWORD_SIGNIN", True):
        return True
    if not isinstance(username, str):
        return False
    allowed = {name.casefold() for name in getattr(settings, "PASSWORD_SIGNIN_BREAK_GLASS", ())}
    return username.casefold() in allowed


class PasswordBackend(ModelBackend):
    """Django's password backend, refusing every username but the break-glass admins' when
    ``PASSWORD_SIGNIN`` is off: the login page, the admin's and any ``authenticate()`` call
    alike. Permissions are answered as by ``ModelBackend``."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not password_signin_allowed(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class SignInRefused(SuspiciousOperation):
    """A single sign-on the portal refuses; its message is for the person signing in."""


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """OpenID Connect sign-in: finds or creates the account and syncs its groups.

    * It signs people in and answers no permission question: mozilla-django-oidc's backend
      is a ``ModelBackend``, and Django asks every backend in ``AUTHENTICATION_BACKENDS`` in
      turn, so every refused ``has_perm`` would also have been worked out a second time here.
      Model permissions are ``PasswordBackend``'s (Django's ``ModelBackend``) and object
      permissions ``GrantBackend``'s, whichever way the person signed in.

    * The account is found by the provider's subject (``OidcIdentity``); on the first sign-in
      by a *verified* email (``email_verified`` true) matched case-insensitively; an
      unverified email never matches an existing account.
    * A new account takes ``preferred_username`` (else the email) as its username; one that
      differs only in case from an existing username or email is refused, not created.
    * A userinfo without the groups claim (``OIDC_GROUPS_CLAIM``) is refused and nothing about
      the account changes; otherwise its groups are synced (apps/signin/groups.py).
    * A refusal is shown on the login page (Django messages) and logged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # mozilla-django-oidc reads its endpoints here; the portal reads them (possibly from
        # discovery, over the network) only when a sign-in callback arrives, in authenticate().
        self.UserModel = get_user_model()

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return oidc_setting(attr, *args)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if request is None or not oidc_enabled():
            return None
        if not (request.GET.get("code") and request.GET.get("state")):
            return None
        super().__init__()
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id: Any) -> Any:
        user = super().get_user(user_id)
        return user if self.user_can_authenticate(user) else None

    # --- no permission question is answered here (see the class docstring) --------------------

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return False

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return set()

    def with_perm(
        self, perm: Any, is_active: bool = True, include_superusers: bool = True, obj: Any = None
    ) -> Any:
        return self.UserModel._default_manager.none()

    # --- claims -------------------------------------------------------------------------------

    def get_userinfo(self, access_token: str, id_token: str, payload: Any) -> Any:
        """The userinfo claims, which must be about the ID token's subject (OpenID Connect
        Core 1.0 section 5.3.2: otherwise they must not be used)."""
        claims = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            raise SignInRefused(_("The identity provider did not say who you are."))
        return claims

    def _groups(self, claims: dict[str, Any]) -> list[str] | None:
        value = claims.get(settings.OIDC_GROUPS_CLAIM)
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(g, str) for g in value):
            return value
        return None

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        if not claims.get("sub"):
            raise SignInRefused(_("The identity provider did not say who you are."))
        if self._groups(claims) is None:
            raise SignInRefused(
                _(
                    "Your identity provider did not send your groups (the “%(claim)s” claim), "
                    "so the portal cannot tell what you may do. Nothing was changed; ask your "
                    "IT team to release the groups claim to the portal."
                )
                % {"claim": settings.OIDC_GROUPS_CLAIM}
            )
        return True

    def _removed_by_provider(self, claims: dict[str, Any]) -> bool:
        """Whether ``OIDC_DEACTIVATE_UNMAPPED`` is on and the groups claim names none of the
        identity-provider groups the mapping knows (settings and admin rows alike)."""
        if not getattr(settings, "OIDC_DEACTIVATE_UNMAPPED", False):
            return False
        return not set(self._groups(claims) or []) & group_mapping().keys()

    @staticmethod
    def _email_verified(claims: dict[str, Any]) -> bool:
        value = claims.get("email_verified")
        return value is True or (isinstance(value, str) and value.lower() == "true")

    def _issuer(self) -> str:
        return str(self.get_settings("OIDC_ISSUER", "") or self.OIDC_OP_TOKEN_ENDPOINT)

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        users = self.UserModel.objects.filter(
            oidc_identities__issuer=self._issuer(), oidc_identities__subject=claims["sub"]
        )
        if users.exists():
            return users
        email = claims.get("email")
        if email and self._email_verified(claims):
            return self.UserModel.objects.filter(email__iexact=email)
        return self.UserModel.objects.none()

    def get_or_create_user(self, access_token: str, id_token: str, payload: Any) -> Any:
        # mozilla-django-oidc logs a SuspiciousOperation raised here and refuses the sign-in;
        # the person signing in is told why on the login page.
        try:
            return super().get_or_create_user(access_token, id_token, payload)
        except SignInRefused as exc:
            messages.error(self.request, str(exc))
            raise
        except SuspiciousOperation:  # "Multiple users returned"
            refusal = _("More than one account has this email address; ask an administrator.")
            messages.error(self.request, refusal)
            raise

    def get_username(self, claims: dict[str, Any]) -> str:
        username = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        return str(username)[: self.UserModel._meta.get_field("username").max_length]

    def create_user(self, claims: dict[str, Any]) -> Any:
        username = self.get_username(claims)
        email = claims.get("email") or ""
        taken = self.UserModel.objects.filter(username__iexact=username).exists() or (
            email and self.UserModel.objects.filter(email__iexact=email).exists()
        )
        if taken:
            # Never a second account differing only in case, never an unverified takeover.
            if email and not self._email_verified(claims):
                raise SignInRefused(
                    _(
                        "An account with this username or email already exists and your "
                        "identity provider has not verified the email address, so it cannot "
                        "be linked. Ask an administrator."
                    )
                )
            raise SignInRefused(
                _(
                    "An account with this username already exists (compared ignoring case), "
                    "so a second one cannot be created. Ask an administrator to link them."
                )
            )
        try:
            with transaction.atomic():
                user = self.UserModel.objects.create_user(
                    username,
                    email=email,
                    first_name=str(claims.get("given_name", ""))[:150],
                    last_name=str(claims.get("family_name", ""))[:150],
                )
                user.set_unusable_password()
                user.save(update_fields=["password"])
        except IntegrityError as exc:
            raise SignInRefused(
                _("This account could not be created; ask an administrator.")
            ) from exc
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        if not user.is_active:
            # Deactivated in the portal: refused by the callback view, nothing synced.
            messages.error(self.request, _("Your account is deactivated."))
            return user
        if self._removed_by_provider(claims):
            # The provider no longer puts the person in any mapped group: the account is
            # deactivated (a plain save, which offboards it: docs/access.md, "Offboarding")
            # and the callback view refuses the inactive user. Their groups are left as they
            # were, for the record of what they held.
            user.is_active = False
            user.save(update_fields=["is_active"])
            logger.info("OIDC sign-in deactivated user %s: no mapped group", user.pk)
            messages.error(
                self.request,
                _(
                    "Your identity provider no longer gives you access to the portal, so your "
                    "account has been deactivated. Ask your IT team if this is a mistake."
                ),
            )
            return user
        with transaction.atomic():
            OidcIdentity.objects.get_or_create(
                issuer=self._issuer(), subject=claims["sub"], defaults={"user": user}
            )
            groups_sync(user, self._groups(claims) or [])
        return user
