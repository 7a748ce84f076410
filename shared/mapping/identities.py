"""Who is who: a Sentry user or team <-> an Azure DevOps identity. Pure.

Rules, in order:
1. The explicit table (``[identities]`` in the sync rules: Sentry email -> ADO uniqueName) wins.
2. Otherwise an exact, case-insensitive email match against the directory the shell fetched
   (ADO identities' uniqueName/mail; Sentry members' emails).
3. Otherwise nobody is guessed: the result is `Unmatched` with the reason, so the planner can skip
   and report instead of assigning the wrong person. Display names are never matched (they collide).
Unassigning is carried both ways (`Unassigned`). Sentry teams have no ADO counterpart: unmatched.

ADO identities arrive as IdentityRef objects (REST: ``uniqueName``), as ``"Name <unique>"``
strings (service hooks at resource version 1.0), or as a bare uniqueName/email.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_NAME_AND_UNIQUE = re.compile(r"^(?P<name>.*?)\s*<(?P<unique>[^<>]+)>\s*$")


@dataclass(frozen=True)
class AdoIdentity:
    """One ADO user the bridge may assign: uniqueName (email/UPN or DOMAIN\\user), mail, name."""

    unique_name: str
    display_name: str = ""
    mail: str = ""


@dataclass(frozen=True)
class SentryMember:
    """One Sentry organization member with a user account (pending invites have none)."""

    user_id: str
    email: str
    name: str = ""


@dataclass(frozen=True)
class Matched:
    value: str  # ADO uniqueName, or Sentry actor "user:ID"
    display_name: str = ""


@dataclass(frozen=True)
class Unassigned:
    pass


@dataclass(frozen=True)
class Unmatched:
    reason: str
    person: str = ""  # who (a Sentry email or an ADO account), so it is reported once a day, not per event


IdentityResult = Matched | Unassigned | Unmatched


@dataclass(frozen=True)
class ParsedAdoIdentity:
    unique_name: str
    display_name: str


def parse_ado_identity(value: Any) -> ParsedAdoIdentity | None:
    """An ADO identity in any of its wire forms; None for unassigned (empty, null)."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        unique = value.get("uniqueName") or ""
        if not isinstance(unique, str) or not unique:
            raise ValueError(f"ADO identity has no uniqueName: {dict(value)!r}")
        return ParsedAdoIdentity(unique, str(value.get("displayName") or ""))
    if not isinstance(value, str):
        raise ValueError(f"ADO identity must be an IdentityRef object or a string, got {value!r}")
    match = _NAME_AND_UNIQUE.match(value)
    if match:
        return ParsedAdoIdentity(match["unique"].strip(), match["name"].strip())
    return ParsedAdoIdentity(value.strip(), "")


def ado_unique_name(value: Any) -> str | None:
    """The uniqueName an ADO identity value names (None: unassigned), as links record it. Lenient
    where `parse_ado_identity` refuses, since it records what a side holds and assigns nobody: an
    IdentityRef without a uniqueName gives its displayName."""
    if not value:
        return None
    if isinstance(value, Mapping):
        return value.get("uniqueName") or value.get("displayName") or None
    parsed = parse_ado_identity(str(value))
    return parsed.unique_name if parsed else None


def same_ado_identity(a: Any, b: Any) -> bool:
    """Whether two ADO identity values (any wire form) name the same person."""
    pa, pb = parse_ado_identity(a), parse_ado_identity(b)
    if pa is None or pb is None:
        return pa is pb
    return pa.unique_name.casefold() == pb.unique_name.casefold()


def sentry_members_from_api(members: Sequence[Mapping[str, Any]]) -> tuple[SentryMember, ...]:
    """The members Sentry's member list returns that have a user account and an email (a pending
    invite has no user, so nobody can be assigned as it)."""
    out = []
    for m in members:
        user = m.get("user") or {}
        email = m.get("email") or user.get("email")
        if user.get("id") and email:
            out.append(SentryMember(str(user["id"]), email, user.get("name") or m.get("name") or ""))
    return tuple(out)


