"""Identity matching: table first, exact email second, never a guess."""

from __future__ import annotations

import pytest

from shared.mapping.identities import (
    AdoIdentity,
    Matched,
    ParsedAdoIdentity,
    SentryMember,
    Unassigned,
    Unmatched,
    ado_to_sentry,
    ado_unique_name,
    parse_ado_identity,
    same_ado_identity,
    sentry_actor,
    sentry_to_ado,
)

MEMBERS = (SentryMember("789", "Person@Example.com", "Person"), SentryMember("790", "jane@example.com", "Jane"))
ADO = (AdoIdentity("person@example.com", "Person P"), AdoIdentity("CORP\\jdoe", "Jane Doe", "jane@example.com"),
       AdoIdentity("bob@example.com", "Bob"))
TABLE = {"boss@example.com": "CORP\\boss"}


@pytest.mark.parametrize(("assignee", "expected"), [
    ({"type": "user", "id": "789", "email": "person@example.com"}, Matched("person@example.com", "Person P")),
    ({"type": "user", "id": "789"}, Matched("person@example.com", "Person P")),  # email from the member list
    ({"type": "user", "id": "790", "email": "JANE@example.com"}, Matched("CORP\\jdoe", "Jane Doe")),  # by mail
    ({"type": "user", "id": "1", "email": "Boss@Example.com"}, Matched("CORP\\boss")),  # table wins
    (None, Unassigned()),
    ({}, Unassigned()),
])
def test_sentry_to_ado(assignee, expected):
    assert sentry_to_ado(assignee, TABLE, MEMBERS, ADO) == expected


@pytest.mark.parametrize(("assignee", "reason"), [
    ({"type": "team", "id": "5", "name": "backend"}, "Sentry team 'backend' has no Azure DevOps counterpart"),
    ({"type": "user", "id": "999", "name": "Ghost"}, "Sentry user 999 (Ghost) has no known email"),
    ({"type": "user", "id": "1", "email": "stranger@example.com"}, "no Azure DevOps identity for Sentry user "
                                                                   "stranger@example.com"),
    ({"type": "bot", "id": "1"}, "neither user nor team"),
])
def test_sentry_to_ado_unmatched_names_who(assignee, reason):
    result = sentry_to_ado(assignee, TABLE, MEMBERS, ADO)
    assert isinstance(result, Unmatched)
    assert reason in result.reason


@pytest.mark.parametrize(("value", "expected"), [
    ("Person P <person@example.com>", Matched("user:789", "Person")),  # hook string form
    ({"uniqueName": "PERSON@example.com", "displayName": "Person P"}, Matched("user:789", "Person")),  # IdentityRef
    ("person@example.com", Matched("user:789", "Person")),
    ("Jane Doe <CORP\\jdoe>", Matched("user:790", "Jane")),  # via the directory's mail
    (None, Unassigned()),
    ("", Unassigned()),
])
def test_ado_to_sentry(value, expected):
    assert ado_to_sentry(value, TABLE, MEMBERS, ADO) == expected


def test_ado_to_sentry_uses_the_table_backwards():
    members = (*MEMBERS, SentryMember("42", "boss@example.com", "Boss"))
    assert ado_to_sentry("The Boss <CORP\\boss>", TABLE, members, ADO) == Matched("user:42", "Boss")


@pytest.mark.parametrize("value", ["Bob <bob@example.com>", "Nobody <CORP\\nobody>"])
def test_ado_to_sentry_unmatched_names_who(value):
    result = ado_to_sentry(value, TABLE, MEMBERS, ADO)
    assert isinstance(result, Unmatched)
    assert value.split("<")[1].rstrip(">") in result.reason


@pytest.mark.parametrize(("value", "expected"), [
    ("Jane Doe <jane@example.com>", ParsedAdoIdentity("jane@example.com", "Jane Doe")),
    ("Jane <Doe> <jane@example.com>", ParsedAdoIdentity("jane@example.com", "Jane <Doe>")),
    ("jane@example.com", ParsedAdoIdentity("jane@example.com", "")),
    ({"uniqueName": "a@b.c", "displayName": "A"}, ParsedAdoIdentity("a@b.c", "A")),
    (None, None),
])
def test_parse_ado_identity(value, expected):
    assert parse_ado_identity(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ({"displayName": "x"}, "has no uniqueName"),
    (42, "must be an IdentityRef object or a string"),
])
def test_parse_ado_identity_rejects(value, message):
    with pytest.raises(ValueError, match=message):
        parse_ado_identity(value)


def test_same_ado_identity_across_wire_forms():
    assert same_ado_identity("Bot <BOT@x.com>", {"uniqueName": "bot@x.com"})
    assert not same_ado_identity("Bot <bot@x.com>", "other@x.com")
    assert same_ado_identity(None, "")


def test_identity_forms_as_links_record_them() -> None:
    assert ado_unique_name("Dana Dev <dana@contoso.com>") == "dana@contoso.com"
    ref = {"uniqueName": "CONTOSO\\dana", "displayName": "Dana"}
    assert ado_unique_name(ref) == "CONTOSO\\dana"
    assert ado_unique_name({"displayName": "Dana"}) == "Dana"
    assert ado_unique_name(None) is None
    assert sentry_actor({"type": "team", "id": "12"}) == "team:12"
    assert sentry_actor(None) is None
