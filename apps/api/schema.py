"""How the OpenAPI schema describes the API: its authentication (drf-spectacular
extensions), the bodies its views take, and its path ids."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import SAFE_METHODS


class ApiSchema(AutoSchema):
    """An unsafe method's body is the view's ``body_serializer`` (None: no body), the same
    serializer the view checks a body's fields against, so the schema cannot name a field
    the API refuses nor leave out one it takes."""

    def get_request_serializer(self) -> Any:
        if self.method not in SAFE_METHODS:
            return getattr(self.view, "body_serializer", None)
        return super().get_request_serializer()


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.IntegrationTokenAuthentication"
    name = "integrationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An integration token (jpt_…) issued in the admin, with the scope the endpoint "
                "takes: request, decide, read or audit. It acts for its owner and never does "
                "more than the owner may."
            ),
        }


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.PortalSessionAuthentication"
    name = "portalSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The portal session; unsafe methods need the X-CSRFToken header.",
        }


def integer_ids(result, generator, request, public):
    """Path ids are taken as text (so that a bad one is a problem detail, not Django's HTML
    404) but are whole numbers: say so in the schema. A request body takes no property
    beyond those listed (``additionalProperties: false``): the API refuses any other."""
    bodies = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "id":
                    parameter["schema"] = {"type": "integer", "minimum": 1}
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    bodies.add(ref.rpartition("/")[2])
    schemas = result.get("components", {}).get("schemas", {})
    for name in bodies:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
