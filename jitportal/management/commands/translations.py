"""``manage.py translations``: keep the portal's message files in step with the code.

Without options it extracts every translatable string (``makemessages`` with the portal's
flags) into ``locale/<lang>/LC_MESSAGES/django.po`` (and ``djangojs.po``, the strings of
static/js) for each language in ``LANGUAGES`` other than English, then compiles them
(``msgfmt`` when installed, otherwise polib). With ``--check`` it writes nothing and fails
(exit status 1) when a message file is stale (a string in the code is missing from it, or it
holds one the code no longer has), an entry is untranslated or fuzzy, or a translation drops
or adds a placeholder. With ``--compile`` it only compiles.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

# What makemessages must not read: third-party code, tests, benchmarks, migrations.
IGNORE = [".venv", "venv", "node_modules", "tests", "bench", "docs", "staticfiles", "*/migrations"]
# The Python and template strings, and the portal scripts' (static/js, JavaScriptCatalog).
DOMAINS = ("django", "djangojs")
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|\{[a-z_]*\}")


def source_languages() -> list[str]:
    """The languages that need a message file: every ``LANGUAGES`` code but English."""
    return [code for code, _name in settings.LANGUAGES if not code.startswith("en")]


def locale_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def _extract(into: Path, languages: list[str]) -> None:
    """Run makemessages writing into ``into`` (a locale directory), from the project root."""
    root = Path(settings.BASE_DIR)
    with override_settings(LOCALE_PATHS=[str(into)]), contextlib.chdir(root):
        for domain in DOMAINS:
            call_command(
                "makemessages",
                locale=languages,
                domain=domain,
                ignore_patterns=IGNORE,
                add_location="file",
                no_obsolete=True,
                verbosity=0,
            )


def _keys(po: polib.POFile) -> set[tuple[str, str]]:
    return {(entry.msgctxt or "", entry.msgid) for entry in po if not entry.obsolete}


def _placeholders(text: str) -> list[str]:
    return sorted(set(PLACEHOLDER.findall(text)) - {"%%"})


def problems(languages: list[str] | None = None) -> list[str]:
    """Everything wrong with the committed message files, one line each (empty: all good).

    Needs GNU gettext's ``xgettext`` and ``msgmerge`` (Debian: ``gettext``) for the stale check.
    """
    languages = languages or source_languages()
    found: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "locale"
        if locale_dir().is_dir():
            shutil.copytree(locale_dir(), fresh)
        _extract(fresh, languages)
        for language, domain in ((lang, d) for lang in languages for d in DOMAINS):
            name = f"{language}/LC_MESSAGES/{domain}.po"
            committed_path = locale_dir() / name
            if not committed_path.is_file():
                found.append(f"{name}: missing (run: python3 dev.py messages)")
                continue
            committed = polib.pofile(str(committed_path))
            extracted = polib.pofile(str(fresh / name))
            new = _keys(extracted) - _keys(committed)
            gone = _keys(committed) - _keys(extracted)
            for _ctx, msgid in sorted(new)[:20]:
                found.append(f"{name}: stale, lacks {msgid!r} (run: python3 dev.py messages)")
            for _ctx, msgid in sorted(gone)[:20]:
                found.append(f"{name}: stale, keeps {msgid!r} the code no longer has")
            for entry in committed:
                if entry.obsolete:
                    found.append(f"{name}: obsolete entry {entry.msgid!r}")
                    continue
                where = f"{name}: {entry.msgid!r}"
                if "fuzzy" in entry.flags:
                    found.append(f"{where} is fuzzy")
                if entry.msgid_plural:
                    forms = [v for _k, v in sorted(entry.msgstr_plural.items())]
                    if not forms or not all(forms):
                        found.append(f"{where} is not translated")
                        continue
                    translations = forms
                else:
                    if not entry.msgstr:
                        found.append(f"{where} is not translated")
                        continue
                    translations = [entry.msgstr]
                if "python-format" in entry.flags or "python-brace-format" in entry.flags:
                    wanted = _placeholders(entry.msgid_plural or entry.msgid)
                    singular = _placeholders(entry.msgid)
                    for text in translations:
                        if _placeholders(text) not in (wanted, singular):
                            found.append(f"{where}: placeholders differ in {text!r}")
    return found


def compile_messages() -> int:
    """Compile every ``locale/*/LC_MESSAGES/*.po``; returns how many files were written.

    With GNU gettext, one ``compilemessages`` run for every language (it compiles each
    language's files, both domains); without it, polib writes each file."""
    po_paths = sorted(locale_dir().glob("*/LC_MESSAGES/*.po"))
    if shutil.which("msgfmt"):
        languages = sorted({path.parent.parent.name for path in po_paths})
        with contextlib.chdir(settings.BASE_DIR):
            call_command("compilemessages", locale=languages, verbosity=0, ignore_patterns=IGNORE)
    else:
        for po_path in po_paths:
            polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
    return len(po_paths)


class Command(BaseCommand):
    help = (
        "Update the message files from the code and compile them; --check reports stale, "
        "untranslated or fuzzy strings and changes nothing; --compile only compiles."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--check", action="store_true", help="report problems, write nothing")
        group.add_argument("--compile", action="store_true", help="only compile the .po files")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            found = problems()
            for line in found:
                self.stderr.write(line)
            if found:
                raise CommandError(f"{len(found)} translation problem(s); see above")
            self.stdout.write("message files are complete and up to date")
            return
        if not options["compile"]:
            locale_dir().mkdir(parents=True, exist_ok=True)
            _extract(locale_dir(), source_languages())
            self.stdout.write(f"updated {', '.join(source_languages())} in {locale_dir()}")
        count = compile_messages()
        self.stdout.write(f"compiled {count} message file(s)")