def sentry_to_ado(assignee: Mapping[str, Any] | None, table: Mapping[str, str],
                  sentry_members: Sequence[SentryMember], ado_directory: Sequence[AdoIdentity]) -> IdentityResult:
    """The ADO identity to assign for a Sentry ``assignedTo``/``assignee`` object."""
    if not assignee:
        return Unassigned()
    kind, actor_id = assignee.get("type", "user"), str(assignee.get("id", ""))
    if kind == "team":
        return Unmatched(f"Sentry team {assignee.get('name') or actor_id!r} has no Azure DevOps counterpart")
    if kind != "user":
        return Unmatched(f"Sentry assignee type {kind!r} is neither user nor team")
    email = assignee.get("email") or next((m.email for m in sentry_members if m.user_id == actor_id), "")
    if not email:
        return Unmatched(f"Sentry user {actor_id} ({assignee.get('name', '')}) has no known email; "
                         "cannot find them in Azure DevOps", f"sentry user {actor_id}")
    mapped = {k.casefold(): v for k, v in table.items()}.get(email.casefold())
    if mapped:
        return Matched(mapped)
    for identity in ado_directory:
        if email.casefold() in (identity.unique_name.casefold(), identity.mail.casefold()):
            return Matched(identity.unique_name, identity.display_name)
    return Unmatched(f"no Azure DevOps identity for Sentry user {email} (none has that email); add "
                     f"\"{email}\" = \"<ADO account>\" to [identities] in the sync rules", email)


def ado_to_sentry(value: Any, table: Mapping[str, str], sentry_members: Sequence[SentryMember],
                  ado_directory: Sequence[AdoIdentity]) -> IdentityResult:
    """The Sentry actor (``user:ID``) to assign for an ADO identity value."""
    parsed = parse_ado_identity(value)
    if parsed is None:
        return Unassigned()
    unique = parsed.unique_name.casefold()
    emails = [email for email, name in table.items() if name.casefold() == unique]
    mail = next((i.mail for i in ado_directory if i.unique_name.casefold() == unique and i.mail), "")
    emails += [e for e in (mail, parsed.unique_name) if "@" in e]
    for email in emails:
        member = next((m for m in sentry_members if m.email.casefold() == email.casefold()), None)
        if member is not None:
            return Matched(f"user:{member.user_id}", member.name)
    who = f"{parsed.display_name} <{parsed.unique_name}>" if parsed.display_name else parsed.unique_name
    mapped = [email for email, name in table.items() if name.casefold() == unique]
    if mapped and not sentry_members:
        return Unmatched(f"[identities] maps {', '.join(mapped)} to {who}, but the Sentry organization's members "
                         "are not known here (to a dry run, give them with --members)", parsed.unique_name)
    if mapped:
        return Unmatched(f"[identities] maps {', '.join(mapped)} to {who}, but no member of the Sentry "
                         "organization has that email", parsed.unique_name)
    fix = f"add \"<sentry email>\" = \"{parsed.unique_name}\" to [identities] in the sync rules"
    if "@" not in parsed.unique_name and not mail:
        fix += " (or give the account a mail attribute in the directory)"
    return Unmatched(f"no Sentry member for Azure DevOps identity {who}; {fix}", parsed.unique_name)


def ado_identity_from_api(record: Mapping[str, Any]) -> AdoIdentity | None:
    """An Identities API record as a directory entry: ``uniqueName`` as IdentityRefs show it (the
    email or UPN on Services, ``DOMAIN\\user`` on Server, from ``Domain`` and ``Account``) and the
    directory's mail attribute, when it has one. Groups and inactive identities are nobody to assign."""
    props = record.get("properties") or {}

    def prop(name: str) -> str:
        value = props.get(name)
        value = value.get("$value") if isinstance(value, Mapping) else value
        return value.strip() if isinstance(value, str) else ""

    if record.get("isContainer") or record.get("isActive") is False:
        return None
    if prop("SchemaClassName") not in ("", "User"):
        return None
    account, domain = prop("Account"), prop("Domain")
    if not account:
        return None
    unique = account if "@" in account or "\\" in account or not domain else f"{domain}\\{account}"
    name = record.get("customDisplayName") or record.get("providerDisplayName") or ""
    return AdoIdentity(unique, name if isinstance(name, str) else "", prop("Mail"))


def sentry_actor(assignee: Mapping[str, Any] | None) -> str | None:
    """Sentry's assignee as the actor string its API accepts (``user:ID`` / ``team:ID``)."""
    if not assignee:
        return None
    return f"{assignee.get('type', 'user')}:{assignee.get('id')}"
