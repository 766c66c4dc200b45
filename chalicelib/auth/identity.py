"""Staff identities compared as people, not as strings: one `sub` spelled two ways (case,
Unicode normalisation, invisible characters, surrounding whitespace, the issuer written before
it) is one person, so the two-person rule on alerts cannot be met by one officer twice."""

from __future__ import annotations

import unicodedata

# What may join an issuer to a subject when an identity is written with its issuer
# (`https://idp.example|pc-1`, `https://idp.example#pc-1`, `https://idp.example/pc-1`).
ISSUER_SEPARATORS = "|#/:"


def _folded(text: str) -> str:
    """NFKC, without format characters (zero-width and the like), trimmed, case-folded."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(c for c in normal if unicodedata.category(c) != "Cf").strip().casefold()


def canonical_subject(sub: str, issuer: str | None = None) -> str:
    """The form two spellings of one subject share. `issuer`: the staff issuer, whose name
    written in front of the subject (with one separator) is dropped."""
    text = _folded(sub)
    if issuer:
        prefix = _folded(issuer).rstrip("/")
        if prefix and text.startswith(prefix) and text[len(prefix):len(prefix) + 1] in tuple(ISSUER_SEPARATORS):
            text = text[len(prefix) + 1:].strip()
    return text


def same_person(first: str, second: str, issuer: str | None = None) -> bool:
    """Whether two staff identities (e.g. an alert's author and its approver) are one person."""
    return canonical_subject(first, issuer) == canonical_subject(second, issuer)
