"""What a well-formed identifier looks like, checked where it enters. Pure.

An identifier that is wrong when it arrives is wrong forever: a Sentry issue "0" saved in a link
made every later reconcile page that held it fail. So each identifier is checked once, at the door
(webhooks, the issue-link UI, queue messages, links read from the store), and a record that fails
the check is a `BadRecord`: whoever carries it (a route, a queue function, reconciliation) rejects
or skips that one record, says why, and goes on with the others.

Facts:
- Sentry issue (group) ids are positive 64-bit integers (Django ``BoundedBigAutoField`` in
  getsentry/sentry ``src/sentry/models/group.py``); webhooks send them as strings or numbers.
- Azure DevOps work item ids are positive 32-bit integers (``System.Id``, type Integer).
- Azure DevOps project names: at most 64 characters, no control characters, none of
  ``\\ / : * ? " < > | ; # $ { } , + = [ ]``, not starting with ``_`` or ``.``, not ending with ``.``
  (https://learn.microsoft.com/azure/devops/organizations/settings/naming-restrictions).
- Sentry project slugs: lower case letters, digits, ``-`` and ``_`` (``MIXED_SLUG_PATTERN`` in
  getsentry/sentry ``src/sentry/slug/patterns.py``). Upper case is let through here: the bridge only
  routes by slug, and refusing a real project's slug would cost more than accepting an odd one.
- Sentry App installation uuids are ``uuid4`` strings with dashes (``SentryAppInstallation.uuid``).
"""

from __future__ import annotations

import re

SENTRY_ISSUE_ID_MAX = 2**63 - 1
WORK_ITEM_ID_MAX = 2**31 - 1
ADO_PROJECT_MAX = 64
SENTRY_SLUG_MAX = 100
_ADO_PROJECT_FORBIDDEN = set('\\/:*?"<>|;#${},+=[]')
_SENTRY_SLUG = re.compile(r"[A-Za-z0-9_-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SHOWN = 60  # how much of a bad value an error message repeats


class BadRecord(ValueError):
    """One record (a request, a queue message, a stored link) that cannot succeed as it is. Retrying
    it is useless; its carrier reports it with this reason and goes on with the others."""


class MalformedIdentifier(BadRecord):
    """An identifier that is not of its kind's form; the message names which and shows the value."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _positive_int(value: object, name: str, maximum: int, kind: str) -> int:
    """An int, or a string of ASCII digits with no sign, space or leading zero, in 1..maximum."""
    if value is None:
        raise MalformedIdentifier(f"{name} is missing")
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and not value.startswith("0") \
            and len(value) <= len(str(maximum)):
        number = int(value)
    else:
        number = None
    if number is None or not 0 < number <= maximum:
        raise MalformedIdentifier(f"{name} must be a {kind} (a positive integer up to {maximum}), "
                                  f"got {_shown(value)}")
    return number


def sentry_issue_id(value: object, name: str = "Sentry issue id") -> str:
    """The numeric group id as the canonical string (``"123"``); a short id like PROJ-1A is not one."""
    return str(_positive_int(value, name, SENTRY_ISSUE_ID_MAX, "Sentry issue id"))


def sentry_numeric_id(value: object, name: str) -> str:
    """Any other numeric Sentry id (a comment's activity id), as the canonical string."""
    return str(_positive_int(value, name, SENTRY_ISSUE_ID_MAX, "Sentry id"))


def work_item_id(value: object, name: str = "work item id") -> int:
    return _positive_int(value, name, WORK_ITEM_ID_MAX, "work item id")


def ado_project(value: object, name: str = "Azure DevOps project", *, named_by_ado: bool = False) -> str:
    """A project name a person chose (forms, alert-rule settings, stored links) must follow ADO's
    naming rules. One ADO itself sends (``System.TeamProject``) is a project by definition, and ADO's
    API lets names break the UI's character rules: it is only checked for form, lest a 400 make ADO
    disable the subscription for a project that exists."""
    if not isinstance(value, str) or not value.strip():
        raise MalformedIdentifier(f"{name} must be a non-empty name, got {_shown(value)}")
    problem = None
    if len(value) > ADO_PROJECT_MAX:
        problem = f"is longer than {ADO_PROJECT_MAX} characters"
    elif any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        problem = "holds a control character"
    elif named_by_ado:
        problem = None
    elif bad := sorted(set(value) & _ADO_PROJECT_FORBIDDEN):
        problem = f"holds {' '.join(bad)}"
    elif value[0] in "_." or value.endswith(".") or value != value.strip():
        problem = "starts with '_' or '.', ends with '.', or has surrounding spaces"
    if problem:
        raise MalformedIdentifier(f"{name} {_shown(value)} {problem}")
    return value


def sentry_project_slug(value: object, name: str = "Sentry project slug") -> str:
    if not isinstance(value, str) or len(value) > SENTRY_SLUG_MAX or not _SENTRY_SLUG.fullmatch(value):
        raise MalformedIdentifier(f"{name} must be letters, digits, '-' and '_' (at most {SENTRY_SLUG_MAX}), "
                                  f"got {_shown(value)}")
    return value


def installation_uuid(value: object, name: str = "Sentry installation uuid") -> str:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise MalformedIdentifier(f"{name} must be a UUID like 7a485448-a9e2-4c85-8a3c-4f44175783c9, "
                                  f"got {_shown(value)}")
    return value.lower()
