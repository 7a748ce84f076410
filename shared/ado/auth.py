"""The three ways this app authenticates to Azure DevOps, each yielding request headers.

PAT (Basic, works on Services and Server), service principal and managed identity (Entra ID
bearer tokens, Services only). The msal application objects are created once per auth object and
reused, because msal's token cache lives in them: a reused object answers from cache and renews
the token shortly before it expires; a fresh object per call would fetch a token every time.
No auth object ever shows its secret in ``repr``/``str`` or in an error message.
"""

from __future__ import annotations

import base64
import threading
from typing import Any, Protocol

import msal
import requests

from shared.ado.errors import AdoAuthError

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
ADO_SCOPE = f"{ADO_RESOURCE}/.default"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


class AdoAuth(Protocol):
    def headers(self) -> dict[str, str]:
        """The Authorization header for the next request (may fetch or renew a token)."""
        ...


def _required(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value.strip()


class PatAuth:
    """Personal access token as Basic auth with an empty user name."""

    def __init__(self, pat: str) -> None:
        token = _required(pat, "pat")
        self._header = "Basic " + base64.b64encode(f":{token}".encode()).decode("ascii")

    def headers(self) -> dict[str, str]:
        return {"Authorization": self._header}

    def __repr__(self) -> str:
        return "PatAuth(pat=<redacted>)"


def _token_or_raise(result: dict[str, Any] | None, who: str) -> dict[str, str]:
    if result and isinstance(result.get("access_token"), str):
        return {"Authorization": f"Bearer {result['access_token']}"}
    result = result or {}
    # error / error_description come from the identity provider and hold no secret of ours.
    detail = result.get("error_description") or result.get("error") or "no token returned"
    raise AdoAuthError(f"{who} token request failed: {result.get('error', 'error')}: {str(detail)[:300]}")


class ServicePrincipalAuth:
    """Entra ID client-credentials grant for an app registration added to the ADO organization.

    ``authority`` overrides ``https://login.microsoftonline.com/{tenant_id}`` (sovereign clouds,
    tests); authority validation and instance discovery are skipped only for an override.
    ``http_client`` is the session msal uses (proxies, a private CA bundle).
    """

    def __init__(self, tenant_id: str, client_id: str, client_secret: str, *, authority: str | None = None,
                 http_client: requests.Session | None = None) -> None:
        tenant = _required(tenant_id, "tenant_id")
        self._client_id = _required(client_id, "client_id")
        self._secret = _required(client_secret, "client_secret")
        self._authority = (_required(authority, "authority") if authority is not None
                           else f"{DEFAULT_AUTHORITY_HOST}/{tenant}")
        self._custom_authority = authority is not None
        self._http_client = http_client
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def _application(self) -> msal.ConfidentialClientApplication:
        """Built on first use (msal fetches the OpenID configuration while constructing), then kept."""
        if self._app is None:
            self._app = msal.ConfidentialClientApplication(
                self._client_id, client_credential=self._secret, authority=self._authority,
                validate_authority=not self._custom_authority,
                instance_discovery=False if self._custom_authority else None,
                http_client=self._http_client, token_cache=msal.TokenCache())
        return self._app

    def headers(self) -> dict[str, str]:
        try:
            with self._lock:
                result = self._application().acquire_token_for_client(scopes=[ADO_SCOPE])
        except (requests.RequestException, ValueError, RuntimeError) as exc:
            raise AdoAuthError(f"service principal token request failed: {type(exc).__name__}") from None
        return _token_or_raise(result, "service principal")

    def __repr__(self) -> str:
        return f"ServicePrincipalAuth(client_id={self._client_id!r}, client_secret=<redacted>)"


class ManagedIdentityAuth:
    """The Function App's managed identity: user-assigned when ``client_id`` is given, else system.

    msal finds the endpoint itself (App Service/Functions: ``IDENTITY_ENDPOINT`` and
    ``IDENTITY_HEADER``; VMs: IMDS). The token request uses the resource id, not a scope.
    """

    def __init__(self, client_id: str | None = None, *, http_client: requests.Session | None = None) -> None:
        self._client_id = None if client_id is None else _required(client_id, "client_id")
        identity: msal.ManagedIdentity = (
            msal.UserAssignedManagedIdentity(client_id=self._client_id) if self._client_id
            else msal.SystemAssignedManagedIdentity())
        self._app = msal.ManagedIdentityClient(identity, http_client=http_client or requests.Session(),
                                               token_cache=msal.TokenCache())
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        try:
            with self._lock:
                result = self._app.acquire_token_for_client(resource=ADO_RESOURCE)
        except (requests.RequestException, msal.ManagedIdentityError, ValueError) as exc:
            raise AdoAuthError(f"managed identity token request failed: {type(exc).__name__}") from None
        return _token_or_raise(result, "managed identity")

    def __repr__(self) -> str:
        kind = f"client_id={self._client_id!r}" if self._client_id else "system-assigned"
        return f"ManagedIdentityAuth({kind})"
