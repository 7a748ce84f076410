"""Azure DevOps REST requests as plain ``ApiRequest`` values (no I/O).

The sync planner renders what it intends to send with these builders, so a dry run can print the
exact requests and tests can compare them without a network. Paths are relative to the
organization (Services) or collection (Server) URL. Facts: the official 7.1 specs
(MicrosoftDocs/vsts-rest-api-specs ``specification/{wit,hooks,core}/7.1/``) and the official
Python client (microsoft/azure-devops-python-api ``azure/devops/v7_1/``).

``api-version`` is ``7.1`` everywhere except the preview-only resources: comments
(``7.1-preview.4``; plain ``7.1`` answers 400 VssInvalidPreviewVersionException) and the location
service's connection data (``7.1-preview.1``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from shared.api_request import ApiRequest

API_VERSION = "7.1"
COMMENTS_API_VERSION = "7.1-preview.4"
CONNECTION_DATA_API_VERSION = "7.1-preview.1"
JSON_PATCH = "application/json-patch+json"
BATCH_LIMIT = 200
PATCH_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
EXPAND_VALUES = frozenset({"none", "relations", "fields", "links", "all"})
COMMENT_ORDERS = frozenset({"asc", "desc"})
STRUCTURE_GROUPS = frozenset({"areas", "iterations"})
FIELD_EXPANDS = frozenset({"none", "allowedValues", "dependentFields", "all"})

JsonPatchOp = dict[str, Any]


# --- validation: every bad input names itself and builds nothing -------------------------------

def _segment(value: str, name: str) -> str:
    """Quote one path segment; project and type names may hold spaces and other URL characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _work_item_id(value: object, name: str = "work item id") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _expand(value: str | None) -> str | None:
    if value is not None and value not in EXPAND_VALUES:
        raise ValueError(f"expand must be one of {sorted(EXPAND_VALUES)}, got {value!r}")
    return value


def _ops(ops: Sequence[Mapping[str, Any]]) -> list[JsonPatchOp]:
    """Reject malformed JSON Patch documents before ADO answers 400 'pass a valid patch document'."""
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence) or not ops:
        raise ValueError(f"ops must be a non-empty list of JSON Patch operations, got {ops!r}")
    checked: list[JsonPatchOp] = []
    for index, op in enumerate(ops):
        if not isinstance(op, Mapping):
            raise ValueError(f"ops[{index}] must be a dict, got {op!r}")
        if op.get("op") not in PATCH_OPS:
            raise ValueError(f"ops[{index}].op must be one of {sorted(PATCH_OPS)}, got {op.get('op')!r}")
        path = op.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"ops[{index}].path must be a string starting with '/', got {path!r}")
        if op["op"] == "remove" and op.get("value") is not None:
            raise ValueError(f"ops[{index}] is a remove and must not carry a value")
        checked.append(dict(op))
    return checked


def _project_prefix(project: str | None) -> str:
    """Id-based work item routes take the project optionally (ids are unique per collection)."""
    return "" if project is None else "/" + _segment(project, "project")


def _query(api_version: str = API_VERSION, **params: str | None) -> dict[str, str]:
    query = {key: value for key, value in params.items() if value is not None}
    query["api-version"] = api_version
    return query


# --- work items ---------------------------------------------------------------------------------

def create_work_item(project: str, type: str, ops: Sequence[Mapping[str, Any]],
                     validate_only: bool = False) -> ApiRequest:
    """POST .../workitems/$Type. The ``$`` is literal; the type name is URL-quoted (``$User%20Story``)."""
    path = f"/{_segment(project, 'project')}/_apis/wit/workitems/${_segment(type, 'work item type')}"
    query = _query(validateOnly="true" if validate_only else None)
    return ApiRequest("POST", path, query, _ops(ops), JSON_PATCH)


def update_work_item(id: int, ops: Sequence[Mapping[str, Any]], rev: int | None,
                     project: str | None = None, validate_only: bool = False) -> ApiRequest:
    """PATCH a work item; with ``rev`` a leading ``test /rev`` makes the patch fail (412) if stale."""
    body = _ops(ops)
    if rev is not None:
        body.insert(0, {"op": "test", "path": "/rev", "value": _work_item_id(rev, "rev")})
    path = f"{_project_prefix(project)}/_apis/wit/workitems/{_work_item_id(id)}"
    query = _query(validateOnly="true" if validate_only else None)
    return ApiRequest("PATCH", path, query, body, JSON_PATCH)


def get_work_item(id: int, expand: str | None = None, project: str | None = None,
                  fields: Sequence[str] | None = None) -> ApiRequest:
    """GET one work item. ADO refuses ``fields`` together with ``$expand`` (400), so we do too."""
    if fields and expand:
        raise ValueError("fields and expand cannot be combined (Azure DevOps rejects the request)")
    query = _query(**{"$expand": _expand(expand), "fields": ",".join(fields) if fields else None})
    return ApiRequest("GET", f"{_project_prefix(project)}/_apis/wit/workitems/{_work_item_id(id)}", query)


