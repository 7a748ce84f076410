"""Azure DevOps client: the request builders carried over ``Transport`` with ADO's conventions.

``base_url`` is the organization URL (``https://dev.azure.com/{org}``) or a Server collection URL
(``https://host/tfs/DefaultCollection``), used as an opaque prefix. Every request carries
``X-TFS-FedAuthRedirect: Suppress`` so bad credentials answer 401 rather than a 203 sign-in page;
a sign-in page that still arrives is an auth error, never data.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from shared.ado import code_requests as code
from shared.ado import endpoints as build
from shared.ado.auth import AdoAuth
from shared.ado.errors import AdoAuthError, AdoNotFound, AdoProtocolError, error_from_response
from shared.api_request import ApiRequest
from shared.transport import RetryPolicy, Transport, server_wait

USER_AGENT = "sentry-ado/0.1"
CONTINUATION_HEADER = "x-ms-continuationtoken"


def identity_url(base_url: str) -> str:
    """Where the Identities API lives: ``https://vssps.dev.azure.com/{org}`` for a Services
    organization URL (``{org}.vssps.visualstudio.com`` for the old form), the collection itself on Server."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if host == "dev.azure.com":
        return urlunsplit((parts.scheme, "vssps.dev.azure.com", parts.path, "", "")).rstrip("/")
    if host.endswith(".visualstudio.com") and ".vssps." not in host:
        return urlunsplit((parts.scheme, host.replace(".visualstudio.com", ".vssps.visualstudio.com"),
                           parts.path, "", "")).rstrip("/")
    return base_url.rstrip("/")


def read_response(response: requests.Response, method: str, path: str) -> Any:
    """The JSON body of a successful response; raises the typed error otherwise."""
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    if status == 203 or (300 <= status < 400) or (200 <= status < 300 and "html" in content_type):
        raise AdoAuthError("Azure DevOps answered with a sign-in page instead of data "
                           "(credentials missing, expired or not accepted)",
                           status=status, method=method, path=path)
    if status >= 400:
        raise error_from_response(status, response.headers, response.text, method, path,
                                  retry_after=server_wait(response.headers, time.time()))
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise AdoProtocolError(f"expected JSON, got {content_type or 'no content type'}",
                               status=status, method=method, path=path) from None


def guarded_by_rev(request: ApiRequest) -> bool:
    body = request.body
    return (request.method.upper() == "PATCH" and isinstance(body, list) and bool(body)
            and isinstance(body[0], Mapping) and body[0].get("op") == "test" and body[0].get("path") == "/rev")




