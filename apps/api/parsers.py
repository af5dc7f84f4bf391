"""The one kind of body the API reads: a JSON document in UTF-8 (RFC 8259), refused with a
problem detail in the reader's language when it cannot be read (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .problems import malformed_problem


class ProblemJSONParser(JSONParser):
    """DRF's JSON parser, with our own messages, and a body nested deeper than Python's
    recursion limit (200,000 ``[``) refused as malformed instead of a RecursionError."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise malformed_problem(_("The JSON body is nested too deeply to be read.")) from None
        except ParseError:
            raise malformed_problem(
                _("The body is not valid JSON (UTF-8): check its syntax.")
            ) from None
