"""Police ranks as the contract names them (API.md "Auth", the `rank` claim). Pure."""

from __future__ import annotations

RANKS = (
    "constable", "sergeant", "inspector", "chief_inspector", "superintendent", "chief_superintendent",
    "chief_officer", "pcso", "special", "staff",
)
UNKNOWN = "unknown"  # staff whose token carried no (known) rank: the engagement figures' key for them
KNOWN = frozenset(RANKS)


def known_rank(value: object) -> str | None:
    """The rank if `value` is one of the contract's; anything else (absent, misspelt, not a
    string) is no rank: an issuer's unexpected value never refuses a token."""
    return value if isinstance(value, str) and value in KNOWN else None
