"""Opaque list cursors: encrypted and authenticated (AES-256-GCM), bound to the query that
produced them.

A cursor carries a DynamoDB position, which holds table keys (contact ids, subscriber ids,
access-log times). Signing alone would leave those readable by anyone who base64-decodes the
cursor (an analyst would learn the raw contact ids that history rows hide), so the payload is
encrypted: `<nonce>.<ciphertext+tag>`, both base64url. Any change to either part fails the tag.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.domain.errors import FieldError, RuleViolation

NONCE_BYTES = 12
CURSOR_AAD = b"beatline-cursor-v2"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    """Strict: only the one canonical spelling of the bytes. base64 ignores stray characters and
    the spare bits of the last character, so without the round-trip check a changed cursor
    character could decode to the same bytes (and a tampered cursor would be accepted)."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("non-canonical base64")
    return data


def query_fingerprint(route: str, caller: str, filters: dict[str, Any]) -> str:
    canonical = json.dumps([route, caller, filters], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the cursor key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def encode(self, position: dict[str, Any] | None, fingerprint: str) -> str | None:
        if not position:
            return None
        body = json.dumps({"p": position, "q": fingerprint}, separators=(",", ":")).encode()
        nonce = os.urandom(NONCE_BYTES)
        return f"{_b64(nonce)}.{_b64(self._aead.encrypt(nonce, body, CURSOR_AAD))}"

    def _open(self, cursor: str, field: str) -> dict[str, Any]:
        invalid = RuleViolation(f"The {field} is invalid.", [FieldError(field, f"invalid or tampered {field}")])
        try:
            nonce_text, sealed_text = cursor.split(".", 1)
            nonce = _unb64(nonce_text)
            if len(nonce) != NONCE_BYTES:
                raise ValueError("nonce length")
            opened: dict[str, Any] = json.loads(self._aead.decrypt(nonce, _unb64(sealed_text), CURSOR_AAD))
            return opened
        except (ValueError, TypeError, InvalidTag):  # binascii.Error and UnicodeEncodeError are ValueErrors
            raise invalid from None

    def decode(self, cursor: str | None, fingerprint: str, field: str = "cursor") -> dict[str, Any] | None:
        """`field`: the parameter the sealed text came in, named in the 400 when it does not open."""
        if not cursor:
            return None
        payload = self._open(cursor, field)
        if payload.get("q") != fingerprint:
            raise RuleViolation(
                f"The {field} belongs to another query.",
                [FieldError(field, f"{field} was issued for different filters")],
            )
        position: dict[str, Any] | None = payload["p"]
        return position
