"""Hand-written Swagger 2.0 fragments for the ADO endpoints that no published spec describes.

Each entry cites where its shape comes from; only the parameters and bodies our code and the
official Python client use are described. Same structure as the official files so ``spec.py``
handles them identically.
"""

from __future__ import annotations

from typing import Any

_API_OPTIONAL = {"name": "api-version", "in": "query", "required": False, "type": "string"}
_ORG = {"name": "organization", "in": "path", "required": True, "type": "string"}


def _q(name: str, type_: str = "string", required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "type": type_, **extra}


EXTRA_PATHS: dict[str, dict[str, Any]] = {
    # Resource location discovery the official client performs before any call
    # (microsoft/azure-devops-python-api azure/devops/client.py _get_resource_locations).
    "/{organization}/_apis": {
        "options": {"operationId": "Locations_Options", "parameters": [_ORG, _q("allHostTypes", "boolean")]},
    },
    # Location service (client v7_1/location/location_client.py; Learn "Locations - Get Connection Data"
    # and "Resource Areas - List"); commonly called without api-version, which the service accepts.
    "/{organization}/_apis/connectionData": {
        "get": {"operationId": "Locations_Get Connection Data", "parameters": [
            _ORG, _API_OPTIONAL, _q("connectOptions"), _q("lastChangeId", "integer"),
            _q("lastChangeId64", "integer")]},
    },
    "/{organization}/_apis/resourceAreas": {
        "get": {"operationId": "Resource Areas_List", "parameters": [_ORG, _API_OPTIONAL]},
    },
}
