"""The connectors by kind. Each built-in connector module is imported by name here at start
(no discovery at run time); ``CONNECTORS["MODULES"]`` adds an organisation's own."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from .base import Connector

#: Modules whose import registers the built-in connectors.
BUILTIN = (
    "apps.connectors.connectors.postgresql",
    "apps.connectors.connectors.mariadb",
    "apps.connectors.connectors.django_groups",
    "apps.connectors.connectors.webhook",
    "apps.connectors.connectors.guardian",
)

_registry: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: serve targets of ``cls.kind`` with ``cls``."""
    if not cls.kind:
        raise TypeError(f"{cls.__name__} has no kind")
    _registry[cls.kind] = cls
    return cls


def load_builtin() -> None:
    extra = settings.CONNECTORS.get("MODULES", ())
    for module in (*BUILTIN, *extra):
        import_module(module)


def connector_class(kind: str) -> type[Connector] | None:
    return _registry.get(kind)


def connector_classes() -> list[type[Connector]]:
    """Every registered connector class, by kind (the tests walk them)."""
    return [cls for _kind, cls in sorted(_registry.items())]


def kinds() -> list[tuple[str, str]]:
    """(kind, label) of every registered connector, for a choice field."""
    return sorted((kind, str(cls.label)) for kind, cls in _registry.items())


def connector_for(target) -> Connector:
    """The connector acting on ``target``; LookupError for a kind nobody registered."""
    cls = _registry.get(target.kind)
    if cls is None:
        raise LookupError(f"no connector of kind {target.kind!r}")
    return cls(target)
