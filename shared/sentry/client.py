"""Sentry client: the request builders carried over ``Transport`` with a Bearer token.

``base_url`` is the region host (``https://us.sentry.io``, ``https://de.sentry.io``), the global
``https://sentry.io``, or a self-hosted URL; a trailing ``/api/0`` is tolerated. Rate limits are
honoured by the transport (``X-Sentry-Rate-Limit-Reset`` epoch, ``Retry-After`` if a proxy adds one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import requests

from shared.api_request import ApiRequest
from shared.sentry import endpoints as build
from shared.sentry import release_requests as releases
from shared.sentry.errors import SentryProtocolError, error_from_response
from shared.sentry.pagination import next_cursor
from shared.transport import RetryPolicy, Transport, server_wait

USER_AGENT = "sentry-ado/0.1"
REGION_URLS = {"us": "https://us.sentry.io", "de": "https://de.sentry.io"}


def sentry_base_url(region_or_url: str) -> str:
    """A region code (``us``/``de``) or any base URL, normalised to the host without ``/api/0``."""
    if not isinstance(region_or_url, str) or not region_or_url.strip():
        raise ValueError("Sentry base URL must be a region code (us, de) or an http(s) URL")
    value = region_or_url.strip()
    if value.lower() in REGION_URLS:
        return REGION_URLS[value.lower()]
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"Sentry base URL must be a region code (us, de) or an http(s) URL, got {value!r}")
    value = value.rstrip("/")
    return value[: -len("/api/0")] if value.endswith("/api/0") else value


def read_response(response: requests.Response, method: str, path: str) -> Any:
    status = response.status_code
    if status >= 400:
        raise error_from_response(status, response.text, method, path,
                                  retry_after=server_wait(response.headers, time.time()))
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type") or "no content type"
        raise SentryProtocolError(f"expected JSON, got {content_type}", status=status,
                                  method=method, path=path) from None


class SentryClient:
    def __init__(self, base_url: str, token: str, org: str, *, policy: RetryPolicy | None = None,
                 **transport_options: Any) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token must be a non-empty string")
        if not isinstance(org, str) or not org.strip():
            raise ValueError(f"org must be a non-empty organization slug, got {org!r}")
        self._authorization = f"Bearer {token.strip()}"
        self.org = org
        self.transport = Transport(sentry_base_url(base_url), self._headers, policy, **transport_options)
        self.base_url = self.transport.base_url
        self._members: dict[str, dict[str, Any] | None] = {}
        self._members_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SentryClient({self.base_url!r}, org={self.org!r}, token=<redacted>)"

    @property
    def request_count(self) -> int:
        return self.transport.request_count

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization, "User-Agent": USER_AGENT}

    def send(self, request: ApiRequest, idempotent: bool | None = None) -> Any:
        """Execute any builder's request; returns the JSON body or raises a ``SentryError``."""
        return self.send_page(request, idempotent)[0]

    def send_page(self, request: ApiRequest, idempotent: bool | None = None) -> tuple[Any, str | None]:
        """Like ``send``, plus the next page's cursor (None on the last page)."""
        response = self.transport.send(request, idempotent)
        body = read_response(response, request.method, request.path)
        return body, next_cursor(response.headers.get("Link"))

    def _all_pages(self, first: ApiRequest, with_cursor: Any) -> Iterator[dict[str, Any]]:
        request: ApiRequest | None = first
        while request is not None:
            body, cursor = self.send_page(request)
            yield from body or []
            request = with_cursor(cursor) if cursor else None

    # --- organization and projects ---

    def get_organization(self) -> dict[str, Any]:
        return self.send(build.get_organization(self.org))

    def list_projects(self) -> list[dict[str, Any]]:
        """Every project of the organization, page after page."""
        def page(cursor: str | None) -> ApiRequest:
            return build.list_projects(self.org, cursor)
        return list(self._all_pages(page(None), page))

    # --- issues ---

    def get_issue(self, issue_id: int | str) -> dict[str, Any]:
        return self.send(build.get_issue(self.org, issue_id))

    def update_issue(self, issue_id: int | str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """PUT sets absolute values, so a replay is harmless and the transport may retry it."""
        return self.send(build.update_issue(self.org, issue_id, changes))

    def iter_issues(self, query: str | None = None, project_ids: Sequence[int | str] = (),
                    limit: int = build.PAGE_LIMIT, sort: str | None = None) -> Iterator[dict[str, Any]]:
        """Every matching issue, page after page (``query=None`` means Sentry's is:unresolved)."""
        def page(cursor: str | None) -> ApiRequest:
            return build.list_issues(self.org, query, project_ids, cursor, limit, sort=sort)
        return self._all_pages(page(None), page)

    def get_issues_by_ids(self, ids: Iterable[int | str]) -> list[dict[str, Any]]:
        """Re-read known issues, 100 per call (the page size cap); missing ids are left out."""
        unique = list(dict.fromkeys(str(i) for i in ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(unique), build.PAGE_LIMIT):
            chunk = unique[start:start + build.PAGE_LIMIT]

            def page(cursor: str | None, chunk: list[str] = chunk) -> ApiRequest:
                return build.list_issues(self.org, cursor=cursor, ids=chunk)
            found.extend(self._all_pages(page(None), page))
        return found

    def latest_event(self, issue_id: int | str) -> dict[str, Any]:
        return self.send(build.latest_event(self.org, issue_id))

    # --- comments ---

    def create_comment(self, issue_id: int | str, text: str) -> dict[str, Any]:
        """Not replayed after it may have reached Sentry (a duplicate would be a second note)."""
        return self.send(build.create_comment(self.org, issue_id, text))

    def update_comment(self, issue_id: int | str, note_id: int | str, text: str) -> dict[str, Any]:
        return self.send(build.update_comment(self.org, issue_id, note_id, text))

    def delete_comment(self, issue_id: int | str, note_id: int | str) -> Any:
        return self.send(build.delete_comment(self.org, issue_id, note_id))

    def list_comments(self, issue_id: int | str) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> ApiRequest:
            return build.list_comments(self.org, issue_id, cursor)
        return list(self._all_pages(page(None), page))

    # --- members ---

    def list_members(self, email: str | None = None) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> ApiRequest:
            return build.list_members(self.org, email, cursor)
        return list(self._all_pages(page(None), page))

    def member_by_email(self, email: str) -> dict[str, Any] | None:
        """The org member with this email (cached, misses too, for this client's lifetime)."""
        key = email.strip().lower() if isinstance(email, str) else email
        with self._members_lock:
            if key in self._members:
                return self._members[key]
        members = self.list_members(email)
        member = next((m for m in members if _has_email(m, key)), members[0] if members else None)
        with self._members_lock:
            self._members[key] = member
        return member

    # --- external issue links ---

    def issue_integrations(self, issue_id: int | str) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> ApiRequest:
            return build.issue_integrations(self.org, issue_id, cursor)
        return list(self._all_pages(page(None), page))

    def list_environments(self) -> list[dict[str, Any]]:
        return list(self.send(build.list_environments(self.org)) or [])

    def list_installations(self) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> ApiRequest:
            return build.list_installations(self.org, cursor)
        return list(self._all_pages(page(None), page))

    def create_external_issue(self, installation_uuid: str, issue_id: int | str, web_url: str,
                              project: str, identifier: str) -> dict[str, Any]:
        """An upsert of the one link per (issue, app), so a replay is harmless."""
        request = build.create_external_issue(installation_uuid, issue_id, web_url, project, identifier)
        return self.send(request, idempotent=True)

    def delete_external_issue(self, installation_uuid: str, external_issue_id: int | str) -> None:
        self.send(build.delete_external_issue(installation_uuid, external_issue_id))

    # --- releases and deploys (commit tracking) ---

    def create_release(self, version: str, projects: Sequence[str | int], **fields: Any) -> dict[str, Any]:
        """Idempotent on version (201/208), so the transport may replay it."""
        return self.send(releases.create_release(self.org, version, projects, **fields), idempotent=True)

    def get_release(self, version: str) -> dict[str, Any]:
        """Raises ``SentryNotFound`` while the version does not exist yet."""
        return self.send(releases.get_release(self.org, version))

    def update_release(self, version: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.send(releases.update_release(self.org, version, changes))

    def list_release_commits(self, version: str) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> ApiRequest:
            return releases.list_release_commits(self.org, version, cursor)
        return list(self._all_pages(page(None), page))

    def create_deploy(self, version: str, environment: str, **fields: Any) -> dict[str, Any]:
        """Never replayed after it may have reached Sentry: each call records another deploy."""
        return self.send(releases.create_deploy(self.org, version, environment, **fields))

    def list_deploys(self, version: str) -> list[dict[str, Any]]:
        def page(cursor: str | None) -> ApiRequest:
            return releases.list_deploys(self.org, version, cursor)
        return list(self._all_pages(page(None), page))


def _has_email(member: Mapping[str, Any], email: str) -> bool:
    user = member.get("user") or {}
    addresses = {str(member.get("email", "")).lower(), str(user.get("email", "")).lower()}
    addresses |= {str(e.get("email", "")).lower() for e in user.get("emails", []) if isinstance(e, Mapping)}
    return email in addresses
