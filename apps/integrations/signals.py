"""Sent by the token services so that the audit trail can record them (kwargs: token, actor)."""

from django.dispatch import Signal

integration_token_created = Signal()
integration_token_revoked = Signal()
