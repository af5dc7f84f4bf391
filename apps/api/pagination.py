"""Every list of the API is paginated: numbered pages (``?page=``, ``?page_size=`` up to 200)
and, for the audit trail, an opaque cursor that stays stable while events are appended."""

from __future__ import annotations

import binascii
import re
from base64 import b64decode
from typing import Any
from urllib import parse

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination

from .problems import INVALID_CURSOR, Problem, not_found_problem

MAX_PAGE_SIZE = 200


def page_size_checked(request: Any, *, default: int | None, maximum: int) -> int | None:
    """``?page_size=``: ASCII digits from 1 to ``maximum``; absent: ``default``. Anything
    else (``0``, ``abc``, ``1e3``, a full-width ``１``, over the maximum) is refused with 400
    naming the range, instead of quietly giving the default or the maximum."""
    raw = request.query_params.get("page_size")
    if raw is None:
        return default
    number = int(raw) if _DIGITS.fullmatch(raw) else 0
    if not 1 <= number <= maximum:
        raise Problem.invalid(
            [("page_size", _("Give a page size from 1 to %(maximum)s.") % {"maximum": maximum})]
        )
    return number


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Any) -> int | None:
        return page_size_checked(request, default=self.page_size, maximum=self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        """DRF's, with our own message for a page that does not exist (its own is English
        and names the paginator's exception)."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise not_found_problem(
                _("There is no such page of this list: give a page number from 1 to the last.")
            ) from None


class AuditCursorPagination(CursorPagination):
    """Oldest first by id: ids only grow, so following ``next`` never skips or repeats an
    event (the last page's ``previous`` link, or the SIEM feed, picks up what comes later)."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Any) -> int | None:
        return page_size_checked(request, default=self.page_size, maximum=self.max_page_size)

    def decode_cursor(self, request: Any) -> Any:
        """The position a ``cursor`` names, or None without one; a cursor this API did not
        write (not strict base64, an unknown key, a position that is no event id: ``p=1e5``,
        ``p=0x10``, or empty) is refused with 400 instead of restarting from the oldest
        event or failing in the database."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
        except (ValueError, binascii.Error, UnicodeError):
            tokens = {}
        valid = (
            bool(tokens)
            and set(tokens) <= {"o", "r", "p"}
            and all(len(v) == 1 for v in tokens.values())
            and all(_DIGITS.fullmatch(tokens[k][0]) for k in ("o", "p") if k in tokens)
            and tokens.get("r", ["1"])[0] == "1"
            and int(tokens.get("p", ["0"])[0]) <= _BIGINT_MAX
        )
        if not valid:
            raise Problem(
                status=400,
                type_=INVALID_CURSOR,
                title=_("The cursor is not valid."),
                detail=_(
                    "This cursor was not given by this list: follow the “next” and "
                    "“previous” links as they are, or leave the cursor out to start at the "
                    "oldest event."
                ),
                errors=[(None, _("The cursor is not valid."))],
            )
        return super().decode_cursor(request)


_DIGITS = re.compile(r"[0-9]{1,19}")
_BIGINT_MAX = 2**63 - 1
