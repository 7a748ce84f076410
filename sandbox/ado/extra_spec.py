"""Hand-written Swagger 2.0 fragments for the ADO endpoints outside the wit/hooks 7.1 spec files.

Each entry cites where its shape comes from; only the parameters and bodies our code and the
official Python client use are described. Same structure as the official files so ``spec.py``
handles them identically.
"""

from __future__ import annotations

from typing import Any

_API = {"$ref": "#/parameters/api-Version"}
_API_OPTIONAL = {"name": "api-version", "in": "query", "required": False, "type": "string"}
_ORG = {"name": "organization", "in": "path", "required": True, "type": "string"}
_PROJECT = {"name": "project", "in": "path", "required": True, "type": "string"}


def _q(name: str, type_: str = "string", required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "type": type_, **extra}


def _p(name: str, type_: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "type": type_}


_VERSION_DESCRIPTOR = {"type": "object", "properties": {
    "version": {"type": "string"},
    "versionOptions": {"enum": ["none", "previousChange", "firstParent"]},
    "versionType": {"enum": ["branch", "tag", "commit"]},
}}

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
    # Core 7.1 "Projects - List" / "Projects - Get" (learn.microsoft.com/rest/api/azure/devops/core/projects).
    "/{organization}/_apis/projects": {
        "get": {"operationId": "Projects_List", "parameters": [
            _ORG, _API, _q("stateFilter", enum=["deleting", "new", "wellFormed", "createPending", "all",
                                                 "unchanged", "deleted"]),
            _q("$top", "integer"), _q("$skip", "integer"), _q("continuationToken"),
            _q("getDefaultTeamImageUrl", "boolean")]},
    },
    "/{organization}/_apis/projects/{projectId}": {
        "get": {"operationId": "Projects_Get", "parameters": [
            _ORG, _p("projectId"), _API, _q("includeCapabilities", "boolean"), _q("includeHistory", "boolean")]},
    },
    # Build 7.1 "Builds - Get" (learn.microsoft.com/rest/api/azure/devops/build/builds/get?view=azure-devops-rest-7.1).
    "/{organization}/{project}/_apis/build/builds/{buildId}": {
        "get": {"operationId": "Builds_Get", "parameters": [
            _ORG, _PROJECT, _p("buildId", "integer"), _API, _q("propertyFilters")]},
    },
    # Git 7.1 "Commits - Get Commits Batch" (learn.microsoft.com/rest/api/azure/devops/git/commits/get-commits-batch).
    "/{organization}/{project}/_apis/git/repositories/{repositoryId}/commitsbatch": {
        "post": {"operationId": "Commits_Get Commits Batch", "consumes": ["application/json"], "parameters": [
            _ORG, _PROJECT, _p("repositoryId"), _API, _q("$skip", "integer"), _q("$top", "integer"),
            _q("includeStatuses", "boolean"),
            {"name": "body", "in": "body", "required": True,
             "schema": {"$ref": "#/definitions/GitQueryCommitsCriteria"}}]},
    },
    # Git 7.1 "Commits - Get" and "Commits - Get Changes".
    "/{organization}/{project}/_apis/git/repositories/{repositoryId}/commits/{commitId}": {
        "get": {"operationId": "Commits_Get", "parameters": [
            _ORG, _PROJECT, _p("repositoryId"), _p("commitId"), _API, _q("changeCount", "integer")]},
    },
    "/{organization}/{project}/_apis/git/repositories/{repositoryId}/commits/{commitId}/changes": {
        "get": {"operationId": "Commits_Get Changes", "parameters": [
            _ORG, _PROJECT, _p("repositoryId"), _p("commitId"), _API, _q("top", "integer"),
            _q("skip", "integer")]},
    },
}

EXTRA_DEFINITIONS: dict[str, Any] = {
    "GitQueryCommitsCriteria": {"type": "object", "properties": {
        "$skip": {"type": "integer"}, "$top": {"type": "integer"},
        "author": {"type": "string"}, "user": {"type": "string"},
        "compareVersion": _VERSION_DESCRIPTOR, "itemVersion": _VERSION_DESCRIPTOR,
        "excludeDeletes": {"type": "boolean"}, "fromCommitId": {"type": "string"},
        "toCommitId": {"type": "string"}, "fromDate": {"type": "string"}, "toDate": {"type": "string"},
        "historyMode": {"enum": ["simplifiedHistory", "firstParent", "fullHistory",
                                 "fullHistorySimplifyMerges"]},
        "ids": {"type": "array", "items": {"type": "string"}},
        "includeLinks": {"type": "boolean"}, "includePushData": {"type": "boolean"},
        "includeUserImageUrl": {"type": "boolean"}, "includeWorkItems": {"type": "boolean"},
        "itemPath": {"type": "string"}, "showOldestCommitsFirst": {"type": "boolean"},
    }},
}