class AdoClient:
    def __init__(self, base_url: str, auth: AdoAuth, *, policy: RetryPolicy | None = None,
                 **transport_options: Any) -> None:
        self._auth = auth
        self.transport = Transport(base_url, self._headers, policy, **transport_options)
        self.base_url = self.transport.base_url

    def __repr__(self) -> str:
        return f"AdoClient({self.base_url!r}, auth={self._auth!r})"

    @property
    def auth(self) -> AdoAuth:
        """The auth object (its repr never shows a secret), for a client on a sibling host (vsrm)."""
        return self._auth

    @property
    def request_count(self) -> int:
        return self.transport.request_count

    def _headers(self) -> dict[str, str]:
        return {**self._auth.headers(), "X-TFS-FedAuthRedirect": "Suppress", "User-Agent": USER_AGENT}

    def send(self, request: ApiRequest, idempotent: bool | None = None) -> Any:
        """Execute any builder's request; returns the JSON body or raises an ``AdoError``.

        A PATCH that opens with ``test /rev`` is safe to replay (a second copy fails the test
        instead of applying twice), so it is retried like a GET unless the caller says otherwise."""
        return self.send_page(request, idempotent)[0]

    def send_page(self, request: ApiRequest, idempotent: bool | None = None) -> tuple[Any, str | None]:
        """Like ``send``, plus the ``x-ms-continuationtoken`` header: lists that page by header
        (projects, teams, graph) say there is more only there, never in the body."""
        if idempotent is None and guarded_by_rev(request):
            idempotent = True
        response = self.transport.send(request, idempotent)
        body = read_response(response, request.method, request.path)
        return body, response.headers.get(CONTINUATION_HEADER) or None

    # --- work items ---

    def create_work_item(self, project: str, type: str, ops: Sequence[Mapping[str, Any]],
                         validate_only: bool = False) -> dict[str, Any]:
        """Not retried after it may have reached ADO: a replayed create would make a duplicate."""
        return self.send(build.create_work_item(project, type, ops, validate_only))

    def update_work_item(self, id: int, ops: Sequence[Mapping[str, Any]], rev: int | None,
                         project: str | None = None) -> dict[str, Any]:
        """With ``rev`` the patch is guarded by ``test /rev``, so replaying it is safe (a replay
        after success fails as ``StaleRevision`` instead of applying twice)."""
        return self.send(build.update_work_item(id, ops, rev, project))

    def get_work_item(self, id: int, expand: str | None = None, project: str | None = None,
                      fields: Sequence[str] | None = None) -> dict[str, Any]:
        return self.send(build.get_work_item(id, expand, project, fields))

    def get_work_items(self, ids: Iterable[int], fields: Sequence[str] | None = None,
                       expand: str | None = None, project: str | None = None) -> list[dict[str, Any]]:
        """Batch-read any number of ids, 200 per call; deleted or hidden ids are left out."""
        found: list[dict[str, Any]] = []
        for chunk in build.chunks(ids):
            body = self.send(build.work_items_batch(chunk, fields, expand, project), idempotent=True)
            found.extend(item for item in (body or {}).get("value", []) if item)
        return found

    def query_ids(self, project: str, query: str, top: int | None = None) -> list[int]:
        """WIQL answers references only; read the items with ``get_work_items``."""
        body = self.send(build.wiql(project, query, top), idempotent=True)
        return [ref["id"] for ref in (body or {}).get("workItems", [])]

    # --- identities ---

    def read_identities(self, search_filter: str, filter_value: str) -> list[dict[str, Any]]:
        """Only on a client whose base URL is the identity host (vssps on Services; see ``identity_url``)."""
        return list((self.send(build.read_identities(search_filter, filter_value), idempotent=True) or {})
                    .get("value") or [])

    # --- comments ---

    def add_comment(self, project: str, id: int, text: str, markdown: bool = True) -> dict[str, Any]:
        return self.send(build.add_comment(project, id, text, markdown))

    def update_comment(self, project: str, id: int, comment_id: int, text: str,
                       markdown: bool = True) -> dict[str, Any]:
        """Idempotent (the same text again is only a new version), so safe to replay."""
        return self.send(build.update_comment(project, id, comment_id, text, markdown), idempotent=True)

    def delete_comment(self, project: str, id: int, comment_id: int) -> Any:
        return self.send(build.delete_comment(project, id, comment_id), idempotent=True)

    def list_comments(self, project: str, id: int, page_size: int = 200,
                      include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every comment, following ``continuationToken`` across pages."""
        comments: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.send(build.list_comments(project, id, page_size, token, include_deleted=include_deleted)) or {}
            comments.extend(page.get("comments", []))
            token = page.get("continuationToken")
            if not token:
                return comments

    # --- process metadata (the app caches it in shared/metadata.py) ---

    def work_item_types(self, project: str) -> list[dict[str, Any]]:
        return self.send(build.work_item_types(project)).get("value", [])

    def work_item_type_states(self, project: str, type: str) -> list[dict[str, Any]]:
        """``[{name, color, category}]``; map sync status by ``category``, never by name."""
        return self.send(build.work_item_type_states(project, type)).get("value", [])

    def work_item_type_fields(self, project: str, type: str) -> list[dict[str, Any]]:
        return self.send(build.work_item_type_fields(project, type, "allowedValues")).get("value", [])

    def area_paths(self, project: str, depth: int = 10) -> dict[str, Any]:
        """The area tree root node (``name``, ``path``, ``children``)."""
        return self.send(build.classification_nodes(project, "areas", depth))

    def classification_node(self, project: str, structure_group: str, path: str) -> dict[str, Any]:
        return self.send(build.classification_node(project, structure_group, path))

    def repositories(self, project: str) -> list[dict[str, Any]]:
        return (self.send(code.list_repositories(project)) or {}).get("value", [])

    def iteration_paths(self, project: str, depth: int = 10) -> dict[str, Any]:
        """The iteration tree root node (``name``, ``path``, ``children``)."""
        return self.send(build.classification_nodes(project, "iterations", depth))

    def projects(self) -> list[dict[str, Any]]:
        """Every project of the organization: the service answers 100 per call and names the
        next page in the ``x-ms-continuationtoken`` header."""
        projects: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            body, token = self.send_page(build.projects(continuation_token=token))
            projects.extend((body or {}).get("value", []))
            if not token or token in seen:  # a repeated token would page forever
                return projects
            seen.add(token)

    def connection_data(self) -> dict[str, Any]:
        return self.send(build.connection_data())

    # --- service hook subscriptions ---

    def list_hook_subscriptions(self, publisher_id: str | None = "tfs", event_type: str | None = None,
                                consumer_id: str | None = "webHooks") -> list[dict[str, Any]]:
        request = build.list_hook_subscriptions(publisher_id, event_type, consumer_id)
        return (self.send(request) or {}).get("value", [])

    def create_hook_subscription(self, subscription: Mapping[str, Any]) -> dict[str, Any]:
        return self.send(build.create_hook_subscription(subscription))

    def replace_hook_subscription(self, subscription_id: str, subscription: Mapping[str, Any]) -> dict[str, Any]:
        return self.send(build.replace_hook_subscription(subscription_id, subscription))

    def delete_hook_subscription(self, subscription_id: str) -> None:
        self.send(build.delete_hook_subscription(subscription_id))

    # --- builds and commits (commit tracking) ---

    def get_build(self, project: str, build_id: int) -> dict[str, Any]:
        return self.send(code.get_build(project, build_id))

    def get_classic_release(self, project: str, release_id: int) -> dict[str, Any]:
        """Only on a client whose base URL is the Release Management host (vsrm on Services)."""
        return self.send(code.get_classic_release(project, release_id))

    def commits_between(self, project: str, repo: str, old_sha: str | None, new_sha: str,
                        page_size: int = 100, max_commits: int = 1000) -> list[dict[str, Any]]:
        """Commits in ``new_sha`` and not in ``old_sha``, newest first, paged by ``$skip`` until a
        short page; capped at ``max_commits`` to protect both APIs from a runaway range."""
        commits: list[dict[str, Any]] = []
        while len(commits) < max_commits:
            top = min(page_size, max_commits - len(commits))
            request = code.commits_batch(project, repo, old_sha, new_sha, top, len(commits))
            page = (self.send(request, idempotent=True) or {}).get("value", [])
            commits.extend(page)
            if len(page) < top:
                break
        return commits

    def get_commit(self, project: str, repo: str, commit_id: str, change_count: int | None = None) -> dict[str, Any]:
        return self.send(code.get_commit(project, repo, commit_id, change_count))

    def commit_changes(self, project: str, repo: str, commit_id: str, page_size: int = 100) -> list[dict[str, Any]]:
        """Every changed item of one commit, paged until a short page."""
        changes: list[dict[str, Any]] = []
        while True:
            page = (self.send(code.commit_changes(project, repo, commit_id, page_size, len(changes)))
                    or {}).get("changes", [])
            changes.extend(page)
            if len(page) < page_size:
                return changes

    # --- Azure Repos files (stack-trace links) ---

    def git_item_exists(self, project: str, repo: str, path: str, branch: str) -> bool:
        """Whether ``path`` is in ``repo`` at the head of ``branch``; a missing file, branch or
        repository is False (ADO answers 404 for each), any other failure raises."""
        try:
            self.send(code.git_item(project, repo, path, branch), idempotent=True)
        except AdoNotFound:
            return False
        return True

    def git_repository(self, project: str, repo: str) -> dict[str, Any]:
        return self.send(code.git_repository(project, repo), idempotent=True)

    def git_branch_exists(self, project: str, repo: str, branch: str) -> bool:
        refs = (self.send(code.git_branch(project, repo, branch), idempotent=True) or {}).get("value") or []
        return any(r.get("name") == f"refs/heads/{branch}" for r in refs)
