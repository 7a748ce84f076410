"""The creation form's choices beyond project, type, area and title, as pure functions over plain data:
iteration path, tags, priority, severity, assignee, parent work item, and the fields the chosen type
requires that nothing else fills. The issue page's "Create" form and the alert-rule action's settings
carry the same names (shared/contract.py), are read by the same `parse_choices`, checked against the
type's definition by the same `choice_problems`, and become the same work item target in the planner.

Sentry renders our forms from a static schema, so it cannot add a field per required field of the
chosen type. The type's definition (Work Item Types Field - List, ``$expand=allowedValues``: its
``alwaysRequired``, ``defaultValue`` and ``allowedValues``) is read instead, and each field it
requires that has no default, no route value and is not one the bridge sets is offered in a
numbered select (``required_field_1``..3) whose options name the field and a value
(``Custom.Team=Payments``); a free-text field takes what the person types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared import identifiers as ids
from shared.contract import (
    FIELD_AREA,
    FIELD_ASSIGNEE,
    FIELD_ITERATION,
    FIELD_PARENT,
    FIELD_PRIORITY,
    FIELD_REQUIRED,
    FIELD_SEVERITY,
    FIELD_TAGS,
    FIELD_TITLE,
    FIELD_TYPE,
)
from shared.issue_link import MAX_OPTIONS, FormError, area_paths
from shared.mapping.identities import ado_identity_from_api

PRIORITY = "Microsoft.VSTS.Common.Priority"
SEVERITY = "Microsoft.VSTS.Common.Severity"
ASSIGNED_TO = "System.AssignedTo"
# Fields the bridge or the form's own fields set: never offered as "required" inputs.
SET_BY_BRIDGE = frozenset({
    "System.Title", "System.Description", "Microsoft.VSTS.TCM.ReproSteps", "System.AreaPath",
    "System.IterationPath", "System.Tags", ASSIGNED_TO, PRIORITY, SEVERITY, "System.State", "System.Reason",
    "System.WorkItemType", "System.TeamProject", "System.History", "System.Id", "System.Rev"})
# The form field a rejected Azure DevOps field was chosen in (TF401320 names the field).
FORM_FIELD_OF = {"System.AreaPath": FIELD_AREA, "System.IterationPath": FIELD_ITERATION, "System.Title": FIELD_TITLE,
                 "System.WorkItemType": FIELD_TYPE, PRIORITY: FIELD_PRIORITY, SEVERITY: FIELD_SEVERITY,
                 ASSIGNED_TO: FIELD_ASSIGNEE, "System.Tags": FIELD_TAGS}
MAX_TAG_LENGTH = 400  # ADO refuses longer tags
MAX_TAGS = 20
MIN_SEARCH = 2  # characters typed before the assignee select searches the directory


@dataclass(frozen=True)
class FieldDefinition:
    """One field of a work item type as its definition states it."""

    ref: str
    name: str
    required: bool = False
    default: Any = None
    allowed: tuple[Any, ...] = ()


def field_definitions(raw: Iterable[Mapping[str, Any]]) -> list[FieldDefinition]:
    """Work Item Types Field - List's ``value`` as definitions (entries without a name are dropped)."""
    return [FieldDefinition(str(f["referenceName"]), str(f.get("name") or f["referenceName"]),
                            bool(f.get("alwaysRequired")), f.get("defaultValue"),
                            tuple(f.get("allowedValues") or ()))
            for f in raw if isinstance(f, Mapping) and isinstance(f.get("referenceName"), str)]


def required_inputs(definitions: Sequence[FieldDefinition], preset: Iterable[str] = ()) -> list[FieldDefinition]:
    """The fields a create must name that nothing fills: required, no default, not set by the bridge
    and not in ``preset`` (the route's field defaults)."""
    given = set(preset) | SET_BY_BRIDGE
    return [d for d in definitions if d.required and d.default in (None, "") and d.ref not in given]


