"""The one factory that turns settings into API clients, shared by the CLI and the runtime.

Kept in one place so the CLI's `check` exercises exactly the credentials the deployed app uses.
"""

from __future__ import annotations

from shared.ado.auth import AdoAuth, ManagedIdentityAuth, PatAuth, ServicePrincipalAuth
from shared.ado.client import AdoClient
from shared.config import Secret, Settings
from shared.sentry.client import SentryClient
from shared.transport import RetryPolicy

# For a person waiting on an answer (a stack-trace link they clicked): two tries within four seconds.
CLICK_POLICY = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_delay_s=1.0, total_budget_s=4.0,
                          connect_timeout_s=1.5, read_timeout_s=3.0)


def _revealed(secret: Secret | None, name: str) -> str:
    """The secret's value; a missing one names its setting (config validation normally prevents it)."""
    if secret is None or not secret:
        raise ValueError(f"{name} is required for this authentication mode")
    return secret.reveal()


def ado_auth(settings: Settings) -> AdoAuth:
    """The auth object for ``ADO_AUTH``: pat, service-principal or managed-identity."""
    if settings.ado_auth == "pat":
        return PatAuth(_revealed(settings.ado_pat, "ADO_PAT"))
    if settings.ado_auth == "service-principal":
        return ServicePrincipalAuth(settings.ado_tenant_id or "", settings.ado_client_id or "",
                                    _revealed(settings.ado_client_secret, "ADO_CLIENT_SECRET"))
    if settings.ado_auth == "managed-identity":
        return ManagedIdentityAuth(settings.ado_client_id)
    raise ValueError(f"ADO_AUTH: expected pat, service-principal or managed-identity, got {settings.ado_auth!r}")


def ado_client(settings: Settings, policy: RetryPolicy | None = None) -> AdoClient:
    """``policy`` None keeps the transport's default (suited to queue functions)."""
    return AdoClient(settings.ado_org_url, ado_auth(settings), policy=policy)


def sentry_client(settings: Settings, policy: RetryPolicy | None = None) -> SentryClient:
    return SentryClient(settings.sentry_base_url, _revealed(settings.sentry_token, "SENTRY_TOKEN"),
                        settings.sentry_org, policy=policy)
