"""Work items as the emulator stores them (revisions, comments, recycle bin) and how REST shows them.

A work item is a list of immutable revisions; every accepted change appends one. Rendering turns
a revision into the REST ``WorkItem`` shape (identities as IdentityRef objects) or the service-hook
resourceVersion 1.0 shape (identities as ``"Display <unique>"`` strings).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.ado.identities import Identity
from sandbox.ado.processes import ProcessDef

_NS = uuid.UUID("0b6f4f7e-2a3e-4d4b-9f59-9c1f3b1f6a22")


@dataclass(frozen=True)
class Project:
    name: str
    process: ProcessDef
    areas: tuple[str, ...]  # child paths below the root, e.g. ("Web", "Web\\Checkout")
    iterations: tuple[str, ...] = ("Sprint 1", "Sprint 2", "Sprint 3")

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NS, self.name.lower()))

    def area_paths(self) -> frozenset[str]:
        return frozenset([self.name, *(f"{self.name}\\{a}" for a in self.areas)])

    def iteration_paths(self) -> frozenset[str]:
        return frozenset([self.name, *(f"{self.name}\\{i}" for i in self.iterations)])


@dataclass(frozen=True)
class Revision:
    rev: int
    fields: dict[str, Any]
    relations: tuple[dict[str, Any], ...]
    formats: dict[str, str]
    history: str | None  # the discussion text added in this revision, if any


@dataclass
class Comment:
    id: int
    work_item_id: int
    text: str
    format: str  # "markdown" | "html"
    created_by: Identity
    created_date: str
    version: int = 1
    modified_by: Identity | None = None
    modified_date: str | None = None
    is_deleted: bool = False
    # earlier versions, oldest first: (version, text, format, modified by, modified date)
    versions: list[tuple[int, str, str, Identity, str]] = field(default_factory=list)


@dataclass
class WorkItem:
    id: int
    project: Project
    revisions: list[Revision] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    deleted: bool = False
    deleted_by: Identity | None = None
    deleted_date: str | None = None

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    @property
    def rev(self) -> int:
        return self.current.rev

    @property
    def type_name(self) -> str:
        return self.current.fields["System.WorkItemType"]


def _value(value: Any, base_url: str, identities_as: str) -> Any:
    if isinstance(value, Identity):
        return value.ref(base_url) if identities_as == "ref" else value.distinct()
    return value


def render_fields(item: WorkItem, revision: Revision, base_url: str, identities_as: str = "ref",
                  only: list[str] | None = None) -> dict[str, Any]:
    """The ``fields`` map: set fields only, System.Id and System.Rev included, History of this rev."""
    values = {"System.Id": item.id, **revision.fields, "System.Rev": revision.rev}
    if revision.history is not None:
        values["System.History"] = revision.history
    out = {k: _value(v, base_url, identities_as) for k, v in values.items() if v is not None}
    if only is not None:
        wanted = {f.lower() for f in only}
        out = {k: v for k, v in out.items() if k.lower() in wanted}
    return out


def item_url(item: WorkItem, base_url: str, resource: str = "workItems") -> str:
    return f"{base_url}/{item.project.id}/_apis/wit/{resource}/{item.id}"


def item_links(item: WorkItem, base_url: str) -> dict[str, Any]:
    url = item_url(item, base_url)
    return {
        "self": {"href": url},
        "workItemUpdates": {"href": f"{url}/updates"},
        "workItemRevisions": {"href": f"{url}/revisions"},
        "workItemComments": {"href": f"{url}/comments"},
        "html": {"href": f"{base_url}/{item.project.id}/_workitems/edit/{item.id}"},
        "workItemType": {"href": f"{base_url}/{item.project.id}/_apis/wit/workItemTypes/{item.type_name}"},
        "fields": {"href": f"{base_url}/{item.project.id}/_apis/wit/fields"},
    }


def render_relations(revision: Revision) -> list[dict[str, Any]]:
    return [dict(r, attributes=dict(r.get("attributes") or {})) for r in revision.relations]


def render_work_item(item: WorkItem, base_url: str, expand: str = "none", only: list[str] | None = None,
                     revision: Revision | None = None) -> dict[str, Any]:
    """REST ``WorkItem``: relations only with $expand relations/all, _links with links/all."""
    rev = revision or item.current
    expand = (expand or "none").lower()
    out: dict[str, Any] = {"id": item.id, "rev": rev.rev,
                           "fields": render_fields(item, rev, base_url, "ref", only)}
    if expand in ("relations", "all") and rev.relations:
        out["relations"] = render_relations(rev)
    if rev.formats:
        out["multilineFieldsFormat"] = dict(rev.formats)
    if expand in ("links", "all") or only is None:
        out["_links"] = item_links(item, base_url)
    out["url"] = item_url(item, base_url)
    return out


def render_comment(comment: Comment, item: WorkItem, base_url: str, rendered: str | None = None) -> dict:
    out = {
        "workItemId": comment.work_item_id, "id": comment.id, "version": comment.version,
        "text": comment.text, "format": comment.format,
        "createdBy": comment.created_by.ref(base_url), "createdDate": comment.created_date,
        "modifiedBy": (comment.modified_by or comment.created_by).ref(base_url),
        "modifiedDate": comment.modified_date or comment.created_date,
        "isDeleted": comment.is_deleted, "mentions": [], "reactions": [],
        "url": f"{item_url(item, base_url)}/comments/{comment.id}",
    }
    if rendered is not None:
        out["renderedText"] = rendered
    return out


def render_delete(item: WorkItem, base_url: str) -> dict[str, Any]:
    """``WorkItemDelete`` as DELETE and the recycle bin return it."""
    return {"id": item.id, "code": 200, "deletedBy": item.deleted_by.distinct() if item.deleted_by else None,
            "deletedDate": item.deleted_date, "name": item.current.fields.get("System.Title"),
            "project": item.project.name, "type": item.type_name,
            "url": item_url(item, base_url, "recycleBin")}


def field_changes(before: Revision | None, after: Revision, base_url: str) -> dict[str, dict[str, Any]]:
    """``{ref: {oldValue?, newValue?}}`` between two revisions, hook-style (identities as strings)."""
    old = {k: _value(v, base_url, "string") for k, v in (before.fields if before else {}).items()
           if v is not None}
    old["System.Rev"] = before.rev if before else None
    new = {k: _value(v, base_url, "string") for k, v in after.fields.items() if v is not None}
    new["System.Rev"] = after.rev
    if after.history is not None:
        new["System.History"] = after.history
    out: dict[str, dict[str, Any]] = {}
    for ref in sorted(set(old) | set(new)):
        o, n = old.get(ref), new.get(ref)
        if o == n:
            continue
        change: dict[str, Any] = {}
        if o is not None:
            change["oldValue"] = o
        if n is not None:
            change["newValue"] = n
        out[ref] = change
    return out
