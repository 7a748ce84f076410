"""Code mappings: from a stack frame's file to a file of an Azure Repos repository, and its URL. Pure.

Sentry's ``stacktrace-link`` UI component is a plain link in each in-app frame: Sentry's server
prepares ``{webhook URL's scheme and host}{uri}?installationId=..&projectSlug=..``
(getsentry/sentry ``src/sentry/sentry_apps/components.py``, ``_prepare_stacktrace_link``) and its
frontend adds the frame's ``lineNo`` and ``filename`` (``static/app/components/events/interfaces/
frame/openInContextLine.tsx``); the person's browser opens it in a new tab. Nothing else of the
event comes with it (no platform, release or commit), so a frame's file is mapped by its path
alone, and the link shows the mapped branch.

A mapping says: frames of these Sentry projects (or all) whose path starts with ``stack_root``
live in ``repository`` of ``ado_project`` under ``source_root``, on ``branch``. Several may apply;
the longest ``stack_root`` wins, and for equal roots one naming the project wins over one for all.
Paths are compared by whole segments, after the same normalisation on both sides: backslashes
become slashes, a drive letter, a URL scheme (``app:///``, ``webpack://``, ``file://``) and leading
``./`` or ``/`` are dropped. A Windows path (a drive letter or backslashes) matches regardless of
case, as its file system does.

Example::

    [[code_mappings]]
    sentry_projects = ["backend"]     # default []: every project
    stack_root = "shop/"              # default "": every frame
    source_root = "src/shop/"         # default ""
    ado_project = "Shop"
    repository = "shop-api"
    branch = "main"                   # default "main"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from shared import identifiers as ids
from shared.config_error import ConfigError, unknown_key

MAPPING_KEYS = frozenset({"sentry_projects", "stack_root", "source_root", "ado_project", "repository", "branch"})
DEFAULT_BRANCH = "main"
MAX_PATH = 1024  # longer "filenames" are not source files; nothing is looked up for them
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*/*")  # app:///, webpack://name/, file:///
_DRIVE = re.compile(r"^[a-zA-Z]:(?=/|$)")
_BRANCH_BAD = re.compile(r"[\x00-\x20~^:?*\[\\]|\.\.|//|@\{|\.lock$|^/|/$|\.$")


@dataclass(frozen=True)
class CodeMapping:
    """Frames under ``stack_root`` are ``source_root`` of ``repository`` in ``ado_project``."""

    ado_project: str
    repository: str
    stack_root: str = ""
    source_root: str = ""
    branch: str = DEFAULT_BRANCH
    sentry_projects: tuple[str, ...] = ()  # empty: every project

    def applies_to(self, sentry_project: str) -> bool:
        return not self.sentry_projects or sentry_project in self.sentry_projects


@dataclass(frozen=True)
class SourceFile:
    """Where a frame's file lives: the mapping that matched and the path in the repository."""

    mapping: CodeMapping
    path: str  # repository path, starting with "/"


def normalise(path: str) -> tuple[str, bool]:
    """A frame path (or a root) as slash-separated segments without scheme, drive or leading
    ``./``; and whether it was a Windows path (compared without regard to case)."""
    windows = "\\" in path or bool(re.match(r"^[a-zA-Z]:[\\/]", path))
    text = _SCHEME.sub("", path.strip().replace("\\", "/"))
    text = _DRIVE.sub("", text)
    text = re.sub(r"/{2,}", "/", text)
    while text.startswith(("./", "/")):
        text = text[2:] if text.startswith("./") else text[1:]
    return text, windows


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s and s != "."]


def _starts_with(path: list[str], root: list[str], fold: bool) -> bool:
    if len(root) > len(path):
        return False
    pairs = zip(path, root, strict=False)
    return all((a.casefold() == b.casefold()) if fold else a == b for a, b in pairs)


def resolve(mappings: Sequence[CodeMapping], sentry_project: str, filename: str) -> SourceFile | None:
    """The file a frame names, by the best mapping for the project; None when none applies or the
    path cannot be a repository file (empty, too long, or climbing out with ``..``)."""
    if not filename or len(filename) > MAX_PATH:
        return None
    text, windows = normalise(filename)
    frame = _segments(text)
    if not frame or ".." in frame:
        return None
    best: tuple[tuple[int, int], CodeMapping] | None = None
    for mapping in mappings:
        if not mapping.applies_to(sentry_project):
            continue
        root = _segments(normalise(mapping.stack_root)[0])
        if not _starts_with(frame, root, windows):
            continue
        rank = (len(root), 1 if mapping.sentry_projects else 0)
        if best is None or rank > best[0]:
            best = (rank, mapping)
    if best is None:
        return None
    mapping = best[1]
    rest = frame[len(_segments(normalise(mapping.stack_root)[0])):]
    if not rest:
        return None
    source = _segments(normalise(mapping.source_root)[0])
    return SourceFile(mapping, "/" + "/".join(source + rest))


