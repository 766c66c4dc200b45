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

    def history_row(self, contact_id: str) -> str:
        """Analysts' row handle: stable per contact (rows can be told apart and cited), but it
        does not lead back to the contact record without the key."""
        return "row_" + _b32(self._mac("history-row", contact_id), 20)

    def conversation(self, conversation_id: str) -> str:
        """Analysts' rows: the conversation a message belongs to (`cnv_`), stable so rows of one
        conversation join across pages and calls, but not its id (which leads to the texts)."""
        return "cnv_" + _b32(self._mac("history-conversation", conversation_id), 20)

    def alert(self, alert_id: str) -> str:
        """Analysts' rows: the alert a reply (or its conversation) answers (`alr_`), stable per alert."""
        return "alr_" + _b32(self._mac("history-alert", alert_id), 20)

    def resident(self, secret: bytes, subscriber_id: str, purpose: str = "resident") -> str:
        """A resident as named in the access log (`res_`), the request log (`rlg_`) and reply
        contacts (`rsp_`). Keyed by the subscriber's own random secret *and* the service key:
        erasure deletes the secret, after which no one (the key holder included) can recompute
        it from the subscriber id."""
        if len(secret) < 16:
            raise ValueError("a subscriber secret must be at least 16 bytes")
        inner = hmac.new(secret, f"{purpose}|{subscriber_id}".encode(), hashlib.sha256).digest()
        prefix = RESIDENT_PREFIXES[purpose]
        return prefix + _b32(hmac.new(self.subkey("resident-" + purpose), inner, hashlib.sha256).digest(), 20)


# What each resident name is for: the access log, request logs, reply contacts, the id of the
# resident's conversation about an alert, rate-limit counters (all unrecomputable once erased).
RESIDENT_PREFIXES = {"resident": "res_", "log-caller": "rlg_", "reply": "rsp_", "alert-conversation": "rac_",
                     "rate-limit": "rrl_"}


def new_subscriber_secret() -> str:
    """32 random bytes (base64), stored only on the subscriber record: erasing the record
    destroys every pseudonym derived from it."""
    import secrets

    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def decode_secret(text: str) -> bytes:
    return base64.b64decode(text)
