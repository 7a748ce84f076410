"""A Sentry issue as the fields of a new work item (JSON Patch operations). Pure.

Rules:
- Title: ``[SHORT-ID] title``, whitespace collapsed, at most `TITLE_LIMIT` UTF-16 code units (ADO
  is .NET: an emoji counts two), cut on a code point boundary and never before a combining mark's
  base, ending with an ellipsis when cut. The short id always survives so people recognise it.
- Body: in the field the type's form shows. Bug in Agile/Scrum/CMMI shows Repro Steps, so the body
  goes to ``Microsoft.VSTS.TCM.ReproSteps`` when the type has that field, else ``System.Description``.
  Markdown on Azure DevOps Services (with the ``/multilineFieldsFormat/{field}`` op, never for the
  title), sanitised HTML on Server.
- Priority (1-4) from Sentry's priority, else its level; Severity only on types with the field.
  Neither is sent to a type known not to have it.
- Tags: ``"; "``-joined. ``add`` merges with the item's tags, ``replace`` sets them exactly.
- A Hyperlink relation points back to the Sentry issue.
- Route values (area, iteration, custom fields) come last among fields so they can set any field
  except those the bridge owns (title, body, state).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.config import SyncRules
from shared.mapping.markup import code_fence, escape_markdown, markdown_to_html

TITLE_LIMIT = 255
ELLIPSIS = "…"
REPRO_STEPS = "Microsoft.VSTS.TCM.ReproSteps"
DESCRIPTION = "System.Description"
PRIORITY = "Microsoft.VSTS.Common.Priority"
SEVERITY = "Microsoft.VSTS.Common.Severity"
TAGS = "System.Tags"
OWNED_FIELDS = frozenset({"System.Title", "System.State", REPRO_STEPS, DESCRIPTION, "System.Id", "System.Rev"})
MAX_FRAMES = 10

JsonPatchOp = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """Where and as what the work item is created: a route, possibly adjusted by alert settings."""

    project: str
    work_item_type: str
    area_path: str | None = None
    iteration_path: str | None = None
    tags: tuple[str, ...] = ("sentry",)
    fields: Mapping[str, Any] = field(default_factory=dict)
    priority: int | None = None  # set by alert-rule settings; else from the issue
    assignee: str | None = None  # chosen in the form; else the Sentry assignee's match
    parent_url: str | None = None  # the parent work item's API URL: a hierarchy link to it


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units, cut between code points and not inside a combining sequence."""
    if _utf16_len(text) <= limit:
        return text
    budget = limit - _utf16_len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for ch in text:
        size = _utf16_len(ch)
        if used + size > budget:
            break
        out.append(ch)
        used += size
    while out and (unicodedata.combining(out[-1]) or out[-1] in "\u200d\ufe0f"):
        out.pop()  # a cut sequence would render differently; drop its tail entirely
    if out and len(out) < len(text) and unicodedata.combining(text[len(out)]):
        out.pop()  # the next char combines with our last one: drop the base too
    return "".join(out).rstrip() + ELLIPSIS


def title(short_id: str, issue_title: str) -> str:
    """The work item title; the Sentry short id always fits whole."""
    clean = " ".join(str(issue_title or "").split()) or "(no title)"
    prefix = f"[{short_id}] " if short_id else ""
    if _utf16_len(prefix) >= TITLE_LIMIT // 2:
        raise ValueError(f"Sentry short id {short_id!r} is too long for a work item title")
    return prefix + truncate(clean, TITLE_LIMIT - _utf16_len(prefix))


def body_field(type_fields: Iterable[str] | None) -> str:
    """The rich-text field the type's form shows for the issue description."""
    return REPRO_STEPS if type_fields is not None and REPRO_STEPS in set(type_fields) else DESCRIPTION


def _has(type_fields: frozenset[str] | None, ref: str) -> bool:
    return type_fields is None or ref in type_fields


