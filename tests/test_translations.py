"""The portal speaks English, German and French: the message files are complete and current,
and each reader picks the language on any page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from jitportal.management.commands import translations


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
    reason="needs GNU gettext (apt-get install gettext, as .ci/run does)",
)
def test_message_files_are_complete_and_current():
    # Given the code as it is, when its strings are extracted again,
    # then every German and French file holds exactly them, each translated, none fuzzy,
    # every placeholder kept.
    assert translations.problems() == []


def test_every_language_but_english_has_a_message_file():
    # Given the portal's languages, then each one other than English has its catalogue.
    for language in translations.source_languages():
        assert (translations.locale_dir() / language / "LC_MESSAGES" / "django.po").is_file()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "word"), [("de", "Sprache ändern"), ("fr", "Changer de langue")]
)
def test_the_switcher_changes_the_language_of_the_next_page(language, word):
    # Given a visitor on the sign-in page in English,
    client = Client()
    page = client.get(reverse("login"))
    assert "Change language" in page.content.decode()
    # when they pick another language,
    response = client.post(
        reverse("set_language"), {"language": language, "next": reverse("login")}
    )
    # then they return to the page they were on, and it speaks their language.
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    page = client.get(reverse("login"))
    assert f'lang="{language}"' in page.content.decode()
    assert word in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page_url",
    [
        "/admin/auth/user/?q=ada&o=1",
        "/?tab=access&page=2",
        "/accounts/login/?next=/admin/",
    ],
)
def test_the_switcher_returns_to_the_same_page_with_its_query(admin_client, page_url):
    # Given a reader on a filtered, paged or redirecting page (any page: the switcher is in
    # the portal's and the admin's frame alike),
    page = admin_client.get(page_url).content.decode()
    # then the switcher sends them back to that page with its query (escaped for HTML),
    assert 'name="next" value="' + page_url.replace("&", "&amp;") + '"' in page
    # and after the switch they land there, query and all.
    response = admin_client.post(reverse("set_language"), {"language": "de", "next": page_url})
    assert response.status_code == 302
    assert response["Location"] == page_url


@pytest.mark.django_db
def test_the_switcher_never_sends_a_reader_off_the_site(admin_client):
    # Given a next parameter pointing elsewhere, then the switch stays on the site.
    response = admin_client.post(
        reverse("set_language"), {"language": "de", "next": "https://evil.example/?x=1"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.mark.django_db
def test_an_unknown_language_changes_nothing():
    # Given a visitor, when they post a language the portal does not have,
    client = Client()
    client.post(reverse("set_language"), {"language": "xx", "next": reverse("login")})
    # then the page stays in the organisation's language.
    assert 'lang="en-gb"' in client.get(reverse("login")).content.decode()


def test_the_browser_language_is_honoured():
    # Given a browser that prefers French, then the portal answers in French.
    with translation.override("en-gb"):
        response = Client(HTTP_ACCEPT_LANGUAGE="fr-CH, fr;q=0.9, en;q=0.5").get(reverse("login"))
    assert 'lang="fr"' in response.content.decode()


# --- every template: no text outside a translation tag -------------------------------------

#: Words that are the same in every language: the product's name and names of formats.
UNTRANSLATED_WORDS = {"jitportal", "CSV", "XLSX", "JSON", "HTML", "OpenMetrics", "SHA"}
_NOT_TEXT = [
    re.compile(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S),
    re.compile(r"\{#.*?#\}", re.S),
    re.compile(r"\{%\s*blocktrans(?:late)?\b.*?\{%\s*endblocktrans(?:late)?\s*%\}", re.S),
    re.compile(r"<script\b.*?</script>", re.S | re.I),
    re.compile(r"<style\b.*?</style>", re.S | re.I),
    re.compile(r"\{\{.*?\}\}", re.S),
    re.compile(r"\{%.*?%\}", re.S),
]
#: Attributes a person reads (a tooltip, a placeholder, what a screen reader says).
_READ_ATTRIBUTES = re.compile(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"')


def _untranslated_text(source: str) -> list[str]:
    for pattern in _NOT_TEXT:
        source = pattern.sub(" ", source)
    found = [m.group(0) for m in _READ_ATTRIBUTES.finditer(source) if _words(m.group(1))]
    source = re.sub(r"<[^>]*>", " ", source)
    source = re.sub(r"&[a-z]+;|&#\d+;", " ", source)
    found += [line.strip() for line in source.splitlines() if _words(line)]
    return found


def _words(text: str) -> list[str]:
    words = (w.strip("-'’") for w in re.findall(r"[A-Za-z][A-Za-z'’-]+", text))
    return [w for w in words if len(w) > 1 and w not in UNTRANSLATED_WORDS]


def test_no_template_shows_text_outside_a_translation_tag():
    # Given every template of the portal (pages, admin overrides, emails), when the tags,
    # variables, comments and translated blocks are taken out, then no word a person would
    # read is left, in the text or in a tooltip, placeholder or label attribute.
    root = Path(settings.BASE_DIR)
    patterns = ["templates/**/*.html", "templates/**/*.txt", "apps/*/templates/**/*.*"]
    templates = sorted(path for pattern in patterns for path in root.glob(pattern))
    assert len(templates) > 50
    found = {
        str(path.relative_to(root)): text
        for path in templates
        if (text := _untranslated_text(path.read_text()))
    }
    assert found == {}


# --- every model and admin column: named in the reader's language -----------------------------


def test_every_model_of_the_apps_names_itself_translatably():
    # Given every model of the apps, then its singular and plural names are its own, and
    # translatable (Django would otherwise build an English plural such as "Organisations").
    from django.apps import apps as registry
    from django.utils.functional import Promise

    unnamed = [
        f"{model.__module__}.{model.__name__}: {attr}"
        for model in registry.get_models()
        if model.__module__.startswith("apps.")
        for attr in ("verbose_name", "verbose_name_plural")
        if not isinstance(model._meta.original_attrs.get(attr), Promise)
    ]
    assert unnamed == []


def test_every_admin_column_of_the_apps_has_a_translatable_title():
    # Given every admin of the apps' models, then each list column that is not a model field
    # has a title of its own (else Django shows the attribute's name, in English).
    from django.contrib import admin

    untitled = []
    for model, model_admin in admin.site._registry.items():
        if not model.__module__.startswith("apps."):
            continue
        for name in model_admin.list_display:
            if callable(name) or name == "__str__":
                attr = name
            else:
                try:
                    model._meta.get_field(name)
                    continue
                except Exception:
                    attr = getattr(model_admin, name, None) or getattr(model, name, None)
            if isinstance(attr, property):
                attr = attr.fget
            if not hasattr(attr, "short_description") and attr != "__str__":
                untitled.append(f"{model.__name__}.{name}")
    assert untitled == []


@pytest.mark.django_db
def test_the_switcher_leaves_out_a_redirect_that_leaves_the_site(admin_client):
    # Given a page opened with a next parameter pointing elsewhere (a crafted link),
    page = admin_client.get("/accounts/login/?next=https://evil.example/&lang=1").content
    # then the switcher's way back keeps the page and its other parameters, not that next.
    assert b"evil.example" not in page
    assert b'name="next" value="/accounts/login/?lang=1"' in page