@dataclass(frozen=True)
class Choices:
    """What the person chose beyond project, type, area and title (None or empty: not chosen)."""

    iteration_path: str | None = None
    tags: tuple[str, ...] = ()
    priority: int | None = None
    severity: str | None = None
    assignee: str | None = None
    parent: int | None = None
    fields: Mapping[str, str] = field(default_factory=dict)  # required field ref -> value
    slots: Mapping[str, str] = field(default_factory=dict)  # required field ref -> the form field naming it


def parse_tags(raw: Any) -> tuple[str, ...]:
    """Free text: tags separated by ``;`` or ``,`` (ADO's own separator is ``;``)."""
    if raw in (None, ""):
        return ()
    if not isinstance(raw, str):
        raise FormError(f"'{FIELD_TAGS}': expected text such as 'checkout; p1', got {raw!r}")
    tags: list[str] = []
    for tag in raw.replace(",", ";").split(";"):
        tag = tag.strip()
        if not tag or tag.casefold() in {t.casefold() for t in tags}:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise FormError(f"'{FIELD_TAGS}': a tag is at most {MAX_TAG_LENGTH} characters ({tag[:20]!r}...)")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise FormError(f"'{FIELD_TAGS}': at most {MAX_TAGS} tags, got {len(tags)}")
    return tuple(tags)


def _text(values: Mapping[str, Any], name: str) -> str | None:
    raw = values.get(name)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise FormError(f"'{name}': expected text, got {raw!r}")
    return str(raw).strip() or None


def parse_choices(values: Mapping[str, Any]) -> Choices:
    """The choices of a posted form (or alert-rule settings), each malformed one named."""
    priority_text = _text(values, FIELD_PRIORITY)
    if priority_text is not None and not (priority_text.isascii() and priority_text.isdigit()):
        raise FormError(f"'{FIELD_PRIORITY}': expected a priority number such as 2, got {priority_text!r}")
    parent_text = _text(values, FIELD_PARENT)
    try:
        parent = ids.work_item_id(parent_text.removeprefix("#"), f"'{FIELD_PARENT}'") if parent_text else None
    except ids.MalformedIdentifier as exc:
        raise FormError(str(exc)) from None
    fields: dict[str, str] = {}
    slots: dict[str, str] = {}
    for slot in FIELD_REQUIRED:
        chosen = _text(values, slot)
        if chosen is None:
            continue
        ref, sep, value = chosen.partition("=")
        if not sep or "." not in ref or not value.strip():
            raise FormError(f"'{slot}': expected one of the offered values (Field.Name=value), got {chosen!r}")
        fields[ref.strip()] = value.strip()
        slots[ref.strip()] = slot
    return Choices(iteration_path=_text(values, FIELD_ITERATION), tags=parse_tags(values.get(FIELD_TAGS)),
                   priority=int(priority_text) if priority_text else None, severity=_text(values, FIELD_SEVERITY),
                   assignee=_text(values, FIELD_ASSIGNEE), parent=parent, fields=fields, slots=slots)


def _definition(definitions: Sequence[FieldDefinition], ref: str) -> FieldDefinition | None:
    return next((d for d in definitions if d.ref.casefold() == ref.casefold()), None)


def _allowed(definition: FieldDefinition, value: Any) -> bool:
    return not definition.allowed or str(value) in {str(v) for v in definition.allowed}