def _exception(event: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    values = (((event or {}).get("exception") or {}).get("values")) or []
    if not values:
        for entry in (event or {}).get("entries") or []:
            if entry.get("type") == "exception":
                values = (entry.get("data") or {}).get("values") or []
    return values[-1] if values else None


def _frames(event: Mapping[str, Any] | None) -> list[str]:
    exc = _exception(event)
    frames = ((exc or {}).get("stacktrace") or {}).get("frames") or []
    in_app = [f for f in frames if f.get("inApp") or f.get("in_app")] or frames
    lines = []
    for f in reversed(in_app[-MAX_FRAMES:]):  # Sentry lists outermost first; show the crash first
        where = f.get("filename") or f.get("module") or f.get("absPath") or "?"
        lineno = f.get("lineNo") or f.get("lineno")
        lines.append(f"{where}{f':{lineno}' if lineno else ''} in {f.get('function') or '?'}")
    return lines


def _tag(event: Mapping[str, Any] | None, key: str) -> str | None:
    tags = (event or {}).get("tags") or []
    for t in tags:
        if isinstance(t, Mapping) and t.get("key") == key:
            return str(t.get("value"))
        if isinstance(t, (list, tuple)) and len(t) == 2 and t[0] == key:
            return str(t[1])
    return (event or {}).get(key)


def body_markdown(issue: Mapping[str, Any], event: Mapping[str, Any] | None, issue_url: str,
                  note: str | None = None) -> str:
    """What a developer needs on the work item, as Markdown; user data is escaped."""
    meta = issue.get("metadata") or {}
    exc = _exception(event) or {}
    rows = [
        ("Level", issue.get("level")),
        ("Culprit", issue.get("culprit")),
        ("Exception", exc.get("type") or meta.get("type")),
        ("Message", exc.get("value") or meta.get("value")),
        ("First seen", issue.get("firstSeen")),
        ("Last seen", issue.get("lastSeen")),
        ("Events", issue.get("count")),
        ("Users", issue.get("userCount")),
        ("Environment", _tag(event, "environment")),
        ("Release", _tag(event, "release")),
    ]
    short = escape_markdown(str(issue.get("shortId") or issue.get("id") or "issue"))
    lines = [f"Sentry issue [{short}]({issue_url})", ""]
    if note:
        lines += [escape_markdown(note), ""]
    lines += [f"- **{k}:** {escape_markdown(' '.join(str(v).split()))}" for k, v in rows if v not in (None, "")]
    frames = _frames(event)
    if frames:
        lines += ["", "**Stack (in-app frames, most recent first)**", "", code_fence("\n".join(frames))]
    return "\n".join(lines)


def priority(issue: Mapping[str, Any], rules: SyncRules) -> int | None:
    """ADO priority from Sentry's priority (high/medium/low), else from its level."""
    for key in (issue.get("priority"), issue.get("level")):
        if isinstance(key, str) and key in rules.priority:
            return rules.priority[key]
    return None


def tag_ops(tags: Sequence[str], replace: bool = False) -> list[JsonPatchOp]:
    """``add`` merges with the item's tags; ``replace`` sets exactly these (``""`` clears)."""
    clean = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or ";" in tag:
            raise ValueError(f"tag {tag!r} must be a non-empty string without ';'")
        if tag.strip().casefold() not in {c.casefold() for c in clean}:
            clean.append(tag.strip())
    if not clean and not replace:
        return []
    return [{"op": "replace" if replace else "add", "path": f"/fields/{TAGS}", "value": "; ".join(clean)}]


def hyperlink_op(url: str, comment: str) -> JsonPatchOp:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValueError(f"Sentry issue URL must be an http(s) URL, got {url!r}")
    return {"op": "add", "path": "/relations/-",
            "value": {"rel": "Hyperlink", "url": url, "attributes": {"comment": comment}}}


def _field_op(ref: str, value: Any) -> JsonPatchOp:
    return {"op": "add", "path": f"/fields/{ref}", "value": value}


def create_ops(issue: Mapping[str, Any], event: Mapping[str, Any] | None, target: Target, rules: SyncRules,
               type_fields: Iterable[str] | None, is_services: bool, issue_url: str,
               note: str | None = None) -> list[JsonPatchOp]:
    """The JSON Patch document that creates the work item for a Sentry issue."""
    known = frozenset(type_fields) if type_fields is not None else None
    for ref in target.fields:
        if "." not in ref:
            raise ValueError(f"route field {ref!r} is not a field reference name (like Custom.Team)")
        if ref in OWNED_FIELDS:
            raise ValueError(f"route field {ref!r} is set by the bridge and cannot be configured")
    short_id = str(issue.get("shortId") or "")
    text = body_markdown(issue, event, issue_url, note)
    where = body_field(known)
    ops = [_field_op("System.Title", title(short_id, str(issue.get("title") or "")))]
    if is_services:
        ops += [_field_op(where, text), {"op": "add", "path": f"/multilineFieldsFormat/{where}", "value": "Markdown"}]
    else:
        ops.append(_field_op(where, markdown_to_html(text)))
    prio = target.priority if target.priority is not None else priority(issue, rules)
    if prio is not None and _has(known, PRIORITY):
        ops.append(_field_op(PRIORITY, prio))
    level = issue.get("level")
    if known is not None and SEVERITY in known and level in rules.severity and SEVERITY not in target.fields:
        ops.append(_field_op(SEVERITY, rules.severity[level]))
    if target.area_path:
        ops.append(_field_op("System.AreaPath", target.area_path))
    if target.iteration_path:
        ops.append(_field_op("System.IterationPath", target.iteration_path))
    ops += [_field_op(ref, value) for ref, value in target.fields.items()]
    ops += tag_ops(target.tags)
    ops.append(hyperlink_op(issue_url, f"Sentry issue {short_id}".strip()))
    if target.parent_url:
        ops.append(parent_op(target.parent_url))
    return ops


def parent_op(parent_url: str) -> JsonPatchOp:
    """The hierarchy link to a parent: ``System.LinkTypes.Hierarchy-Reverse`` to its API URL."""
    return {"op": "add", "path": "/relations/-",
            "value": {"rel": "System.LinkTypes.Hierarchy-Reverse", "url": parent_url}}
