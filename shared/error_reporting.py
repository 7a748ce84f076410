"""The bridge reports its own errors to Sentry when ``SENTRY_DSN`` is set (sentry-sdk).

Without the setting nothing here imports sentry-sdk, so a cold start is unchanged (bench/coldstart.py
measures both). With it, `start` turns on the SDK's logging integration: every ERROR log record (an
exception a function raised, a sync that went to the poison queue, a reconcile pair that failed)
becomes a Sentry event, tagged by `error_context` with the function, event type, Sentry issue and
work item; lower records are kept as breadcrumbs. ``SENTRY_TRACES_SAMPLE_RATE`` (default 0) turns on
performance tracing.

Nothing secret leaves: `scrub` (the SDK's ``before_send`` and ``before_breadcrumb``) replaces the
value of every key that names a credential, every value of a secret app setting wherever it appears,
and anything shaped like a bearer/basic credential, a storage account key or a webhook signature.
Local variables are not sent at all.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)
FILTERED = "[Filtered]"
# app settings whose values are secrets (connection strings carry an account key)
SECRET_SETTINGS = ("SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "ADO_PAT", "ADO_CLIENT_SECRET", "ADO_HOOK_SECRET",
                   "AzureWebJobsStorage", "SENTRY_DSN")
_SENSITIVE_KEY = re.compile(
    r"token|secret|passw|signature|authorization|cookie|credential|api[-_]?key|accountkey|connection|dsn|"
    r"^pat$|[-_]pat$|^x-hook|sig$", re.IGNORECASE)
_SHAPES = (  # (pattern, replacement)
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + FILTERED),
    (re.compile(r"(?i)\b(AccountKey|SharedAccessSignature|sig|client_secret|password)=[^;&\s\"']+"),
     r"\1=" + FILTERED),
    (re.compile(r"\b[0-9a-f]{64}\b"), FILTERED),  # an HMAC-SHA256 hex digest: a webhook signature
    (re.compile(r"(?i)\b(https?://)[^:/@\s]+:[^@/\s]+@"), r"\1" + FILTERED + "@"),  # user:password@ in a URL
)
_state: dict[str, Any] = {"on": False, "secrets": ()}


def enabled() -> bool:
    return bool(_state["on"])


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """The values to hide wherever they appear: each secret setting, and a DSN's public key."""
    values = [env.get(name, "").strip() for name in SECRET_SETTINGS]
    dsn_key = re.match(r"https?://([^@:/]+)[:@]", env.get("SENTRY_DSN", "").strip())
    values += [dsn_key.group(1)] if dsn_key else []
    return tuple(sorted({v for v in values if len(v) >= 4}, key=len, reverse=True))


def scrub_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, FILTERED)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


def scrub(value: Any, secrets: tuple[str, ...] | None = None) -> Any:
    """A copy of an event (or any JSON-like value) with every credential replaced."""
    secrets = _state["secrets"] if secrets is None else secrets
    if isinstance(value, dict):
        return {k: FILTERED if isinstance(k, str) and _SENSITIVE_KEY.search(k) and v not in (None, "", [], {})
                else scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    return value


def _before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return scrub(event)


def _before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return scrub(crumb)


def start(env: Mapping[str, str] | None = None) -> bool:
    """Turn on reporting if ``SENTRY_DSN`` is set; a bad DSN is logged and reporting stays off (the
    app must still index and run)."""
    env = os.environ if env is None else env
    dsn = env.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    try:
        rate = float(env.get("SENTRY_TRACES_SAMPLE_RATE", "") or 0)
    except ValueError:
        log.error("SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1; tracing stays off")
        rate = 0.0
    _state["secrets"] = secret_values(env)
    try:
        sentry_sdk.init(dsn=dsn, traces_sample_rate=min(max(rate, 0.0), 1.0),  # PII off: the default
                        include_local_variables=False, max_request_body_size="never",
                        before_send=_before_send, before_breadcrumb=_before_breadcrumb,
                        integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)])
        from sentry_sdk.integrations.logging import ignore_logger

        # every function reports its own failure, tagged (`reported`, the queue and route shells);
        # the worker's log line for the same exception would only repeat it untagged
        ignore_logger("azure_functions_worker")
    except Exception as exc:  # BadDsn and friends
        log.error("SENTRY_DSN is not a usable DSN (%s); error reporting stays off", type(exc).__name__)
        return False
    _state["on"] = True
    return True


def stop() -> None:
    """Flush what is queued and turn reporting off (tests, and `serve` on exit)."""
    if not _state["on"]:
        return
    import sentry_sdk

    client = sentry_sdk.get_client()
    client.flush(timeout=5)
    client.close()
    _state["on"] = False


def flush(timeout_s: float = 5.0) -> None:
    if _state["on"]:
        import sentry_sdk

        sentry_sdk.flush(timeout=timeout_s)


@contextmanager
def error_context(**tags: Any) -> Iterator[None]:
    """Tag what is reported inside (function, event_type, sentry_issue, work_item); free when off."""
    if not _state["on"]:
        yield
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        for name, value in tags.items():
            if value is not None:
                scope.set_tag(name, str(value))
        yield


def reported(function: str) -> Callable[[F], F]:
    """A function shell whose escaping exception is reported tagged with its name, then re-raised
    for the host (which retries or records the failed invocation)."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:
                with error_context(function=function):
                    log.exception("%s failed", function)
                raise

        return wrapper  # type: ignore[return-value]

    return decorate
