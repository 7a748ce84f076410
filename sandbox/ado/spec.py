"""Check one HTTP request against the official Azure DevOps Swagger 2.0 specs (``sandbox/specs/azure-devops``).

``validate_request`` is pure: give it what a client would send and it lists every way the request
departs from the spec (no such route, wrong method, missing/ill-typed query parameter, content
type the operation does not consume, body not matching its schema). The emulator uses it as its
first gate; tests use it to check our own clients' ``ApiRequest``s.

Two generator quirks of the published files are corrected here, both documented in the files'
own descriptions: ``JsonPatchDocument`` is declared ``type: object`` with an ``allOf`` array (it is
an array of operations), and ``JsonPatchOperation.value`` is declared ``object`` although it is
"either a primitive or a JToken". Properties accept ``null`` as the service's JSON reader does.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

from sandbox.ado.extra_spec import EXTRA_PATHS
from shared.api_request import ApiRequest

SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "azure-devops"
SPEC_FILES = ("wit-7.1-workItemTracking.json", "hooks-7.1-serviceHooks.json", "core-7.1-core.json",
              "build-7.1-build.json", "git-7.1-git.json", "pipelines-7.1-pipelines.json",
              "release-7.1-release.json", "ims-7.1-identities.json")
_VERSION = re.compile(r"^(?P<num>\d+\.\d+)(?P<preview>-preview(\.\d+)?)?$")
_MULTI_SEGMENT_PARAMS = {"path"}  # classification node paths span several segments


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    pattern: re.Pattern[str]
    params: tuple[dict[str, Any], ...]
    consumes: tuple[str, ...]
    selector: tuple[str, ...]  # query params an x-ms-paths variant is selected by
    definitions_key: str
    scopes: tuple[str, ...] = ()  # OAuth/PAT scopes the spec lists for it, any one of which will do

    @property
    def preview_only(self) -> bool:
        version = next((p for p in self.params if p.get("name") == "api-version"), {})
        return "preview" in version.get("description", "") or version.get("x-preview", False)


@dataclass(frozen=True)
class Problem:
    kind: str  # route | method | api_version | query | path | content_type | body
    message: str


def _nullable(schema: Any) -> Any:
    """Let every typed schema accept null, as the service's JSON reader does."""
    if isinstance(schema, dict):
        out = {k: _nullable(v) for k, v in schema.items()}
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(schema, list):
        return [_nullable(v) for v in schema]
    return schema


def _fix_definitions(defs: dict[str, Any]) -> dict[str, Any]:
    defs = copy.deepcopy(defs)
    if "JsonPatchDocument" in defs:
        defs["JsonPatchDocument"] = {"type": "array", "items": {"$ref": "#/definitions/JsonPatchOperation"}}
    if "JsonPatchOperation" in defs:
        defs["JsonPatchOperation"]["properties"]["value"] = {}
    return _nullable(defs)


def _compile(template: str, params: list[dict[str, Any]]) -> re.Pattern[str]:
    optional = {p["name"] for p in params if p.get("in") == "path" and p.get("x-ms-required") is False}
    out = ""
    for seg in template.strip("/").split("/"):
        m = re.fullmatch(r"(\$?)\{([^}]+)\}", seg)
        if not m:
            out += "/" + re.escape(seg)
            continue
        name = m.group(2)
        group = re.sub(r"\W", "_", name)
        body = ".+" if name in _MULTI_SEGMENT_PARAMS else "[^/]+"
        piece = f"/{re.escape(m.group(1))}(?P<{group}>{body})"
        out += f"(?:{piece})?" if name in optional else piece
    return re.compile(f"^{out}/?$", re.IGNORECASE)


def _resolve_params(op: dict[str, Any], shared: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in op.get("parameters", []):
        if "$ref" in p:
            key = p["$ref"].rsplit("/", 1)[-1]
            out.append({**shared[key], "x-preview": "preview" in key})
        else:
            out.append(p)
    return out


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[Operation, ...], dict[str, dict[str, Any]]]:
    ops: list[Operation] = []
    definitions: dict[str, dict[str, Any]] = {}
    docs = [(name, json.loads((SPEC_DIR / name).read_text(encoding="utf-8-sig"))) for name in SPEC_FILES]
    docs.append(("extra", {"paths": EXTRA_PATHS}))
    for name, doc in docs:
        definitions[name] = _fix_definitions(doc.get("definitions", {}))
        all_paths = {**doc.get("paths", {}), **doc.get("x-ms-paths", {})}
        for raw, methods in all_paths.items():
            template, _, selector_text = raw.partition("?")
            selector = tuple(re.findall(r"([^=&]+)=\{[^}]+\}", selector_text))
            for method, op in methods.items():
                if method == "parameters":
                    continue
                params = _resolve_params(op, doc.get("parameters", {}))
                scopes = tuple(s for req in op.get("security") or () for s in req.get("oauth2") or ())
                ops.append(Operation(method.upper(), template, op.get("operationId", raw), _compile(
                    template, params), tuple(params), tuple(op.get("consumes") or ("application/json",)),
                    selector, name, scopes))
    return tuple(ops), definitions


