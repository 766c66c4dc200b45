"""Opaque list cursors: signed (tamper-evident) and bound to the query that produced them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.errors import FieldError, bad_request


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_fingerprint(route: str, caller: str, filters: dict[str, Any]) -> str:
    canonical = json.dumps([route, caller, filters], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest()[:18])

    def encode(self, position: dict[str, Any] | None, fingerprint: str) -> str | None:
        if not position:
            return None
        body = json.dumps({"p": position, "q": fingerprint}, separators=(",", ":")).encode()
        return f"{_b64(body)}.{self._sign(body)}"

    def decode(self, cursor: str | None, fingerprint: str) -> dict[str, Any] | None:
        if not cursor:
            return None
        invalid = bad_request("The cursor is invalid.", [FieldError("cursor", "invalid or tampered cursor")])
        try:
            body_text, signature = cursor.split(".", 1)
            body = _unb64(body_text)
            # Compare bytes: compare_digest raises TypeError on non-ASCII str.
            authentic = hmac.compare_digest(signature.encode("utf-8"), self._sign(body).encode("ascii"))
        except (ValueError, TypeError):
            raise invalid from None
        if not authentic:
            raise invalid
        payload = json.loads(body)
        if payload.get("q") != fingerprint:
            raise bad_request(
                "The cursor belongs to another query.",
                [FieldError("cursor", "cursor was issued for different filters")],
            )
        return payload["p"]
