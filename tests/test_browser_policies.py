"""Browser hardening: production sends a Content-Security-Policy and a Permissions-Policy on
every page, and no template carries inline script, inline style or event handlers."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from django.test import Client, override_settings

from tests.factories import UserFactory
from tests.urlwalk import plain_urls

ROOT = Path(__file__).resolve().parent.parent


def _production(monkeypatch) -> ModuleType:
    """jitportal.settings.production as loaded with the variables it requires."""
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    monkeypatch.setenv("ALLOWED_HOSTS", "jit.example.org")
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jitportal")
    spec = importlib.util.find_spec("jitportal.settings.production")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def production_policies(monkeypatch):
    prod = _production(monkeypatch)
    assert "csp.middleware.CSPMiddleware" in prod.MIDDLEWARE
    assert "django_permissions_policy.PermissionsPolicyMiddleware" in prod.MIDDLEWARE
    with override_settings(
        MIDDLEWARE=prod.MIDDLEWARE,
        CONTENT_SECURITY_POLICY=prod.CONTENT_SECURITY_POLICY,
        PERMISSIONS_POLICY=prod.PERMISSIONS_POLICY,
    ):
        yield prod


def _assert_policies(response, url: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    assert csp, f"{url}: no Content-Security-Policy"
    directives = dict(
        [*part.split(" ", 1), ""][:2] for part in (p.strip() for p in csp.split(";")) if part
    )
    assert "'unsafe-inline'" not in directives.get("script-src", ""), url
    assert "'unsafe-inline'" not in directives.get("style-src", ""), url
    assert directives.get("object-src") == "'none'", url
    assert directives.get("frame-ancestors") == "'none'", url
    permissions = response.get("Permissions-Policy", "")
    assert "camera=()" in permissions and "geolocation=()" in permissions, url


@pytest.mark.django_db
def test_production_sends_both_policies_on_every_page(production_policies):
    # given every page mounted on the site, as an anonymous visitor and as a superuser
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    anonymous, admin = Client(), Client()
    admin.force_login(root)
    urls = plain_urls()
    assert "/admin/" in urls and "/accounts/login/" in urls
    for url in urls:
        for client in (anonymous, admin):
            # when it is requested over HTTPS (production redirects plain HTTP)
            response = client.get(url, secure=True)
            # then both headers are there, with no inline script or style allowed
            _assert_policies(response, url)


@pytest.mark.django_db
def test_the_printable_ropa_allows_only_its_own_inline_blocks(production_policies, dpo):
    # the printable ROPA is also saved as a standalone file: its style and script are
    # allowed by hash, nothing else inline
    client = Client()
    client.force_login(dpo)
    response = client.get("/admin/reports/report/ropa/print/", secure=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/=]+'", csp), csp
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+'", csp), csp
    assert b"onclick" not in response.content


_INLINE = [
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style[\s>]", re.I), "<style> block"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "inline <script>"),
]
# Standalone documents whose inline blocks are allowed by hash (jitportal.csp).
_STANDALONE = {"templates/reports/ropa_print.html"}


def test_no_template_or_admin_module_has_inline_script_style_or_handlers():
    sources = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("apps/**/*.py")]
    found = []
    for path in sources:
        rel = path.relative_to(ROOT).as_posix()
        if rel in _STANDALONE or "/migrations/" in rel:
            continue
        text = path.read_text()
        for pattern, what in _INLINE:
            for match in pattern.finditer(text):
                if path.suffix == ".py" and what != "style attribute":
                    continue
                found.append(f"{rel}: {what}: {match.group(0).strip()}")
    assert not found, "\n".join(found)
