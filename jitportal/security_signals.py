"""Signals for security events raised by apps that import no other app (apps.signin), so
that apps.audit can record them without the sender importing the audit trail.

``second_factor_event``: sent with ``action`` (an audit event code such as
``signin.mfa.enrolled``), ``user`` (whose factor), ``actor`` (who acted; the user, or an
admin for a reset) and ``data`` (a JSON-serialisable dict, no secrets).
"""

from __future__ import annotations

from django.dispatch import Signal

second_factor_event = Signal()