def work_items_batch(ids: Sequence[int], fields: Sequence[str] | None = None,
                     expand: str | None = None, project: str | None = None) -> ApiRequest:
    """POST workitemsbatch for ≤200 ids; ``errorPolicy: omit`` so one deleted id does not fail all."""
    if not ids:
        raise ValueError("ids must hold at least one work item id")
    if len(ids) > BATCH_LIMIT:
        raise ValueError(f"ids holds {len(ids)} work item ids; the batch limit is {BATCH_LIMIT}")
    if fields and expand:
        raise ValueError("fields and expand cannot be combined (Azure DevOps rejects the request)")
    body: dict[str, Any] = {"ids": [_work_item_id(i) for i in ids], "errorPolicy": "omit"}
    if fields:
        body["fields"] = list(fields)
    if expand:
        body["$expand"] = _expand(expand)
    return ApiRequest("POST", f"{_project_prefix(project)}/_apis/wit/workitemsbatch", _query(), body)


def wiql(project: str, query: str, top: int | None = None) -> ApiRequest:
    """POST a WIQL query; it answers ids only (fetch fields with ``work_items_batch``)."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"query must be a non-empty WIQL string, got {query!r}")
    if len(query) > 32_000:
        raise ValueError(f"query is {len(query)} characters; WIQL allows at most 32000")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top <= 0):
        raise ValueError(f"top must be a positive integer, got {top!r}")
    params = _query(**{"$top": str(top) if top else None})
    return ApiRequest("POST", f"/{_segment(project, 'project')}/_apis/wit/wiql", params, {"query": query})


# --- comments (preview API) ---------------------------------------------------------------------

def _comments_path(project: str, id: int) -> str:
    return f"/{_segment(project, 'project')}/_apis/wit/workItems/{_work_item_id(id)}/comments"


def add_comment(project: str, id: int, text: str, markdown: bool) -> ApiRequest:
    """POST a discussion comment; without ``format`` ADO stores the text as HTML."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    query = _query(COMMENTS_API_VERSION, format="markdown" if markdown else "html")
    return ApiRequest("POST", _comments_path(project, id), query, {"text": text})


