from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

STAFF_ROLES = frozenset({"officer", "supervisor", "analyst", "admin", "leader"})
RESIDENT_ROLES = frozenset({"resident"})


@dataclass(frozen=True)
class Principal:
    """Who is calling, as proven by a verified token."""

    sub: str
    roles: frozenset[str]
    kind: Literal["staff", "resident"]
    team: str | None = None
    force: str | None = None
    # One of domain.ranks.RANKS where the issuer provides it (mapped per issuer); None: unknown.
    rank: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def primary_role(self) -> str:
        """The most privileged role, for logs and the access log."""
        for role in ("admin", "supervisor", "analyst", "leader", "officer", "resident"):
            if role in self.roles:
                return role
        return "none"
