"""What an expected failure means: its kind, whether trying again can help, and the fix, in one place.

The queue functions use it to decide whether a failed message is retried (transient: the network,
throttling, a 5xx, a storage blip, a concurrent change) or set aside at once with one log line
naming the fix (permanent: credentials refused, a permission missing, a project or type that does
not exist, a rule that refuses a field, bad configuration, a bad record: a malformed message or
identifier, a damaged link, `shared.identifiers.BadRecord`). Retrying a permanent failure only
repeats it. The command line uses the same verdicts for its one-line errors and exit codes.

Anything not listed here is not an expected failure (a bug): it keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.ado.errors import (
    AdoAuthError,
    AdoBadRequest,
    AdoError,
    AdoNotFound,
    AdoPermissionDenied,
    AdoProtocolError,
    AdoRateLimited,
    AdoServerError,
    InvalidFieldValue,
    StaleRevision,
)
from shared.config_error import ConfigError
from shared.identifiers import BadRecord
from shared.sentry.errors import (
    SentryAuthError,
    SentryBadRequest,
    SentryError,
    SentryNotFound,
    SentryPermissionDenied,
    SentryProtocolError,
    SentryRateLimited,
    SentryServerError,
)
from shared.store.base import ConcurrentUpdate, StoreUnavailable
from shared.transport import NetworkError

Kind = Literal["config", "bad-record", "auth", "permission", "not-found", "rejected", "network", "throttled", "server",
               "store", "conflict"]
PERMANENT: frozenset[str] = frozenset({"config", "bad-record", "auth", "permission", "not-found", "rejected"})
CHECK = "run `sentry-ado check` to see every setting that is wrong"
ADO_URL_FORM = ("ADO_ORG_URL must be the organization URL https://dev.azure.com/<organization> (or a Server "
                "collection URL https://<server>/tfs/<collection>), with no project after it")
SENTRY_URL_FORM = ("SENTRY_BASE_URL must be https://sentry.io, https://us.sentry.io, https://de.sentry.io or "
                   "your self-hosted URL")


@dataclass(frozen=True)
class Failure:
    kind: Kind
    cause: str
    fix: str

    @property
    def permanent(self) -> bool:
        """Trying the same thing again cannot succeed until a person changes something."""
        return self.kind in PERMANENT

    def line(self) -> str:
        return f"{self.cause}\n  fix: {self.fix}"


def classify(exc: BaseException) -> Failure | None:
    """The failure `exc` stands for, or None when it is not an expected one (a bug)."""
    if isinstance(exc, ConfigError):
        return Failure("config", str(exc), "fix each setting named above (README \"App settings\")")
    if isinstance(exc, BadRecord):  # checked before the clients' errors: a damaged link is one too
        return Failure("bad-record", str(exc), "the record itself cannot succeed as it is: `sentry-ado "
                       "replay-poison --dry-run` says why each poisoned message failed, `sentry-ado links check` "
                       "lists damaged links and `sentry-ado links remove KEY` removes one")
    if isinstance(exc, StoreUnavailable):
        return Failure("store", f"link store unreachable: {exc}",
                       "check LINK_STORE and, for table, AzureWebJobsStorage (locally start Azurite: "
                       "npx azurite --skipApiVersionCheck); for sqlite, SQLITE_PATH must be writable")
    if isinstance(exc, ConcurrentUpdate):
        return Failure("conflict", f"the link changed while it was being saved: {exc}", "none: retried")
    if isinstance(exc, NetworkError):
        return Failure("network", f"no answer: {exc}",
                       f"check the URL settings and that this machine can reach them ({ADO_URL_FORM}; "
                       f"{SENTRY_URL_FORM})")
    if isinstance(exc, AdoError):
        return _ado(exc)
    if isinstance(exc, SentryError):
        return _sentry(exc)
    return None


def _ado(exc: AdoError) -> Failure:
    cause = f"Azure DevOps: {exc}"
    if isinstance(exc, AdoAuthError) and getattr(exc, "scope", None):  # ADO answers both with one 401
        return Failure("auth", cause, f"ADO_PAT was refused: it is wrong or expired, or lacks the scope {exc.scope} "
                                      f"this call needs (User settings > Personal access tokens); {CHECK}")
    if isinstance(exc, AdoAuthError):
        return Failure("auth", cause, "ADO_PAT (or the ADO_AUTH mode's credentials) was refused: create a new PAT "
                                      f"for this organization, or fix ADO_TENANT_ID/ADO_CLIENT_ID/ADO_CLIENT_SECRET; "
                                      f"{CHECK}")
    if isinstance(exc, AdoPermissionDenied):
        return Failure("permission", cause, f"grant the sync identity the permission named above; {CHECK}")
    if isinstance(exc, InvalidFieldValue):
        field = f" {exc.field}" if exc.field else ""
        return Failure("rejected", cause, f"a work item rule refused the field{field}: fix the route's area_path, "
                                          f"iteration_path or fields in the sync rules; {CHECK}")
    if isinstance(exc, AdoNotFound):
        return Failure("not-found", cause, "the project, work item type or item does not exist or is not visible "
                                           f"to the sync identity: fix the route's ado_project/work_item_type or "
                                           f"ADO_ORG_URL; {CHECK}")
    if isinstance(exc, AdoProtocolError):
        return Failure("config", cause, f"{ADO_URL_FORM}; {CHECK}")
    if isinstance(exc, AdoRateLimited):
        return Failure("throttled", cause, "none needed: Azure DevOps throttled the sync identity; retried later")
    if isinstance(exc, AdoServerError):
        return Failure("server", cause, "none needed if it passes: Azure DevOps failed; retried later")
    if isinstance(exc, StaleRevision):
        return Failure("conflict", cause, "none needed: the work item kept changing; retried later")
    if isinstance(exc, AdoBadRequest):
        return Failure("rejected", cause, f"Azure DevOps refused the request as sent; {CHECK}")
    return Failure("server", cause, "retried later")


def _sentry(exc: SentryError) -> Failure:
    cause = f"Sentry: {exc}"
    if isinstance(exc, SentryAuthError):
        return Failure("auth", cause, "SENTRY_TOKEN was refused: create a token under Settings > Developer Settings "
                                      f"> <integration> > Tokens; {CHECK}")
    if isinstance(exc, SentryPermissionDenied):
        return Failure("permission", cause, "give the integration the permission this call needs (Settings > "
                                            f"Developer Settings > <integration> > Permissions); {CHECK}")
    if isinstance(exc, SentryNotFound):
        return Failure("not-found", cause, "check SENTRY_ORG (the organization slug), SENTRY_BASE_URL (the "
                                           f"organization's region) and the issue or project named; {CHECK}")
    if isinstance(exc, SentryProtocolError):
        return Failure("config", cause, f"{SENTRY_URL_FORM}; {CHECK}")
    if isinstance(exc, SentryRateLimited):
        return Failure("throttled", cause, "none needed: Sentry rate-limited the token; retried later")
    if isinstance(exc, SentryServerError):
        return Failure("server", cause, "none needed if it passes: Sentry failed; retried later")
    if isinstance(exc, SentryBadRequest):
        return Failure("rejected", cause, f"Sentry refused the request as sent; {CHECK}")
    return Failure("server", cause, "retried later")
