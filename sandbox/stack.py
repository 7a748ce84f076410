"""The whole product on loopback: both emulators and the local function host, wired together.

Used by `sentry-ado demo`, `sentry-ado serve --sandbox`, the end-to-end tests and the benchmarks.
The app is configured exactly as in Azure, through app settings (environment variables), which
point at the emulators; the emulators deliver their webhooks to the local host's real routes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.ado.emulator import AdoEmulator
from sandbox.ado.identities import Identity
from sandbox.ado.server import domain_account
from sandbox.core import Faults, RunningServer
from sandbox.local_host import LocalHost
from sandbox.sentry import seed as sentry_seed
from sandbox.sentry.emulator import SentryEmulator
from sandbox.sentry.emulator import serve as serve_sentry
from shared import error_reporting, queues
from shared.contract import ADO_WEBHOOK_PATH, SENTRY_WEBHOOK_PATH

DEFAULT_SYNC_CONFIG = Path(__file__).resolve().parent / "default-sync.toml"
ADO_PAT = "sandbox-ado-pat"  # the emulator's token for the bridge identity (see sandbox/ado/seed.py)
HOOK_SECRET = "sandbox-hook-secret"
BRIDGE_PROJECT = "backend"  # where the sandboxed bridge reports its own errors (report_errors)
RETRY_DELAY_S = 0.0  # tests and the demo: retry at once (serve --sandbox waits as Azure does)


@dataclass
class SandboxStack:
    sentry: SentryEmulator
    sentry_server: RunningServer
    ado: AdoEmulator
    ado_server: RunningServer
    host: LocalHost | None
    host_server: RunningServer | None
    env: dict[str, str]

    @property
    def app_url(self) -> str:
        return self.host_server.url if self.host_server else ""

    def settle(self, rounds: int = 20) -> None:
        """Deliver every pending webhook and process every queued message, until all is quiet."""
        for _ in range(rounds):
            before = (len(self.sentry.webhooks.delivered), len(self.ado.webhooks.delivered))
            self.sentry.webhooks.flush()
            self.ado.webhooks.flush()
            if self.host:
                self.host.drain()
            self.sentry.webhooks.flush()
            self.ado.webhooks.flush()
            if (len(self.sentry.webhooks.delivered), len(self.ado.webhooks.delivered)) == before:
                return
        raise TimeoutError(f"the sandbox did not settle within {rounds} rounds (webhook ping-pong?)")

    def journal(self) -> str:
        """Both emulators' request journals, JSON Lines, the sandbox's documented format."""
        return self.sentry.journal.jsonl() + self.ado.journal.jsonl()

    def stop(self) -> None:
        for server in (self.host_server, self.sentry_server, self.ado_server):
            if server:
                server.stop()
        if self.host:
            self.host.stop()


def app_settings(sentry_url: str, ado_org_url: str, workdir: str, sync_config: Path) -> dict[str, str]:
    """The app settings that point the app at the emulators (the same names as in Azure)."""
    return {
        "SENTRY_BASE_URL": sentry_url, "SENTRY_ORG": sentry_seed.ORG_SLUG, "SENTRY_TOKEN": sentry_seed.APP_TOKEN,
        "SENTRY_CLIENT_SECRET": sentry_seed.CLIENT_SECRET, "SENTRY_INSTALLATION_UUID": sentry_seed.INSTALLATION_UUID,
        "ADO_ORG_URL": ado_org_url, "ADO_AUTH": "pat", "ADO_PAT": ADO_PAT, "ADO_HOOK_SECRET": HOOK_SECRET,
        "LINK_STORE": "sqlite", "SQLITE_PATH": str(Path(workdir) / "links.sqlite"),
        "SYNC_CONFIG_PATH": str(sync_config), "RECONCILE_SCHEDULE": "0 */15 * * * *",
    }


@contextmanager
def applied_env(env: Mapping[str, str]) -> Iterator[None]:
    """Set app settings for the duration (and forget any config built from the old ones)."""
    from shared import runtime

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    runtime.reset()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        runtime.reset()


def subscribe_ado_hooks(org_url: str, webhook_url: str, projects: list[str]) -> None:
    """Create the service hook subscriptions the app needs: the work item hooks exactly as
    `sentry-ado subscribe` does, and the YAML-pipeline stage hook a team adds for commit tracking."""
    from shared.ado.auth import PatAuth
    from shared.ado.client import AdoClient
    from shared.setup.subscriptions import ensure_subscriptions

    client = AdoClient(org_url, PatAuth(ADO_PAT))
    ensure_subscriptions(client, projects, webhook_url, HOOK_SECRET)
    ids = {p["name"]: p["id"] for p in client.projects()}
    for project in projects:
        client.create_hook_subscription({
            "publisherId": "pipelines", "eventType": "ms.vss-pipelines.stage-state-changed-event",
            "resourceVersion": "5.1-preview.1", "consumerId": "webHooks", "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": ids[project]},
            "consumerInputs": {"url": webhook_url, "httpHeaders": f"X-Hook-Secret:{HOOK_SECRET}",
                               "resourceDetailsToSend": "all"}})


def server_sync_config(sync_config: Path, workdir: str) -> Path:
    """The sync rules for an Azure DevOps Server collection: the same, with each ``[identities]``
    entry naming the person's domain account (``ava@contoso.com`` -> ``CONTOSO\\ava``), as a
    Server deployment's table must, since its accounts have no email."""
    import tomllib

    rules = tomllib.loads(sync_config.read_text(encoding="utf-8"))
    lines = []
    for line in sync_config.read_text(encoding="utf-8").splitlines():
        for email, unique in (rules.get("identities") or {}).items():
            if line.strip().startswith(f'"{email}"'):
                account = domain_account(Identity("", unique)).unique_name.replace("\\", "\\\\")
                line = f'"{email}" = "{account}"'
        lines.append(line)
    path = Path(workdir) / "server-sync.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def sandbox_stack(workdir: str | None = None, sync_config: Path = DEFAULT_SYNC_CONFIG,
                  with_host: bool = True, faults: Faults | None = None,
                  projects: tuple[str, ...] = ("Shop", "Basic"), app_port: int = 0,
                  ado_server: bool = False, report_errors: bool = False,
                  retry_delay_s: float | None = RETRY_DELAY_S) -> Iterator[SandboxStack]:
    """Start the emulators (and the local host with the real function app), wired together.
    ``ado_server``: Azure DevOps Server 2022.1 (collection URL, domain accounts, HTML, German
    state names) instead of Services; the identity table is rewritten to domain accounts. With
    ``report_errors`` the app reports its own errors to the Sentry emulator (SENTRY_DSN), as a
    team's deployment would to its Sentry; off by default, since the SDK hooks the process's logging.
    A failed queue message is retried after ``retry_delay_s``; None waits host.json's
    ``visibilityTimeout`` (30 s) as Azure does; the default, at once, suits stories and tests."""
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    workdir = workdir or (tmp.name if tmp else ".")
    sentry, sentry_server = serve_sentry(SentryEmulator(faults=faults))
    ado = AdoEmulator(faults=faults, server=True) if ado_server else AdoEmulator("contoso", faults=faults)
    if ado_server:
        sync_config = server_sync_config(sync_config, workdir)
    ado_server = RunningServer(ado)
    ado.host = ado_server.url
    host = host_server = None
    if with_host:
        import function_app

        # indexing reads no settings; they are read per request
        host = LocalHost(function_app.app, retry_delay_s=retry_delay_s)
        host_server = RunningServer(host, port=app_port)
    env = app_settings(sentry_server.url, ado.base_url, workdir, sync_config)
    if host_server:
        env["APP_BASE_URL"] = host_server.url
    if report_errors:
        env["SENTRY_DSN"] = sentry.dsn(BRIDGE_PROJECT, sentry_server.url)
    stack = SandboxStack(sentry, sentry_server, ado, ado_server, host, host_server, env)
    queues.use_local(host)  # the status view and poison replay read the local host's queues
    try:
        with applied_env(env):
            if host_server:
                sentry.configure_webhook(f"{host_server.url}{SENTRY_WEBHOOK_PATH}", sentry_seed.CLIENT_SECRET)
                subscribe_ado_hooks(ado.base_url, f"{host_server.url}{ADO_WEBHOOK_PATH}", list(projects))
            if report_errors:
                error_reporting.start(env)
            yield stack
    finally:
        if report_errors:
            error_reporting.stop()
        queues.use_local(None)
        stack.stop()
        if tmp:
            tmp.cleanup()
