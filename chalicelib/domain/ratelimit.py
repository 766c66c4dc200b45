"""Declared request rate limits: fixed windows whose allowed counts are settings.

An operation declares its `RateLimit`s (`@operation(..., rate_limit=...)`, one or a tuple); the
framework applies them in order before the body is decoded and documents them in OpenAPI (429 +
Retry-After). A limit counts per caller (`per="caller"`: the resident's subscriber, a staff
member, or the client address when anonymous) or per client address whoever calls
(`per="address"`: cheap registrations cannot multiply a per-subscriber budget).

Every operation a resident or the public may call declares at least one limit
(`tests/test_rate_limits.py` enumerates the registry); public operations are also throttled at
the edge, in their own API Gateway budget (`infra/hardening.py`, docs/hardening.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

Per = Literal["caller", "address"]


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
    per: Per = "caller"

    def applies_to(self, principal: Any) -> bool:
        return self.only_roles is None or (principal is not None and bool(principal.roles & self.only_roles))

    def counted_per(self, public: bool) -> str:
        if self.per == "address" or public:
            return "client address"
        return "caller (a resident: per subscriber)"

    def describe(self, settings_type: Any, per: str) -> str:
        defaults = {f.name: f.default for f in fields(settings_type)}
        parts = [f"{w.env} (default {defaults[w.setting]}) per {_span(w.seconds)}" for w in self.windows]
        return (f"Rate limited ({self.name}): {self.what} per {per}, at most " + " and ".join(parts)
                + "; beyond that 429 with Retry-After (seconds until the window ends), checked before the body is read.")


def _span(seconds: int) -> str:
    return {60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} s")


def window_start(epoch: int, window: Window) -> int:
    return epoch - epoch % window.seconds


MINUTE, HOUR, DAY = 60, 3600, 86400
RESIDENTS = frozenset({"resident"})

# Per address: registration is anonymous and each one is a new per-subscriber budget.
REGISTRATIONS = RateLimit("registrations", "registrations", (
    Window(MINUTE, "subscriber_rate_per_minute"), Window(HOUR, "subscriber_rate_per_hour"),
    Window(DAY, "subscriber_rate_per_day")))
# Every resident write but erasure (which has its own budget below, so it never waits for others).
RESIDENT_WRITES = RateLimit("resident-writes", "writes (own record, areas, read receipts), together,", (
    Window(MINUTE, "resident_write_rate_per_minute"), Window(HOUR, "resident_write_rate_per_hour")))
# Replies (and later conversation messages) each become a contact and counters in a team's log.
RESIDENT_REPLIES = RateLimit("resident-replies", "replies", (
    Window(MINUTE, "resident_reply_rate_per_minute"), Window(HOUR, "resident_reply_rate_per_hour")))
# Conversation starts and residents' messages share the replies' budget (same name); staff
# answering on the same route are not counted.
RESIDENT_MESSAGES = RateLimit("resident-replies", "replies, conversation starts and residents' messages, together,",
                              RESIDENT_REPLIES.windows, only_roles=RESIDENTS)
# Every resident read (own record, inbox, own conversations): staff reading on a shared route
# (a conversation) are not counted.
RESIDENT_READS = RateLimit("resident-reads", "reads (own record, inbox, conversations), together,", (
    Window(MINUTE, "resident_read_rate_per_minute"), Window(HOUR, "resident_read_rate_per_hour")),
    only_roles=RESIDENTS)
# Erasure: its own budget, so a resident who spent every other budget can still erase at once;
# the token dies with a completed erasure, so only an interrupted one is ever retried.
ERASURES = RateLimit("resident-erasures", "erasure requests", (Window(MINUTE, "resident_erase_rate_per_minute"),))
# What puts a conversation in a team's queue (a start; an alert reply opens or continues one),
# per client address, whichever subscriber calls: 9 fresh registrations from one address share it.
CONVERSATION_OPENINGS = RateLimit(
    "conversation-openings", "conversation starts and alert replies (which open conversations), together,", (
        Window(MINUTE, "conversation_rate_per_address_per_minute"),
        Window(HOUR, "conversation_rate_per_address_per_hour"),
        Window(DAY, "conversation_rate_per_address_per_day")),
    only_roles=RESIDENTS, per="address")
# Anonymous lookups that cost queries and rendering (alerts at a point, CAP, Atom), per address.
PUBLIC_LOOKUPS = RateLimit("public-lookups", "public alert lookups (point, CAP, Atom), together,", (
    Window(MINUTE, "public_lookup_rate_per_minute"), Window(HOUR, "public_lookup_rate_per_hour")))
# The public channel-token routes (confirming an email address, one-click unsubscribe): per client
# address, on the public lookups' settings (each call costs one GetItem).
CHANNEL_TOKENS = RateLimit("channel-tokens", "channel confirmations and one-click unsubscribes, together,",
                           PUBLIC_LOOKUPS.windows)
# Bulk exports (staff only): each one reads and writes up to a year of rows.
EXPORT_STARTS = RateLimit("history-exports", "bulk exports started", (
    Window(HOUR, "export_rate_per_hour"), Window(DAY, "export_rate_per_day")))
