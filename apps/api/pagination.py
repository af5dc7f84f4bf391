"""Every list of the API is paginated: numbered pages (``?page=``, ``?page_size=`` up to 200)
and, for the audit trail, an opaque cursor that stays stable while events are appended."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 200


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class AuditCursorPagination(CursorPagination):
    """Oldest first by id: ids only grow, so following ``next`` never skips or repeats an
    event (the last page's ``previous`` link, or the SIEM feed, picks up what comes later)."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
