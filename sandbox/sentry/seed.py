"""The organization a fresh emulator starts with: ``acme`` with two projects, three members in two
teams, and one internal-integration installation with its own token.

Tokens and the client secret are fixed, well-known test values (this is a sandbox) so tests and
demos can use them without reading them back from the emulator.
"""

from __future__ import annotations

from sandbox.sentry.model import Actor, Installation, Member, Organization, Project, Team, User

ORG_SLUG = "acme"
APP_TOKEN = "a" * 64  # the integration's own token: actions appear as the application
# The integration configured as `sentry-ado manifest --commit-tracking` asks: Issue & Event Read &
# Write, Organization Read, Member Read, Project Read, Release Admin.
APP_SCOPES = frozenset({"event:read", "event:write", "org:read", "member:read", "project:read", "project:releases"})
USER_TOKENS = {"alice@example.com": "1" * 64, "bob@example.com": "2" * 64, "carol@example.com": "3" * 64}
CLIENT_SECRET = "sandbox-client-secret"
INSTALLATION_UUID = "7a485448-a9e2-4c85-8a3c-4f44175783c9"
APP_UUID = "64bf2cf4-37ca-4365-8dd3-6b6e56d741b8"
APP_SLUG = "sentry-ado"


def default_organization() -> Organization:
    org = Organization(id=1, slug=ORG_SLUG, name="Acme")
    people = [("Alice Example", "alice", "alice@example.com", "owner"),
              ("Bob Example", "bob", "bob@example.com", "member"),
              ("Carol Example", "carol", "carol@example.com", "member")]
    for index, (name, username, email, role) in enumerate(people, start=1):
        user = User(id=index, name=name, username=username, email=email)
        org.users[user.id] = user
        org.members[100 + index] = Member(id=100 + index, user=user, role=role)
        org.tokens[USER_TOKENS[email]] = Actor("user", user_id=user.id)
    org.teams[11] = Team(id=11, slug="backend-team", name="Backend Team", user_ids={1, 2})
    org.teams[12] = Team(id=12, slug="frontend-team", name="Frontend Team", user_ids={1, 3})
    org.projects[21] = Project(id=21, slug="backend", name="backend", platform="python", team_ids={11})
    org.projects[22] = Project(id=22, slug="frontend", name="frontend", platform="javascript-react", team_ids={12})
    proxy = User(id=900, name="sentry-ado", username="sentry-ado-proxy", email="")
    org.users[proxy.id] = proxy
    org.installations[INSTALLATION_UUID] = Installation(
        uuid=INSTALLATION_UUID, app_uuid=APP_UUID, app_slug=APP_SLUG, app_name="sentry-ado", app_id=31,
        proxy_user_id=proxy.id, client_secret=CLIENT_SECRET)
    org.tokens[APP_TOKEN] = Actor("application", user_id=proxy.id, installation_uuid=INSTALLATION_UUID,
                                  scopes=APP_SCOPES)
    return org
