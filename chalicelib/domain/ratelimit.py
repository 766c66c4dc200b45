"""Declared request rate limits: fixed windows whose allowed counts are settings.

An operation declares one `RateLimit` (`@operation(..., rate_limit=...)`); the framework applies
it before the body is decoded, per subscriber for residents and per client address for anonymous
callers, and documents it in OpenAPI (429 + Retry-After).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Window:
    seconds: int
    setting: str  # the Settings attribute holding how many requests one window allows

    @property
    def env(self) -> str:
        return "BEATLINE_" + self.setting.upper()

    def allowed(self, settings: Any) -> int:
        return int(getattr(settings, self.setting))


@dataclass(frozen=True)
class RateLimit:
    name: str  # the counter family; operations sharing a name share one budget
    what: str  # for the documentation: "registrations", "writes", ...
    windows: tuple[Window, ...]  # shortest first: a refused request then burns no longer window
    # Only callers holding one of these roles are counted (None: everyone). A route shared by
    # residents and staff (conversation messages) limits the residents only.
    only_roles: frozenset[str] | None = None

    def applies_to(self, principal: Any) -> bool:
        return self.only_roles is None or (principal is not None and bool(principal.roles & self.only_roles))

    def describe(self, settings_type: Any, per: str) -> str:
        defaults = {f.name: f.default for f in fields(settings_type)}
        parts = [f"{w.env} (default {defaults[w.setting]}) per {_span(w.seconds)}" for w in self.windows]
        return (f"Rate limited ({self.name}): {self.what} per {per}, at most " + " and ".join(parts)
                + "; beyond that 429 with Retry-After (seconds until the window ends), checked before the body is read.")


def _span(seconds: int) -> str:
    return {60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} s")


def window_start(epoch: int, window: Window) -> int:
    return epoch - epoch % window.seconds


MINUTE, HOUR = 60, 3600

REGISTRATIONS = RateLimit("registrations", "registrations", (Window(MINUTE, "subscriber_rate_per_minute"),))
# Every resident write but erasure (a right that must never wait; the token dies with it).
RESIDENT_WRITES = RateLimit("resident-writes", "writes (own record, areas, read receipts), together,", (
    Window(MINUTE, "resident_write_rate_per_minute"), Window(HOUR, "resident_write_rate_per_hour")))
# Replies (and later conversation messages) each become a contact and counters in a team's log.
RESIDENT_REPLIES = RateLimit("resident-replies", "replies", (
    Window(MINUTE, "resident_reply_rate_per_minute"), Window(HOUR, "resident_reply_rate_per_hour")))
# Conversation starts and residents' messages share the replies' budget (same name); staff
# answering on the same route are not counted.
RESIDENT_MESSAGES = RateLimit("resident-replies", "replies, conversation starts and residents' messages, together,",
                              RESIDENT_REPLIES.windows, only_roles=frozenset({"resident"}))
