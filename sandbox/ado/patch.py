"""Apply a JSON Patch document to a work item the way the service does: pure, all-or-nothing.

Rules modelled (reference shared/reference/azure-devops-api.md §2.2, §2.7-§2.12, §3.2):
``test /rev`` mismatch -> 412; unknown op/path -> 400 PatchOperationFailedException; unknown field
or a field the type lacks -> TF51535; a state the type does not have or a value outside a picklist
-> TF401320; unknown identity -> 600171; area/iteration that does not exist -> TF401347; ``remove``
with a value -> 400; tags merge on ``add`` and are set on ``replace``; read-only fields need
``bypassRules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.ado.errors import AdoError, invalid_patch, rule_error, stale_rev
from sandbox.ado.identities import Identity, resolve
from sandbox.ado.processes import (
    FieldDef,
    WorkItemTypeDef,
    default_reason,
    field_by_name,
    fields_of,
    required_fields,
)

RELATION_TYPES = {"Hyperlink", "ArtifactLink", "AttachedFile", "System.LinkTypes.Hierarchy-Forward",
                  "System.LinkTypes.Hierarchy-Reverse", "System.LinkTypes.Related",
                  "System.LinkTypes.Duplicate-Forward", "System.LinkTypes.Duplicate-Reverse",
                  "System.LinkTypes.Dependency-Forward", "System.LinkTypes.Dependency-Reverse"}
SYSTEM_MANAGED = {"System.Id", "System.Rev", "System.TeamProject", "System.CommentCount",
                  "System.ChangedDate", "System.ChangedBy", "Microsoft.VSTS.Common.StateChangeDate"}
BYPASS_WRITABLE = {"System.CreatedDate", "System.CreatedBy", "System.ChangedDate", "System.ChangedBy"}
MAX_TAGS = 100


@dataclass(frozen=True)
class PatchContext:
    """What the rules need to know besides the patch itself."""

    wit: WorkItemTypeDef
    area_paths: frozenset[str]
    iteration_paths: frozenset[str]
    people: tuple[Identity, ...]
    rev: int | None  # None while creating
    bypass_rules: bool = False
    markdown: bool = True  # Services knows /multilineFieldsFormat; Server does not


@dataclass
class WorkItemDraft:
    """Field values (identities as ``Identity``), relations, and multiline formats being edited."""

    fields: dict[str, Any]
    relations: list[dict[str, Any]] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    history: str | None = None

    def copy(self) -> WorkItemDraft:
        return WorkItemDraft(dict(self.fields), [dict(r) for r in self.relations], dict(self.formats))


def _field_for(ref_or_name: str, ctx: PatchContext) -> FieldDef:
    fdef = field_by_name(ref_or_name)
    if fdef is None or fdef not in fields_of(ctx.wit):
        raise AdoError(400, "WorkItemFieldNotFoundException", f"TF51535: Cannot find field {ref_or_name}.",
                       600120)
    return fdef


def merge_tags(existing: str, added: str) -> str:
    """Union of ``"; "``-separated tag lists, case-insensitive, sorted as the service does."""
    seen: dict[str, str] = {}
    for tag in [*existing.split(";"), *added.split(";")]:
        tag = tag.strip()
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return "; ".join(sorted(seen.values(), key=str.lower))


def _coerce(fdef: FieldDef, value: Any, ctx: PatchContext) -> Any:
    if value is None or value == "":
        return None
    if fdef.type == "identity":
        ident = resolve(value, list(ctx.people))
        if ident is None:
            raise AdoError(400, "WorkItemFieldInvalidException",
                           f"The identity value '{value}' for field '{fdef.name}' is an unknown identity.",
                           600171, 3200, {"ReferenceName": fdef.ref})
        return ident
    if fdef.type == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise AdoError(400, "WorkItemFieldInvalidException",
                           f"The field '{fdef.name}' contains the value '{value}' that is not of type "
                           "Integer.", 600171, 3200, {"ReferenceName": fdef.ref}) from None
    if not isinstance(value, str | int | float | bool):
        raise AdoError(400, "WorkItemFieldInvalidException",
                       f"The field '{fdef.name}' contains a value that is not a string.", 600171, 3200,
                       {"ReferenceName": fdef.ref})
    return str(value) if fdef.type not in ("double", "boolean") else value


def _check_rules(fdef: FieldDef, value: Any, ctx: PatchContext) -> None:
    if value is None:
        return
    if fdef.ref == "System.State" and ctx.wit.category_of(value) is None:
        raise rule_error(fdef.ref, f"The field 'State' contains the value '{value}' that is not in the "
                                   f"list of supported values ({', '.join(s for s, _ in ctx.wit.states)}).")
    if fdef.type == "treePath":
        known = ctx.area_paths if fdef.ref == "System.AreaPath" else ctx.iteration_paths
        if value.lower() not in {p.lower() for p in known}:
            raise AdoError(400, "WorkItemFieldInvalidTreeNameException",
                           f"TF401347: Invalid tree name given for work item -1, field '{fdef.ref}'.",
                           600171, 3200, {"ReferenceName": fdef.ref})
    if fdef.allowed and not ctx.bypass_rules and value not in fdef.allowed:
        raise rule_error(fdef.ref, f"The field '{fdef.name}' contains the value '{value}' that is not in "
                                   "the list of supported values.")


def _set_field(draft: WorkItemDraft, op: str, name: str, value: Any, ctx: PatchContext) -> None:
    fdef = _field_for(name, ctx)
    ref = fdef.ref
    if ref in SYSTEM_MANAGED - BYPASS_WRITABLE or (fdef.read_only and not ctx.bypass_rules):
        raise rule_error(ref, f"TF401326: Invalid field status 'ReadOnly' for field '{ref}'.")
    if ref == "System.WorkItemType":
        raise invalid_patch("Changing the work item type is not supported by this emulator.")
    if op == "remove":
        if value is not None:
            raise invalid_patch("Remove requires Value to be null.")
        draft.fields.pop(ref, None)
        return
    if op == "test":
        current = draft.fields.get(ref)
        shown = current.distinct() if isinstance(current, Identity) else current
        if str(shown) != str(value):
            raise stale_rev(f"/fields/{ref}", value, shown)
        return
    if ref == "System.History":
        draft.history = None if value is None else str(value)
        return
    if ref == "System.Tags":
        text = "" if value is None else str(value)
        merged = merge_tags(draft.fields.get(ref, "") if op == "add" else "", text)
        if len(merged.split("; ")) > MAX_TAGS:
            raise AdoError(400, "WorkItemTagLimitExceededException",
                           f"TF401401: A work item cannot have more than {MAX_TAGS} tags.")
        draft.fields[ref] = merged or None
        return
    coerced = _coerce(fdef, value, ctx)
    _check_rules(fdef, coerced, ctx)
    draft.fields[ref] = coerced


def _relation_index(rest: str, draft: WorkItemDraft) -> int:
    head = rest.split("/", 1)[0]
    if not head.isdigit() or int(head) >= len(draft.relations):
        raise invalid_patch(f"Invalid relation index '{head}' in patch path; the work item has "
                            f"{len(draft.relations)} relation(s).")
    return int(head)


def _patch_relation(draft: WorkItemDraft, op: str, rest: str, value: Any) -> None:
    if rest == "-" and op == "add":
        if not isinstance(value, dict) or not value.get("rel") or not value.get("url"):
            raise invalid_patch("A relation needs 'rel' and 'url'.")
        if value["rel"] not in RELATION_TYPES:
            raise AdoError(400, "WorkItemLinkTypeNotFoundException",
                           f"TF201036: Relation type '{value['rel']}' does not exist.")
        if any(r["rel"] == value["rel"] and r["url"].lower() == value["url"].lower() for r in draft.relations):
            # Exact message unverified (reference §2.7); the service rejects duplicate links with a 4xx.
            raise AdoError(400, "WorkItemLinkAlreadyExistsException",
                           f"Relation already exists: {value['rel']} {value['url']}")
        draft.relations.append({"rel": value["rel"], "url": value["url"],
                                "attributes": dict(value.get("attributes") or {})})
        return
    index = _relation_index(rest, draft)
    tail = rest.split("/", 1)[1] if "/" in rest else ""
    if op == "remove" and not tail:
        draft.relations.pop(index)
    elif op in ("add", "replace") and tail.startswith("attributes/"):
        draft.relations[index]["attributes"][tail.split("/", 1)[1]] = value
    else:
        raise invalid_patch(f"Operation '{op}' is not supported on /relations/{rest}.")


def apply_patch(ops: Any, draft: WorkItemDraft, ctx: PatchContext) -> WorkItemDraft:
    """Apply every operation to a copy of ``draft``; raise ``AdoError`` on the first bad one."""
    if not isinstance(ops, list) or not ops:
        raise invalid_patch("You must pass a valid patch document in the body of the request.")
    out = draft.copy()
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str) or not op.get("op"):
            raise invalid_patch(f"Patch operation {i} must be an object with 'op' and 'path'.")
        verb, path, value = str(op["op"]).lower(), op["path"], op.get("value")
        if verb not in ("add", "replace", "remove", "test"):
            raise invalid_patch(f"Operation '{op['op']}' at index {i} is not supported for work items; use "
                                "add, replace, remove or test.")
        if path.lower() in ("/rev", "/id"):
            if verb != "test":
                raise invalid_patch(f"Only 'test' is allowed on {path}.")
            if path.lower() == "/rev" and ctx.rev is not None and str(value) != str(ctx.rev):
                raise stale_rev("/rev", value, ctx.rev)
        elif path.startswith("/fields/"):
            _set_field(out, verb, path[len("/fields/"):], value, ctx)
        elif path.startswith("/relations/"):
            _patch_relation(out, verb, path[len("/relations/"):], value)
        elif path.startswith("/multilineFieldsFormat/") and ctx.markdown:
            fmt = str(value).lower()
            if fmt not in ("markdown", "html"):
                raise invalid_patch(f"multilineFieldsFormat must be Markdown or Html, got {value!r}.")
            out.formats[_field_for(path.split("/", 2)[2], ctx).ref] = fmt
        else:
            raise invalid_patch(f"Invalid patch path '{path}'.")
    return out


def finish(before: WorkItemDraft | None, after: WorkItemDraft, ctx: PatchContext, project: str) -> WorkItemDraft:
    """Fill defaults on create, default the Reason on a state change, enforce required fields."""
    f = after.fields
    if before is None:
        f.setdefault("System.State", ctx.wit.initial_state)
        f.setdefault("System.AreaPath", project)
        f.setdefault("System.IterationPath", project)
        if "Microsoft.VSTS.Common.Priority" in ctx.wit.extra_fields:
            f.setdefault("Microsoft.VSTS.Common.Priority", 2)
        for ref, default in ctx.wit.required:
            if default is not None and f.get(ref) in (None, ""):
                f[ref] = default
        f["System.WorkItemType"] = ctx.wit.name
        f["System.TeamProject"] = project
    for ref in required_fields(ctx.wit):  # the Title first, then the type's rules
        if f.get(ref) in (None, ""):
            fdef = field_by_name(ref)
            raise rule_error(ref, f"The field '{fdef.name if fdef else ref}' cannot be empty.")
    old_state = before.fields.get("System.State") if before else None
    if f["System.State"] != old_state and (before is None or f.get("System.Reason") ==
                                           before.fields.get("System.Reason")):
        f["System.Reason"] = default_reason(f["System.State"])
    return after
