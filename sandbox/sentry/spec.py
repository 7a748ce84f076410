"""Check one HTTP request against Sentry's official OpenAPI 3 document (plus a few hand-written
operations for routes the document leaves out, see ``extra_spec``).

``validate_request`` is pure and returns every way the request departs from the spec, as
readable strings, so tests can check what our own client sends. ``find_problems`` returns the
same findings as ``Problem`` values, which the emulator turns into the 400 Sentry would send.

Two corrections to the published file, both documented in ``sandbox/specs/sentry/SOURCE.md``:
``required`` lists on PUT bodies are a generator artifact (the endpoints are partial updates), so
they are dropped outside array items; and OpenAPI's ``nullable`` becomes a JSON-Schema ``null``
type. Unknown query parameters are ignored, as Sentry's endpoints ignore them, and an empty optional
parameter counts as absent (sentry-cli sends ``cursor=`` on first pages and sentry.io accepts it).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from sandbox.sentry.extra_spec import EXTRA_QUERY_PARAMS, extra_operations

SPEC_PATH = Path(__file__).resolve().parent.parent / "specs" / "sentry" / "openapi.json"
_UPDATE_ISSUE = ("/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/", "put")
_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Problem:
    kind: str  # route | method | path | query | content_type | body
    field: str  # the parameter or body field at fault ("" when the whole request is)
    message: str

    def __str__(self) -> str:
        return f"{self.kind} {self.field}: {self.message}" if self.field else f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    params: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    content_types: tuple[str, ...]


def _to_json_schema(schema: Any, partial: bool, in_items: bool = False) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: ``nullable`` → null type; optionally drop ``required``."""
    if isinstance(schema, list):
        return [_to_json_schema(s, partial, in_items) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("description", "example", "examples", "nullable"):
            continue
        if key == "required" and partial and not in_items:
            continue
        if key == "properties":
            out[key] = {name: _to_json_schema(sub, partial, in_items) for name, sub in value.items()}
        else:
            out[key] = _to_json_schema(value, partial, in_items or key == "items")
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    return out


def _pattern(template: str) -> tuple[re.Pattern[str], int]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    literals = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
    return re.compile(f"^{regex}$"), literals


def _operation(method: str, template: str, params: list[dict[str, Any]], body: Any,
               content_types: Sequence[str]) -> Operation:
    pattern, literals = _pattern(template)
    schema = _to_json_schema(body, partial=method == "put") if body is not None else None
    extra = EXTRA_QUERY_PARAMS.get((method, template), [])
    return Operation(method, template, pattern, literals, tuple(params) + tuple(extra), schema,
                     tuple(content_types))


@lru_cache(maxsize=1)
def operations() -> tuple[Operation, ...]:
    """Every known operation, most specific template first. Loaded once, on first use."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    ops: list[Operation] = []
    for template, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in _METHODS:
            op = item.get(method)
            if not op:
                continue
            content = (op.get("requestBody") or {}).get("content", {})
            body = next((c.get("schema") for c in content.values() if "schema" in c), None)
            ops.append(_operation(method, template, [*shared, *op.get("parameters", [])], body, list(content)))
    update = spec["paths"][_UPDATE_ISSUE[0]][_UPDATE_ISSUE[1]]["requestBody"]["content"]["application/json"]
    for (method, template), extra in extra_operations(copy.deepcopy(update["schema"])).items():
        body = extra.get("body")
        ops.append(_operation(method, template, extra["parameters"], body,
                              ["application/json"] if body is not None else []))
    return tuple(sorted(ops, key=lambda o: -o.literal_segments))


def match_operation(method: str, path: str) -> tuple[Operation | None, list[Problem]]:
    """The operation a request addresses, or why none does (unknown route vs. wrong method)."""
    candidates = [op for op in operations() if op.pattern.match(path)]
    if not candidates:
        return None, [Problem("route", "", f"no Sentry API route matches {path!r}")]
    for op in candidates:
        if op.method == method.lower():
            return op, []
    allowed = sorted({op.method.upper() for op in candidates})
    return None, [Problem("method", "", f"{method.upper()} is not allowed on {path!r} (allowed: {allowed})")]


def _scalar_problem(name: str, value: str, schema: Mapping[str, Any]) -> str | None:
    """Why a query/path string does not fit a scalar schema, or None when it does."""
    if "anyOf" in schema:
        reasons = [_scalar_problem(name, value, s) for s in schema["anyOf"]]
        return None if any(r is None for r in reasons) else reasons[0]
    kind = schema.get("type", "string")
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return f"{value!r} is not an integer"
    if kind == "boolean" and value.lower() not in ("true", "false", "1", "0"):
        return f"{value!r} is not a boolean"
    if "enum" in schema and value not in [str(e) for e in schema["enum"] if e is not None]:
        return f"{value!r} is not one of {[e for e in schema['enum'] if e is not None]}"
    if kind == "string" and len(value) < schema.get("minLength", 0):
        return f"must not be empty (minLength {schema['minLength']})"
    if kind == "string" and schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not an ISO-8601 date-time"
    return None


def _param_problems(op: Operation, path_values: Mapping[str, str],
                    query: Mapping[str, Sequence[str]]) -> list[Problem]:
    problems: list[Problem] = []
    for param in op.params:
        name, where, schema = param["name"], param["in"], param.get("schema", {})
        if where == "path":
            values = [path_values[name]] if name in path_values else []
        elif where == "query":
            values = list(query.get(name, ()))
        else:
            continue
        if not param.get("required"):
            values = [v for v in values if v != ""]  # Django's `if request.GET.get(x)`: empty = absent
        if not values:
            if param.get("required"):
                problems.append(Problem(where, name, "is required"))
            continue
        item_schema = schema.get("items", {}) if schema.get("type") == "array" else schema
        checked = values if schema.get("type") == "array" else values[-1:]
        for value in checked:
            reason = _scalar_problem(name, value, item_schema)
            if reason:
                problems.append(Problem(where, name, reason))
    return problems


def _body_problems(op: Operation, content_type: str | None, body: Any) -> list[Problem]:
    if body is None:
        return []
    if op.body_schema is None:
        return []
    media = (content_type or "").split(";")[0].strip().lower()
    if op.content_types and media not in op.content_types:
        return [Problem("content_type", "", f"{media or 'no content type'!r} is not one of {list(op.content_types)}")]
    problems = []
    for error in sorted(Draft7Validator(op.body_schema).iter_errors(body), key=lambda e: list(e.path)):
        field = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = re.search(r"'([^']+)' is a required property", error.message)
            field = ".".join(filter(None, [field, missing.group(1) if missing else ""]))
            problems.append(Problem("body", field, "This field is required."))
        elif error.validator == "enum":
            problems.append(Problem("body", field, f'"{error.instance}" is not a valid choice.'))
        else:
            problems.append(Problem("body", field, error.message))
    return problems


def _as_lists(query: Mapping[str, str | Sequence[str]]) -> dict[str, list[str]]:
    return {k: [v] if isinstance(v, str) else [str(x) for x in v] for k, v in query.items()}


def find_problems(method: str, path: str, query: Mapping[str, str | Sequence[str]],
                  content_type: str | None, body: Any) -> list[Problem]:
    """Every departure from the spec; empty when the request is well-formed."""
    op, problems = match_operation(method, path)
    if op is None:
        return problems
    match = op.pattern.match(path)
    path_values = match.groupdict() if match else {}
    return _param_problems(op, path_values, _as_lists(query)) + _body_problems(op, content_type, body)


def validate_request(method: str, path: str, query: Mapping[str, str | Sequence[str]],
                     content_type: str | None, body: Any) -> list[str]:
    """Readable problems with one request (``body`` already JSON-decoded); [] when it conforms."""
    return [str(p) for p in find_problems(method, path, query, content_type, body)]
