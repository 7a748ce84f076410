"""Start and stop Azurite (npm, pinned in package.json) on free loopback ports for the test session.

Azurite plays for Azure Storage the part moto plays for AWS: the real Table and Queue protocols, no
cloud account. Tests that need it fail loudly when it cannot start; they never skip silently.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AZURITE_JS = ROOT / "node_modules" / "azurite" / "dist" / "src" / "azurite.js"
# The well-known development account key Azurite documents; not a secret.
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Azurite:
    process: subprocess.Popen
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        base = "http://127.0.0.1"
        return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_KEY};"
                f"BlobEndpoint={base}:{self.blob_port}/devstoreaccount1;"
                f"QueueEndpoint={base}:{self.queue_port}/devstoreaccount1;"
                f"TableEndpoint={base}:{self.table_port}/devstoreaccount1;")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_azurite(timeout_s: float = 30.0, attempts: int = 3) -> Azurite:
    """Azurite on fresh free ports; a port another process took between choosing and binding it
    (EADDRINUSE, seen with several test sessions on one machine) is retried on new ports."""
    if not AZURITE_JS.exists():
        raise RuntimeError(f"Azurite is not installed at {AZURITE_JS}; run `npm ci` (make test does)")
    for attempt in range(1, attempts + 1):
        try:
            return _launch([free_port() for _ in range(3)], timeout_s)
        except PortTaken:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    pass


def _launch(ports: list[int], timeout_s: float) -> Azurite:
    cmd = ["node", str(AZURITE_JS), "--silent", "--disableTelemetry", "--skipApiVersionCheck",
           "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1",
           "--tableHost", "127.0.0.1", "--blobPort", str(ports[0]), "--queuePort", str(ports[1]),
           "--tablePort", str(ports[2])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ.copy())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
            error = PortTaken if "EADDRINUSE" in out else RuntimeError
            raise error(f"Azurite exited with code {proc.returncode}: {out[-2000:]}")
        if all(_accepts(p) for p in ports):
            return Azurite(proc, *ports)
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"Azurite did not open ports {ports} within {timeout_s}s")


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
