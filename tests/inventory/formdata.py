"""Read the form fields of an admin page the way a browser would submit them."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: tuple[str, bool] | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = (a.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._add(name, a.get("value") or "on")
                return
            self._add(name, a.get("value") or "")
        elif tag == "select" and name:
            self._select = (name, "multiple" in a)
            self.data.setdefault(name, [])
        elif tag == "option" and self._select is not None and "selected" in a:
            self._add(self._select[0], a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._add(self._textarea, "".join(self._text).lstrip("\n"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)


def form_data(html: str, **overrides: object) -> dict[str, object]:
    """The submitted values of the page's form, with ``overrides`` applied.

    Single values are strings, multiple ones lists; an override of None removes the field.
    """
    parser = _FormParser()
    parser.feed(html)
    data: dict[str, object] = {}
    for name, values in parser.data.items():
        if name.endswith("__prefix__") or "__prefix__" in name:
            continue
        data[name] = values if len(values) != 1 else values[0]
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data