def choice_problems(choices: Choices, definitions: Sequence[FieldDefinition], preset: Iterable[str],
                    iterations: Sequence[str], project: str, wit: str) -> list[str]:
    """What ADO would refuse among the choices, by the type's definition (empty: fine)."""
    problems: list[str] = []
    if choices.iteration_path and choices.iteration_path.casefold() not in {i.casefold() for i in iterations}:
        problems.append(f"'{FIELD_ITERATION}': {project} has no iteration path {choices.iteration_path!r}")
    picked = ((FIELD_PRIORITY, PRIORITY, choices.priority), (FIELD_SEVERITY, SEVERITY, choices.severity))
    for name, ref, value in picked:
        if value is None:
            continue
        definition = _definition(definitions, ref)
        if definition is None:
            problems.append(f"'{name}': {wit} in {project} has no {ref.rsplit('.', 1)[-1]} field")
        elif not _allowed(definition, value):
            problems.append(f"'{name}': {value!r} is not one of {', '.join(map(str, definition.allowed))}")
    needed = required_inputs(definitions, preset)
    for ref, value in choices.fields.items():
        slot = choices.slots.get(ref, FIELD_REQUIRED[0])
        definition = _definition(definitions, ref)
        if definition is None or definition not in needed:
            problems.append(f"'{slot}': {ref} is not a field {wit} requires (offered: "
                            f"{', '.join(d.ref for d in needed) or 'none'})")
        elif not _allowed(definition, value):
            problems.append(f"'{slot}': {value!r} is not an allowed value of {definition.name} "
                            f"({', '.join(map(str, definition.allowed))})")
    chosen = {ref.casefold() for ref in choices.fields}
    for i, definition in enumerate(needed):
        if definition.ref.casefold() not in chosen:
            slot = FIELD_REQUIRED[i] if i < len(FIELD_REQUIRED) else FIELD_REQUIRED[-1]
            problems.append(f"'{slot}': {wit} in {project} requires {definition.name} ({definition.ref}) and "
                            "nothing sets it: choose a value, or set it in the route's fields")
    return problems


def _option(label: str, value: Any) -> dict[str, str]:
    return {"label": label, "value": str(value)}


def allowed_options(definitions: Sequence[FieldDefinition], ref: str) -> list[dict[str, str]]:
    """A picklist field's allowed values as select options (none when the type lacks the field)."""
    definition = _definition(definitions, ref)
    return [_option(str(v), v) for v in (definition.allowed if definition else ())][:MAX_OPTIONS]


def required_options(definitions: Sequence[FieldDefinition], preset: Iterable[str], slot: int,
                     query: str = "") -> list[dict[str, str]]:
    """The options of the ``slot``-th (0-based) required-field select: its field's allowed values,
    or, for a free-text field, what the person typed."""
    needed = required_inputs(definitions, preset)
    if slot >= len(needed):
        return []
    definition = needed[slot]
    if definition.allowed:
        values = [v for v in definition.allowed if query.strip().casefold() in str(v).casefold()]
        return [_option(f"{definition.name}: {v}", f"{definition.ref}={v}") for v in values][:MAX_OPTIONS]
    typed = query.strip()
    return [_option(f"{definition.name}: {typed}", f"{definition.ref}={typed}")] if typed else []


def iteration_options(root: Mapping[str, Any], query: str = "") -> list[dict[str, str]]:
    """The iteration paths that contain ``query``, as select options."""
    return [_option(p, p) for p in area_paths(root) if query.casefold() in p.casefold()][:MAX_OPTIONS]


def assignee_options(records: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Directory entries as options: ``Display Name <uniqueName>``, valued by the uniqueName ADO
    assigns (the email or UPN on Services, ``DOMAIN\\user`` on Server); groups are nobody to assign."""
    out: list[dict[str, str]] = []
    for record in records:
        found = ado_identity_from_api(record)
        if found is not None and found.unique_name not in {o["value"] for o in out}:
            out.append(_option(f"{found.display_name or found.unique_name} <{found.unique_name}>", found.unique_name))
    return out[:MAX_OPTIONS]


def settings_of(choices: Choices) -> list[dict[str, Any]]:
    """The choices as alert-rule settings (``[{name, value}]``), the form the planner reads."""
    values: list[tuple[str, Any]] = [(FIELD_ITERATION, choices.iteration_path), (FIELD_TAGS, "; ".join(choices.tags)),
                                     (FIELD_PRIORITY, choices.priority), (FIELD_SEVERITY, choices.severity),
                                     (FIELD_ASSIGNEE, choices.assignee), (FIELD_PARENT, choices.parent)]
    values += [(choices.slots.get(ref, FIELD_REQUIRED[i]), f"{ref}={value}")
               for i, (ref, value) in enumerate(choices.fields.items())]
    return [{"name": n, "value": v} for n, v in values if v not in (None, "")]


def form_field_of(ref: str | None, choices: Choices) -> str:
    """The form field to name when ADO refuses ``ref`` (its reference name if no form field set it)."""
    if not ref:
        return "work item"
    return FORM_FIELD_OF.get(ref) or choices.slots.get(ref) or ref
