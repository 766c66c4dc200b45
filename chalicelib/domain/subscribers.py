"""Residents' subscriptions: wire schemas, preference rules (quiet hours) and subscription limits.

Limits (documented in docs/alerts.md and the OpenAPI document):
- at most MAX_SHAPES shapes per subscriber; each polygon <= MAX_SHAPE_KM2, a circle's radius
  50 m .. 20 km; all shapes together may cover at most MAX_CELLS H3 cells at SUBSCRIPTION_RESOLUTION.
- H3 resolution 7 (~5.2 km² cells, ~1.4 km across): a city of 100 km² is ~20 cells, so the
  fan-out does one Query per cell, and a neighbourhood-sized shape is 1-4 index entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from chalicelib.domain.alerts import Category, InboxItemOut, LanguageTag, Severity
from chalicelib.domain.contact_channels import ContactChannel, ContactChannelOut, EmailChannelIn, SmsChannelIn
from chalicelib.domain.shapes import Circle, MultiPolygon, Polygon

SUBSCRIPTION_RESOLUTION = 7
MAX_SHAPES = 10
MAX_CELLS = 400
MAX_SHAPE_KM2 = 500.0

HHMM = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, 24-hour clock")]


class SnsChannelIn(Struct, tag="sns", tag_field="type", forbid_unknown_fields=True):
    platform: Literal["fcm", "apns"]
    token: Annotated[str, Meta(min_length=8, max_length=4096)]


class PushKeys(Struct, forbid_unknown_fields=True):
    p256dh: Annotated[str, Meta(min_length=16, max_length=256, pattern=r"^[A-Za-z0-9_\-=]+$")]
    auth: Annotated[str, Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-=]+$")]


class PushSubscription(Struct, forbid_unknown_fields=False):
    """The browser's PushSubscription JSON (unknown members such as expirationTime are ignored)."""

    endpoint: Annotated[str, Meta(
        min_length=12, max_length=2048, pattern=r"^https://",
        description="The push service URL: https, port 443, a host name (no IP literal, no userinfo) that "
                    "resolves only to public addresses (checked at registration and again at each send); "
                    "otherwise 400 on channel.subscription.endpoint.")]
    keys: PushKeys


class WebPushChannelIn(Struct, tag="webpush", tag_field="type", forbid_unknown_fields=True):
    subscription: PushSubscription


class InboxChannelIn(Struct, tag="inbox", tag_field="type", forbid_unknown_fields=True):
    pass


ChannelIn = SnsChannelIn | WebPushChannelIn | InboxChannelIn
# At registration the channel may also be an email address or a phone number: the subscriber then
# has the inbox as its main channel and that contact channel, pending until confirmed.
RegisterChannelIn = SnsChannelIn | WebPushChannelIn | InboxChannelIn | EmailChannelIn | SmsChannelIn


class QuietHours(Struct, forbid_unknown_fields=True):
    start: HHMM
    end: HHMM
    tz: Annotated[str, Meta(min_length=1, max_length=64, description="IANA time zone, e.g. Europe/London")]


Categories = Annotated[list[Category], Meta(max_length=12)]


class SignupIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """Where a sign-up came from: the team's QR code at the door (`/app/?area=<id>&via=team`).
    Counted for the area's team (figures: `team_signups`); nothing of it is kept on the resident."""

    via: Literal["team"]
    area_id: UUID


class SubscriberIn(Struct, forbid_unknown_fields=True, kw_only=True):
    channel: RegisterChannelIn
    language: LanguageTag | None = None
    categories: Categories | None = None
    min_severity: Severity | None = None
    quiet_hours: QuietHours | None = None
    signup: SignupIn | None = None


class SubscriberPatch(Struct, forbid_unknown_fields=True, kw_only=True):
    channel: ChannelIn | UnsetType = UNSET
    language: LanguageTag | UnsetType | None = UNSET
    categories: Categories | UnsetType | None = UNSET
    min_severity: Severity | UnsetType | None = UNSET
    quiet_hours: QuietHours | UnsetType | None = UNSET


class WebPushKeyOut(Struct):
    """What a browser passes as `applicationServerKey` to `PushManager.subscribe()`."""

    application_server_key: str  # the VAPID public key: uncompressed P-256 point, base64url


class Registered(Struct):
    id: str
    token: str
    expires_at: str


class AreaRefIn(Struct, forbid_unknown_fields=True):
    area_id: str


AREA_ITEM_DOC = "`{\"area_id\": <uuid>}`, a GeoJSON Polygon, or `{\"type\": \"Circle\", \"center\": {lat, lon}, \"radius_m\"}`"


class AreasIn(Struct, forbid_unknown_fields=True):
    """Items are told apart by `area_id` vs `type` (msgspec cannot decode that union directly)."""

    areas: Annotated[list[msgspec.Raw], Meta(max_length=MAX_SHAPES)]


class AreasInDoc(Struct):
    areas: Annotated[list[dict[str, Any]], Meta(max_length=MAX_SHAPES, description=AREA_ITEM_DOC)]


def decode_area_item(raw: bytes, field: str, shape_type: Any) -> Any:
    """`{"area_id"}` -> AreaRefIn, anything else -> the tagged shape union `shape_type`."""
    from chalicelib.domain.errors import RuleViolation
    from chalicelib.domain.validation import field_error

    try:
        value = msgspec.json.decode(raw)
        if isinstance(value, dict) and "area_id" in value:
            return msgspec.convert(value, AreaRefIn)
        return msgspec.convert(value, shape_type)
    except msgspec.ValidationError as exc:
        raise RuleViolation("The area does not match the schema.", [field_error(exc, field)]) from None


