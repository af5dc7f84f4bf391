"""Content-Security-Policy helpers (django-csp) for documents that must stay self-contained."""

from __future__ import annotations

import base64
import hashlib
import re

from django.http import HttpResponse

_INLINE_BLOCK = re.compile(rb"<(style|script)>(.*?)</\1>", re.DOTALL)


def csp_allow_inline_blocks(response: HttpResponse) -> HttpResponse:
    """Allow exactly the inline ``<style>`` and ``<script>`` blocks of this response.

    For a document that is also saved as a standalone file (the printable ROPA), so that it
    cannot link the site's static files: each block is allowed by its SHA-256 hash-source
    (CSP Level 3, section 2.3.1), nothing else inline is. Returns the response.
    """
    update: dict[str, list[str]] = {}
    for tag, body in _INLINE_BLOCK.findall(response.content):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        update.setdefault(f"{tag.decode()}-src", []).append(f"'sha256-{digest}'")
    if update:
        response._csp_update = update  # type: ignore[attr-defined]
    return response
