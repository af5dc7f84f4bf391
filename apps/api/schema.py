"""How the OpenAPI schema describes the API's authentication (drf-spectacular extensions)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
    404) but are whole numbers: say so in the schema."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "id":
                    parameter["schema"] = {"type": "integer", "minimum": 1}
    return result