class AreaOutItem(Struct, omit_defaults=True):
    shape: Polygon | MultiPolygon | Circle
    area_id: str | None = None


class ChannelOut(Struct, omit_defaults=True):
    type: str
    platform: str | None = None
    endpoint_host: str | None = None  # web push: only the push service host is shown back


class SubscriberOut(Struct, omit_defaults=True):
    id: str
    channel: ChannelOut
    created_at: str
    updated_at: str
    expires_at: str
    areas: list[AreaOutItem]
    cells: int
    language: str | None = None
    categories: list[str] | None = None
    min_severity: str | None = None
    quiet_hours: QuietHours | None = None
    contacts: list[ContactChannelOut] | None = None  # email / sms beside `channel` (masked)


class ConversationInboxItem(Struct, omit_defaults=True, tag_field="kind", tag="conversation"):
    """A team answer in a resident's conversation, as the inbox shows it (next to alerts)."""

    conversation_id: str
    message_id: str
    text: str
    officer: str  # display pseudonym, never the staff id
    sent_at: str
    expires_at: str
    # Which conversation (read with the inbox page, so older items have it too): its topic, the
    # area's name and, for one opened by an alert reply, the alert and its headline by language.
    topic: str | None = None
    area_name: str | None = None
    alert_id: str | None = None
    alert_headlines: dict[str, str] | None = None


class PriorityActionInboxItem(Struct, omit_defaults=True, tag_field="kind", tag="priority_action"):
    """"You said, we did": what the team did about a neighbourhood priority the resident supported
    (or that a team member linked to the resident's conversation)."""

    priority_id: str
    area_id: str
    issue: str
    action_id: str
    text: str
    at: str
    sent_at: str
    expires_at: str


class MeetingReminderInboxItem(Struct, omit_defaults=True, tag_field="kind", tag="meeting_reminder"):
    """The day before a beat meeting the resident said they will come to."""

    event_id: str
    area_id: str
    title: str
    start: str
    end: str
    sent_at: str
    expires_at: str
    address: str | None = None
    online_url: str | None = None


class PulseInboxItem(Struct, tag_field="kind", tag="pulse"):
    """The confidence question in a resident's inbox (the app shows its text in their language)."""

    pulse_id: str
    question: str
    area_id: str
    sent_at: str
    expires_at: str
    answered: bool = False  # only whether, never what


InboxItem = InboxItemOut | ConversationInboxItem | PriorityActionInboxItem | MeetingReminderInboxItem | PulseInboxItem


class InboxPage(Struct):
    items: list[InboxItem]
    next_cursor: str | None


class InboxQuery(Struct, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=100)] = 25
    cursor: Annotated[str, Meta(max_length=2048)] | None = None


@dataclass(frozen=True)
class Preferences:
    language: str | None = None
    categories: tuple[str, ...] | None = None
    min_severity: str | None = None
    quiet_hours: QuietHours | None = None


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """When quiet hours end, if `now` falls inside them; else None. Spans midnight when end < start."""
    if quiet is None:
        return None
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(quiet.tz)
    local = now.astimezone(zone)
    start, end = _hhmm(quiet.start), _hhmm(quiet.end)
    if start == end:
        return None
    clock = local.time()
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    ends = datetime.combine(end_day, end, tzinfo=zone)
    return ends.astimezone(now.tzinfo)


def valid_time_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@dataclass(frozen=True)
class SubscriberRecord:
    """A subscriber as stored. `channel` is the minimal channel dict the push channels take as target."""

    id: str
    channel: dict[str, Any]
    preferences: Preferences
    areas: tuple[dict[str, Any], ...]  # {"shape": <GeoJSON/Circle>, "area_id"?}
    cells: tuple[str, ...]
    created_at: str
    updated_at: str
    expires_at: datetime
    # Random per-subscriber key (base64) behind every pseudonym of this resident; erasure deletes
    # it with the record (see docs/data-protection.md). None only on records made before it existed.
    secret: str | None = None
    # Contact channels beside `channel` (domain/contact_channels.py): at most one per type.
    contacts: tuple[ContactChannel, ...] = ()

    def shapes(self) -> list[dict[str, Any]]:
        return [a["shape"] for a in self.areas]

    def contact(self, contact_type: str) -> ContactChannel | None:
        return next((c for c in self.contacts if c.type == contact_type), None)

    def sendable_contacts(self) -> tuple[ContactChannel, ...]:
        """The confirmed contact channels (pending and suppressed ones are never sent to)."""
        return tuple(c for c in self.contacts if c.sendable)

    def reached_beyond_inbox(self) -> bool:
        """A push channel, or a confirmed contact channel: something to send besides the inbox copy."""
        return self.channel.get("type") != "inbox" or bool(self.sendable_contacts())


REACH_ORDER = ("app", "push", "email", "sms")


def reaches(sub: SubscriberRecord | None) -> list[str]:
    """The kinds of channel a team answer reaches, for staff (types only, never an address or a
    number): the app's inbox always, `push` for a phone-app (SNS) or Web Push channel, each
    confirmed contact channel (`email`, `sms`); nothing once the resident is erased."""
    if sub is None:
        return []
    kinds = {"app", *(c.type for c in sub.sendable_contacts())}
    if sub.channel.get("type") in ("sns", "webpush"):
        kinds.add("push")
    return [k for k in REACH_ORDER if k in kinds]
