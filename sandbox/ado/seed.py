"""The organization a fresh emulator starts with: projects per process, people, and a token.

Tests and the local stack rely on these names; change them only together with their users.
"""

from __future__ import annotations

from sandbox.ado.identities import Identity
from sandbox.ado.processes import AGILE, BASIC, CMMI, CUSTOM, SCRUM
from sandbox.ado.workitems import Project

DEFAULT_ORG = "contoso"
BRIDGE = Identity("Sentry Bridge", "sentry-bridge@contoso.com")
PEOPLE = (
    BRIDGE,
    Identity("Jamal Hartnett", "jamal@contoso.com"),
    Identity("Ava Chen", "ava@contoso.com"),
    Identity("Priya Natarajan", "priya@contoso.com"),
)
# The sandbox token of the bridge's identity; a sandbox-only value, not a real credential.
DEFAULT_TOKEN = "sandbox-ado-pat"

PROJECTS = (
    Project("Shop", AGILE, ("Web", "Web\\Checkout", "Api", "Mobile")),
    Project("Basic", BASIC, ("Team A",)),
    Project("Scrum", SCRUM, ("Backend", "Frontend")),
    Project("CMMI", CMMI, ("Platform",)),
    Project("Custom", CUSTOM, ("Triage",)),
)