def update_comment(project: str, id: int, comment_id: int, text: str, markdown: bool) -> ApiRequest:
    """PATCH a comment's text (a new comment version); Server ignores ``format`` and keeps HTML."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    query = _query(COMMENTS_API_VERSION, format="markdown" if markdown else "html")
    return ApiRequest("PATCH", f"{_comments_path(project, id)}/{_work_item_id(comment_id, 'comment id')}", query,
                      {"text": text})


def delete_comment(project: str, id: int, comment_id: int) -> ApiRequest:
    """DELETE a comment (ADO keeps it as ``isDeleted``, listed only with ``includeDeleted``)."""
    return ApiRequest("DELETE", f"{_comments_path(project, id)}/{_work_item_id(comment_id, 'comment id')}",
                      _query(COMMENTS_API_VERSION))


IDENTITY_SEARCH_FILTERS = frozenset({"General", "AccountName", "DisplayName", "MailAddress"})


def read_identities(search_filter: str, filter_value: str) -> ApiRequest:
    """``Identities_Read Identities``: people in the directory by email or account. On Services it
    lives on the identity host (``vssps.dev.azure.com/{org}``), on Server at the collection."""
    if search_filter not in IDENTITY_SEARCH_FILTERS:
        raise ValueError(f"search filter must be one of {sorted(IDENTITY_SEARCH_FILTERS)}, got {search_filter!r}")
    if not isinstance(filter_value, str) or not filter_value.strip():
        raise ValueError(f"filter value must be a non-empty string, got {filter_value!r}")
    return ApiRequest("GET", "/_apis/identities", _query(searchFilter=search_filter, filterValue=filter_value.strip(),
                                                          queryMembership="None"))


def list_comments(project: str, id: int, top: int | None = None, continuation_token: str | None = None,
                  order: str | None = None, include_deleted: bool = False) -> ApiRequest:
    """GET one page of comments; the next page comes from the body's ``continuationToken``."""
    if order is not None and order not in COMMENT_ORDERS:
        raise ValueError(f"order must be 'asc' or 'desc', got {order!r}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top <= 0):
        raise ValueError(f"top must be a positive integer, got {top!r}")
    query = _query(COMMENTS_API_VERSION, **{"$top": str(top) if top else None,
                                            "continuationToken": continuation_token, "order": order,
                                            "includeDeleted": "true" if include_deleted else None})
    return ApiRequest("GET", _comments_path(project, id), query)


# --- process metadata ---------------------------------------------------------------------------

def _types_path(project: str) -> str:
    return f"/{_segment(project, 'project')}/_apis/wit/workitemtypes"


def work_item_types(project: str) -> ApiRequest:
    return ApiRequest("GET", _types_path(project), _query())


def work_item_type(project: str, type: str) -> ApiRequest:
    """One type with its states, fields and transitions (to know which fields a type has)."""
    return ApiRequest("GET", f"{_types_path(project)}/{_segment(type, 'work item type')}", _query())


def work_item_type_states(project: str, type: str) -> ApiRequest:
    """States with their category: map sync status by category, never by state name."""
    return ApiRequest("GET", f"{_types_path(project)}/{_segment(type, 'work item type')}/states", _query())


def work_item_type_fields(project: str, type: str, expand: str | None = None) -> ApiRequest:
    if expand is not None and expand not in FIELD_EXPANDS:
        raise ValueError(f"expand must be one of {sorted(FIELD_EXPANDS)}, got {expand!r}")
    path = f"{_types_path(project)}/{_segment(type, 'work item type')}/fields"
    return ApiRequest("GET", path, _query(**{"$expand": expand}))


def classification_nodes(project: str, structure_group: str = "areas", depth: int | None = None) -> ApiRequest:
    """GET the area (or iteration) tree, so configured area paths can be checked before use."""
    if structure_group not in STRUCTURE_GROUPS:
        raise ValueError(f"structure_group must be 'areas' or 'iterations', got {structure_group!r}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    path = f"/{_segment(project, 'project')}/_apis/wit/classificationnodes/{structure_group}"
    return ApiRequest("GET", path, _query(**{"$depth": None if depth is None else str(depth)}))


def classification_node(project: str, structure_group: str, path: str) -> ApiRequest:
    """GET one area or iteration node by its path below the project root (``Shop\\Web`` -> ``Web``),
    so `sentry-ado check` can tell a route's area or iteration path exists (404 VS402485 if not)."""
    if structure_group not in STRUCTURE_GROUPS:
        raise ValueError(f"structure_group must be 'areas' or 'iterations', got {structure_group!r}")
    parts = [p for p in str(path).replace("/", "\\").split("\\") if p]
    if parts and parts[0].lower() == project.lower():
        parts = parts[1:]
    rel = "/".join(quote(p, safe="") for p in parts)
    base = f"/{_segment(project, 'project')}/_apis/wit/classificationnodes/{structure_group}"
    return ApiRequest("GET", f"{base}/{rel}" if rel else base, _query())


def projects(top: int | None = None, continuation_token: str | None = None) -> ApiRequest:
    """GET the collection's projects (core API; next page via the X-MS-ContinuationToken header)."""
    return ApiRequest("GET", "/_apis/projects",
                      _query(**{"$top": str(top) if top else None, "continuationToken": continuation_token}))


def connection_data() -> ApiRequest:
    """GET who we are (authenticatedUser.id) — used to recognise our own echoes in service hooks."""
    return ApiRequest("GET", "/_apis/connectionData", _query(CONNECTION_DATA_API_VERSION))


# --- service hook subscriptions -----------------------------------------------------------------

SUBSCRIPTIONS = "/_apis/hooks/subscriptions"


def _subscription_body(subscription: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(subscription, Mapping):
        raise ValueError(f"subscription must be a dict, got {type(subscription).__name__}")
    missing = [k for k in ("publisherId", "eventType", "consumerId", "consumerActionId")
               if not subscription.get(k)]
    if missing:
        raise ValueError(f"subscription is missing {', '.join(missing)}")
    return dict(subscription)


def list_hook_subscriptions(publisher_id: str | None = None, event_type: str | None = None,
                            consumer_id: str | None = None) -> ApiRequest:
    query = _query(publisherId=publisher_id, eventType=event_type, consumerId=consumer_id)
    return ApiRequest("GET", SUBSCRIPTIONS, query)


def create_hook_subscription(subscription: Mapping[str, Any]) -> ApiRequest:
    return ApiRequest("POST", SUBSCRIPTIONS, _query(), _subscription_body(subscription))


def replace_hook_subscription(subscription_id: str, subscription: Mapping[str, Any]) -> ApiRequest:
    path = f"{SUBSCRIPTIONS}/{_segment(subscription_id, 'subscription id')}"
    return ApiRequest("PUT", path, _query(), _subscription_body(subscription))


def delete_hook_subscription(subscription_id: str) -> ApiRequest:
    return ApiRequest("DELETE", f"{SUBSCRIPTIONS}/{_segment(subscription_id, 'subscription id')}", _query())


def chunks(ids: Iterable[int], size: int = BATCH_LIMIT) -> list[list[int]]:
    """Split ids into batch-sized lists, keeping order and dropping repeats."""
    unique = list(dict.fromkeys(ids))
    return [unique[i:i + size] for i in range(0, len(unique), size)]
