"""Azure Pipelines and Azure Repos requests for commit tracking, as plain ``ApiRequest`` values.

A build tells us the repository and SHA that were deployed; ``commitsbatch`` between the previous
and the new SHA lists what went out. A classic release names its build through its primary Build
artifact; it lives on the Release Management host (``vsrm.dev.azure.com/{org}`` on Services, the
collection URL itself on Server), so send it with a client for that host.
Facts: the official git, build and release 7.1 specs (MicrosoftDocs/vsts-rest-api-specs,
``specification/{git,build,release}/7.1/``) and the service-hooks events reference
(MicrosoftDocs/azure-devops-docs ``docs/service-hooks/events.md``).
"""

from __future__ import annotations

import re

from shared.ado.endpoints import API_VERSION, _segment, _work_item_id
from shared.api_request import ApiRequest

MAX_TOP = 50_000
MAX_SKIP = 3_000_000
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


def _sha(value: object, name: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise ValueError(f"{name} must be a hex commit id, got {value!r}")
    return value


def _bounded(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _branch(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"branch must be a non-empty string, got {value!r}")
    return value


def _repo_path(project: str, repo: str) -> str:
    return f"/{_segment(project, 'project')}/_apis/git/repositories/{_segment(repo, 'repository')}"


def list_repositories(project: str) -> ApiRequest:
    """GET a project's Git repositories (`sentry-ado check` looks for ``[releases]``' repositories)."""
    return ApiRequest("GET", f"/{_segment(project, 'project')}/_apis/git/repositories", {"api-version": API_VERSION})


def get_build(project: str, build_id: int) -> ApiRequest:
    """The build's ``sourceVersion`` (SHA) and ``repository.id`` say what was deployed."""
    path = f"/{_segment(project, 'project')}/_apis/build/builds/{_work_item_id(build_id, 'build id')}"
    return ApiRequest("GET", path, {"api-version": API_VERSION})


def get_classic_release(project: str, release_id: int) -> ApiRequest:
    """``Releases_Get Release`` (vsrm host): ``artifacts[]`` holds the primary Build artifact."""
    path = f"/{_segment(project, 'project')}/_apis/release/releases/{_work_item_id(release_id, 'release id')}"
    return ApiRequest("GET", path, {"api-version": API_VERSION})


def commits_batch(project: str, repo: str, item_version: str | None, compare_version: str,
                  top: int = 100, skip: int = 0) -> ApiRequest:
    """Commits reachable from ``compare_version`` (new SHA) but not from ``item_version`` (old SHA),
    newest first. With no old SHA (a first release) the history of the new SHA is listed, so
    keep ``top`` small then."""
    body: dict[str, object] = {"compareVersion": {"versionType": "commit",
                                                  "version": _sha(compare_version, "compare_version")}}
    if item_version is not None:
        body["itemVersion"] = {"versionType": "commit", "version": _sha(item_version, "item_version")}
    query = {"$top": str(_bounded(top, "top", 1, MAX_TOP)), "$skip": str(_bounded(skip, "skip", 0, MAX_SKIP)),
             "api-version": API_VERSION}
    return ApiRequest("POST", f"{_repo_path(project, repo)}/commitsbatch", query, body)


def get_commit(project: str, repo: str, commit_id: str, change_count: int | None = None) -> ApiRequest:
    """One commit with its full message (list endpoints truncate it) and up to N changes."""
    query = {"api-version": API_VERSION}
    if change_count is not None:
        query["changeCount"] = str(_bounded(change_count, "change_count", 0, MAX_TOP))
    return ApiRequest("GET", f"{_repo_path(project, repo)}/commits/{_sha(commit_id, 'commit_id')}", query)


def commit_changes(project: str, repo: str, commit_id: str, top: int = 100, skip: int = 0) -> ApiRequest:
    path = f"{_repo_path(project, repo)}/commits/{_sha(commit_id, 'commit_id')}/changes"
    query = {"top": str(_bounded(top, "top", 1, MAX_TOP)), "skip": str(_bounded(skip, "skip", 0, MAX_SKIP)),
             "api-version": API_VERSION}
    return ApiRequest("GET", path, query)


def git_item(project: str, repo: str, path: str, branch: str) -> ApiRequest:
    """``Items_Get``: the item's metadata at the head of ``branch`` (404 GitItemNotFoundException,
    TF401174, when the file is not there). The same route lists items with ``scopePath``; ``path``
    names one."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must be a repository path starting with '/', got {path!r}")
    query = {"path": path, "versionDescriptor.version": _branch(branch),
             "versionDescriptor.versionType": "branch", "api-version": API_VERSION}
    return ApiRequest("GET", f"{_repo_path(project, repo)}/items", query)


def git_repository(project: str, repo: str) -> ApiRequest:
    """``Repositories_Get Repository`` by name or id (404 TF401019 when absent or hidden)."""
    return ApiRequest("GET", _repo_path(project, repo), {"api-version": API_VERSION})


def git_branch(project: str, repo: str, branch: str) -> ApiRequest:
    """``Refs_List`` filtered to ``heads/{branch}``: a prefix filter, so the answer may hold longer
    names too; the exact ``refs/heads/{branch}`` is the branch."""
    return ApiRequest("GET", f"{_repo_path(project, repo)}/refs",
                      {"filter": f"heads/{_branch(branch)}", "api-version": API_VERSION})
