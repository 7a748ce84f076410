"""People known to the emulated organization, and the two ways the service renders them.

REST responses carry IdentityRef objects; service hooks at resourceVersion 1.0 carry the string
``"Display Name <unique@name>"`` (reference §2.12). Ids are stable per unique name so tests can
compare them across resets.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

_DISTINCT = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<unique>[^<>\s]+)>\s*$")
_NS = uuid.UUID("6f1d0c6e-63a9-4f8e-9a53-0d3f3c7f5a11")


@dataclass(frozen=True)
class Identity:
    display_name: str
    unique_name: str

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NS, self.unique_name.lower()))

    @property
    def descriptor(self) -> str:
        return "aad." + self.id.replace("-", "")

    def distinct(self) -> str:
        """The hook/WIQL string form, e.g. ``Jamal Hartnett <jamal@contoso.com>``."""
        return f"{self.display_name} <{self.unique_name}>"

    def ref(self, base_url: str) -> dict[str, Any]:
        """IdentityRef as REST responses render it."""
        return {
            "displayName": self.display_name,
            "url": f"{base_url}/_apis/Identities/{self.id}",
            "_links": {"avatar": {"href": f"{base_url}/_apis/GraphProfile/MemberAvatars/{self.descriptor}"}},
            "id": self.id,
            "uniqueName": self.unique_name,
            "imageUrl": f"{base_url}/_api/_common/identityImage?id={self.id}",
            "descriptor": self.descriptor,
        }


def parse_identity(text: str) -> Identity:
    """Parse ``Display Name <email>``; raises ValueError naming the text when it is not that form."""
    m = _DISTINCT.match(text)
    if not m or not m.group("name"):
        raise ValueError(f"identity must look like 'Display Name <email>', got {text!r}")
    return Identity(m.group("name"), m.group("unique"))


def resolve(value: Any, known: list[Identity]) -> Identity | None:
    """Find the identity a client meant: IdentityRef object, distinct name, email or display name.

    Returns None when nothing matches or a display name is ambiguous, as the service does.
    """
    if isinstance(value, dict):
        value = value.get("uniqueName") or value.get("id") or value.get("displayName") or ""
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _DISTINCT.match(text)
    key = (m.group("unique") if m else text).lower()
    for ident in known:
        if key in (ident.unique_name.lower(), ident.id):
            return ident
    by_name = [i for i in known if i.display_name.lower() == key]
    return by_name[0] if len(by_name) == 1 else None
