"""Keyed pseudonyms (HMAC-SHA256) with one derived key per purpose.

A pseudonym is stable for the same input under the same key, cannot be reversed without the key,
and differs between purposes (a handle pseudonym can't be matched against an officer pseudonym).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _b32(digest: bytes, length: int) -> str:
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()[:length]


class Pseudonymizer:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 32:
            raise ValueError("the pseudonym key must be at least 32 bytes")
        self._master = master_key
        self._subkeys: dict[str, bytes] = {}

    def subkey(self, purpose: str) -> bytes:
        """Derived once per purpose and kept: every request needs two or three of them."""
        key = self._subkeys.get(purpose)
        if key is None:
            key = hmac.new(self._master, b"beatline-subkey|" + purpose.encode(), hashlib.sha256).digest()
            self._subkeys[purpose] = key
        return key

    def _mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.subkey(purpose), value.encode("utf-8"), hashlib.sha256).digest()

    def handle(self, platform: str, handle: str) -> str:
        """Online handles: case-insensitive, surrounding whitespace and a leading @ ignored."""
        normalised = handle.strip().lstrip("@").casefold()
        return "hdl_" + _b32(self._mac("handle", f"{platform}|{normalised}"), 26)

    def officer(self, sub: str) -> str:
        return "off_" + _b32(self._mac("officer", sub), 20)

    def staff(self, grain: str, period: str, sub: str) -> str:
        """Engagement counters: a different pseudonym in every period (and a different subkey from
        `off_`), so stored counter items link nobody across periods or to history rows."""
        return "stf_" + _b32(self._mac("engagement-staff", f"{grain}|{period}|{sub}"), 16)

    def caller(self, sub: str) -> str:
        """For log lines: lets operators correlate requests without naming anyone."""
        return "usr_" + _b32(self._mac("log-caller", sub), 16)

    def content_digest(self, payload: bytes) -> str:
        """Keyed digest of a create payload for idempotency; unkeyed hashes of short inputs
        (a handle) would be open to dictionary attack."""
        return _b32(hmac.new(self.subkey("content"), payload, hashlib.sha256).digest(), 52)