def source_url(org_url: str, found: SourceFile, line: int | None) -> str:
    """The Azure Repos page of the file at the mapped branch, with the line selected:
    ``{org}/{project}/_git/{repo}?path=/{file}&version=GB{branch}&line={n}`` on Services
    (``https://dev.azure.com/{org}``) and Server (``https://host/tfs/{collection}``) alike; the line
    parameters are those Sentry's own Azure DevOps integration adds (getsentry/sentry
    ``static/app/utils/integrationUtil.tsx``, ``getIntegrationSourceUrl``)."""
    m = found.mapping
    query: dict[str, str] = {"path": found.path, "version": f"GB{m.branch}"}
    if line:
        query |= {"line": str(line), "lineEnd": str(line + 1), "lineStartColumn": "1", "lineEndColumn": "1",
                  "lineStyle": "plain", "_a": "contents"}
    base = f"{org_url.rstrip('/')}/{quote(m.ado_project, safe='')}/_git/{quote(m.repository, safe='')}"
    return f"{base}?{urlencode(query, quote_via=quote, safe='/')}"


class BadLinkRequest(ValueError):
    """A stack-trace link whose query Sentry would not have built; the message names the parameter."""


@dataclass(frozen=True)
class LinkRequest:
    """What a stack-trace link carries (``uri?installationId&projectSlug&lineNo&filename``)."""

    installation: str
    sentry_project: str
    filename: str
    line: int | None


def parse_link_request(params: Mapping[str, str]) -> LinkRequest:
    """The link's query; ``lineNo`` may be absent or empty (Sentry sends ``null`` for a frame
    without one, which its query string drops)."""
    try:
        installation = ids.installation_uuid(params.get("installationId"), "installationId")
        project = ids.sentry_project_slug(params.get("projectSlug"), "projectSlug")
    except ids.MalformedIdentifier as exc:
        raise BadLinkRequest(str(exc)) from None
    filename = params.get("filename") or ""
    if not filename.strip():
        raise BadLinkRequest("filename: the frame's file is missing")
    raw_line = (params.get("lineNo") or "").strip()
    if raw_line in ("", "null", "undefined"):
        line = None
    elif raw_line.isascii() and raw_line.isdigit() and 0 < int(raw_line) < 10_000_000:
        line = int(raw_line)
    else:
        raise BadLinkRequest(f"lineNo: expected a line number, got {raw_line[:40]!r}")
    return LinkRequest(installation, project, filename, line)


def branch_problem(branch: str) -> str | None:
    """Why a name cannot be a git branch (git check-ref-format), or None."""
    if not branch or _BRANCH_BAD.search(branch.removeprefix("refs/heads/")):
        return f"{branch!r} is not a branch name"
    return None


def _text(problems: list[str], where: str, value: Any, default: str | None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or (default is None and not value.strip()):
        problems.append(f"{where}: expected a non-empty string, got {value!r}" if default is None
                        else f"{where}: expected a string, got {value!r}")
        return default or ""
    return value.strip()


def _mapping(problems: list[str], i: int, raw: Any) -> CodeMapping | None:
    where = f"code_mappings[{i}]"
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a table ([[code_mappings]])")
        return None
    problems.extend(unknown_key(where, k, MAPPING_KEYS) for k in sorted(set(raw) - MAPPING_KEYS))
    projects = raw.get("sentry_projects", [])
    if not isinstance(projects, list) or not all(isinstance(p, str) and p for p in projects):
        problems.append(f"{where}.sentry_projects: expected a list of Sentry project slugs, got {projects!r}")
        projects = []
    for key, example in (("ado_project", "Shop"), ("repository", "shop-api")):
        if raw.get(key) in (None, ""):
            problems.append(f'{where}.{key}: is required, e.g. {key} = "{example}"')
    branch = _text(problems, f"{where}.branch", raw.get("branch"), DEFAULT_BRANCH).removeprefix("refs/heads/")
    if (bad := branch_problem(branch)) is not None:
        problems.append(f"{where}.branch: {bad}")
    stack_root = _text(problems, f"{where}.stack_root", raw.get("stack_root"), "")
    source_root = _text(problems, f"{where}.source_root", raw.get("source_root"), "")
    for key, root in (("stack_root", stack_root), ("source_root", source_root)):
        if ".." in _segments(normalise(root)[0]):
            problems.append(f"{where}.{key}: {root!r} must not climb out with '..'")
    required = {key: _text(problems, f"{where}.{key}", raw[key], None) if raw.get(key) not in (None, "") else ""
                for key in ("ado_project", "repository")}
    return CodeMapping(ado_project=required["ado_project"], repository=required["repository"],
                       stack_root=stack_root, source_root=source_root, branch=branch,
                       sentry_projects=tuple(projects))


def parse_code_mappings(raw: Any) -> tuple[CodeMapping, ...]:
    """The ``[[code_mappings]]`` tables; raises ``ConfigError`` listing every bad key at once."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(["code_mappings: expected [[code_mappings]] tables"])
    problems: list[str] = []
    found = [m for i, item in enumerate(raw) if (m := _mapping(problems, i, item)) is not None]
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    for i, m in enumerate(found):
        key = (normalise(m.stack_root)[0].strip("/"), tuple(sorted(m.sentry_projects)))
        if key in seen:
            problems.append(f"code_mappings[{i}]: the same stack_root {m.stack_root!r} for the same projects as "
                            f"code_mappings[{seen[key]}]; keep one")
        seen.setdefault(key, i)
    if problems:
        raise ConfigError(problems)
    return tuple(found)


def repositories(mappings: Iterable[CodeMapping]) -> list[tuple[str, str, str]]:
    """Each distinct (ADO project, repository, branch) the mappings name, for ``sentry-ado check``."""
    return sorted({(m.ado_project, m.repository, m.branch) for m in mappings})