def find_operations(method: str, path: str) -> list[Operation]:
    """Operations whose route matches ``path`` and whose method is ``method``."""
    ops, _ = _load()
    return [op for op in ops if op.method == method.upper() and op.pattern.match(path)]


def _check_value(name: str, value: str, spec: dict[str, Any], kind: str) -> list[Problem]:
    type_ = spec.get("type")
    if type_ == "integer" and not re.fullmatch(r"-?\d+", value):
        return [Problem(kind, f"{kind} parameter {name!r} must be an integer, got {value!r}")]
    if type_ == "boolean" and value.lower() not in ("true", "false"):
        return [Problem(kind, f"{kind} parameter {name!r} must be true or false, got {value!r}")]
    enum = spec.get("enum")
    if enum and value.lower() not in {str(e).lower() for e in enum}:
        return [Problem(kind, f"{kind} parameter {name!r} must be one of {', '.join(map(str, enum))}; "
                              f"got {value!r}")]
    return []


def _check_api_version(op: Operation, value: str) -> list[Problem]:
    m = _VERSION.match(value)
    if not m:
        return [Problem("api_version", f"api-version {value!r} is not of the form 7.1 or 7.1-preview.N")]
    if op.preview_only and not m.group("preview"):
        return [Problem("api_version", f"api-version {value!r}: {op.operation_id} is a preview resource; "
                                       "the -preview flag must be supplied")]
    return []


def _check_body(op: Operation, content_type: str | None, body: Any) -> list[Problem]:
    body_param = next((p for p in op.params if p.get("in") == "body"), None)
    if body_param is None:
        return []
    problems = []
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in {c.lower() for c in op.consumes}:
        problems.append(Problem("content_type", f"content type {media or '(none)'!r} is not accepted by "
                                                f"{op.operation_id}; use {', '.join(op.consumes)}"))
    if body is None:
        if body_param.get("required"):
            problems.append(Problem("body", f"{op.operation_id} requires a JSON body"))
        return problems
    schema = {**_nullable(body_param["schema"]), "definitions": _load()[1][op.definitions_key]}
    for err in sorted(Draft4Validator(schema).iter_errors(body), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in err.path) or "(root)"
        problems.append(Problem("body", f"body at {where}: {err.message}"))
    return problems


def check_operation(op: Operation, path: str, query: dict[str, str], content_type: str | None,
                    body: Any) -> list[Problem]:
    """Every way this request departs from one operation's declared parameters and body."""
    problems: list[Problem] = []
    match = op.pattern.match(path)
    values = {k: v for k, v in (match.groupdict() if match else {}).items() if v is not None}
    lowered = {k.lower(): v for k, v in query.items()}
    for p in op.params:
        name = p.get("name", "")
        if p.get("in") == "path" and re.sub(r"\W", "_", name) in values:
            problems += _check_value(name, values[re.sub(r"\W", "_", name)], p, "path")
        elif p.get("in") == "query":
            value = lowered.get(name.lower())
            if value is None:
                if p.get("required"):
                    kind = "api_version" if name == "api-version" else "query"
                    problems.append(Problem(kind, f"missing required query parameter {name!r}"))
            elif name == "api-version":
                problems += _check_api_version(op, value)
            else:
                problems += _check_value(name, value, p, "query")
    return problems + _check_body(op, content_type, body)


def check_request(method: str, path: str, query: dict[str, str], content_type: str | None,
                  body: Any) -> tuple[Operation | None, list[Problem]]:
    """The best-matching operation and its problems; (None, [route problem]) when nothing matches."""
    ops, _ = _load()
    on_path = [op for op in ops if op.pattern.match(path)]
    if not on_path:
        return None, [Problem("route", f"no operation in the Azure DevOps specs matches path {path!r}")]
    candidates = [op for op in on_path if op.method == method.upper()]
    if not candidates:
        allowed = sorted({op.method for op in on_path})
        return None, [Problem("method", f"method {method.upper()} is not allowed on {path!r}; "
                                        f"allowed: {', '.join(allowed)}")]
    lowered = {k.lower() for k in query}
    # An x-ms-paths variant selected by a query parameter wins over the plain route when that parameter is sent.
    selected = ([op for op in candidates if op.selector and all(s.lower() in lowered for s in op.selector)]
                or [op for op in candidates if not op.selector] or candidates)
    results = [(op, check_operation(op, path, query, content_type, body)) for op in selected]
    results.sort(key=lambda r: (len(r[1]), -len(r[0].selector)))
    return results[0]


def validate_request(method: str, path: str, query: dict[str, str], content_type: str | None,
                     body: Any) -> list[str]:
    """Problems with one request, as sentences; empty when the specs accept it.

    ``path`` is the full path including the organization (``/contoso/Shop/_apis/...``);
    ``query`` must include ``api-version`` (move it there if you send it in ``Accept``).
    """
    _, problems = check_request(method, path, query, content_type, body)
    return [p.message for p in problems]


def validate_api_request(request: ApiRequest, organization: str = "contoso") -> list[str]:
    """``validate_request`` for one of our ``ApiRequest``s (paths relative to the org URL)."""
    query = {k: v if isinstance(v, str) else ",".join(v) for k, v in request.query.items()}
    return validate_request(request.method, f"/{organization}{request.path}", query,
                            request.content_type if request.body is not None else None, request.body)
