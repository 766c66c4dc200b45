"""Alerts, in one module: CAP 1.2 value lists, request/response schemas, the stored record and its
state rules, and the views built from it (staff JSON, public JSON, PublicAlert for CAP/Atom, the
per-subscriber Notification a delivery channel receives).

Shared by the alert lifecycle (use cases, store, fan-out) and the outputs (CAP XML, Atom, Web
Push, SNS payloads). Values follow OASIS CAP 1.2 exactly (case included).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.domain.errors import StateForbids
from chalicelib.domain.shapes import Circle, MultiPolygon, Polygon, polygons_of

CAP_CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other")
CAP_SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CAP_URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
CAP_CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
# Severity order for `min_severity`: Unknown ranks lowest.
SEVERITY_RANK = {"Unknown": 0, "Minor": 1, "Moderate": 2, "Severe": 3, "Extreme": 4}

Category = Literal[CAP_CATEGORIES]  # type: ignore[valid-type]
Severity = Literal[CAP_SEVERITIES]  # type: ignore[valid-type]
Urgency = Literal[CAP_URGENCIES]  # type: ignore[valid-type]
Certainty = Literal[CAP_CERTAINTIES]  # type: ignore[valid-type]
AlertStatus = Literal["draft", "published", "cancelled", "expired"]
LanguageTag = Annotated[str, Meta(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
Headline = Annotated[str, Meta(min_length=1, max_length=160)]
Description = Annotated[str, Meta(min_length=1, max_length=2000)]
Instruction = Annotated[str, Meta(min_length=1, max_length=1000)]


class Translation(Struct, forbid_unknown_fields=True):
    headline: Headline
    description: Description
    instruction: Instruction | None = None


@dataclass(frozen=True)
class InfoBlock:
    """One CAP `info` block: the alert's content in one language."""

    language: str
    headline: str
    description: str
    instruction: str | None = None


@dataclass(frozen=True)
class Notification:
    """What a delivery channel sends for one (alert, subscriber): already in the subscriber's language."""

    alert_id: str
    msg_type: str  # "Alert" | "Update" | "Cancel"
    info: InfoBlock
    category: str
    severity: str
    urgency: str
    certainty: str
    sent_at: str  # RFC 3339 UTC
    expires_at: str  # RFC 3339 UTC
    team: str
    url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    area_name: str | None = None  # the alert's area as named (email shows it; pushes do not)


@dataclass(frozen=True)
class PublicAlert:
    """A published (or updated/cancelled) alert as the public outputs render it: CAP 1.2 XML,
    the Atom feed, the public JSON list. Built by the alert use cases from the stored alert."""

    id: str
    identifier: str  # CAP identifier of this message (the alert id, or id + revision for Update/Cancel)
    sender: str  # CAP sender, e.g. "beatline@<force>"
    msg_type: str  # "Alert" | "Update" | "Cancel"
    sent_at: str  # RFC 3339 UTC
    expires_at: str  # RFC 3339 UTC
    category: str
    severity: str
    urgency: str
    certainty: str
    infos: tuple[InfoBlock, ...]  # first is the original language, then translations
    area_desc: str  # CAP areaDesc: the named area's name, or "Custom area"
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()  # (lat, lon) rings, CAP <polygon>
    circles: tuple[tuple[float, float, float], ...] = ()  # (lat, lon, radius_km), CAP <circle>
    references: tuple[tuple[str, str], ...] = ()  # (identifier, sent_at) of earlier messages
    team: str = ""
    status: str = "published"  # draft|published|cancelled|expired (Beatline's lifecycle)


AwareDatetime = Annotated[datetime, Meta(tz=True, description="RFC 3339 with offset; stored in UTC.")]
Translations = Annotated[dict[LanguageTag, Translation], Meta(max_length=10)]
MAX_ALERT_DAYS = 30
ALERT_RESOLUTION = 7  # same H3 resolution as the subscription index


class _AlertContentIn(Struct, kw_only=True):
    headline: Headline
    description: Description
    category: Category
    severity: Severity
    urgency: Urgency
    certainty: Certainty
    expires_at: AwareDatetime
    instruction: Instruction | None = None
    language: LanguageTag = "en-GB"
    translations: Translations | None = None


class AlertIn(_AlertContentIn, forbid_unknown_fields=True, kw_only=True):
    area: msgspec.Raw  # `{"area_id"}` or a shape; see decode_area_item (untagged union)


class AlertInDoc(_AlertContentIn, kw_only=True):
    """AlertIn as documented: `area` is `{"area_id"}`, a Polygon, MultiPolygon or Circle."""

    area: dict[str, Any]


class AlertUpdateIn(Struct, forbid_unknown_fields=True, kw_only=True):
    """New content for a published alert (same audience). Fields left out keep their value."""

    headline: Headline | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    instruction: Instruction | UnsetType | None = UNSET
    category: Category | UnsetType = UNSET
    severity: Severity | UnsetType = UNSET
    urgency: Urgency | UnsetType = UNSET
    certainty: Certainty | UnsetType = UNSET
    expires_at: AwareDatetime | UnsetType = UNSET
    translations: Translations | UnsetType | None = UNSET


class Figures(Struct):
    targeted: int
    sent: int
    failed: int
    read: int
    responses: int


class PendingUpdateOut(Struct, omit_defaults=True, kw_only=True):
    """A proposed Update, shown to staff only: it reaches nobody until a supervisor of the team other
    than `proposed_by` approves it with `?proposal=<id>`."""

    id: str
    proposed_by: str
    proposed_at: str
    headline: str
    description: str
    category: str
    severity: str
    urgency: str
    certainty: str
    language: str
    expires_at: str
    instruction: str | None = None
    translations: dict[str, Translation] | None = None


class AlertOut(Struct, omit_defaults=True, kw_only=True):
    id: str
    status: AlertStatus
    msg_type: str
    revision: int
    team: str
    author: str
    headline: str
    description: str
    category: str
    severity: str
    urgency: str
    certainty: str
    language: str
    area: dict[str, Any]
    expires_at: str
    created_at: str
    updated_at: str
    delivery: Figures
    instruction: str | None = None
    translations: dict[str, Translation] | None = None
    approved_by: str | None = None
    pending_update: PendingUpdateOut | None = None


class AlertPage(Struct):
    items: list[AlertOut]
    next_cursor: str | None


class AlertListQuery(Struct, forbid_unknown_fields=True):
    status: AlertStatus | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 25
    cursor: Annotated[str, Meta(max_length=2048)] | None = None


ProposalId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[0-9a-f-]+$")]


class ApproveQuery(Struct, forbid_unknown_fields=True):
    """`?proposal=`: the `pending_update.id` being approved (required when approving an Update),
    so a proposal replaced after the approver read it can never be published by that approval."""

    proposal: ProposalId | None = None


class ResponseIn(Struct, forbid_unknown_fields=True):
    message: Annotated[str, Meta(min_length=1, max_length=500)]


class ResponseOut(Struct, omit_defaults=True):
    id: str
    alert_id: str
    received_at: str
    conversation_id: str | None = None  # the resident's conversation with the team about the alert


class ReceiptOut(Struct):
    alert_id: str
    read_at: str


class PublicAlertOut(Struct, omit_defaults=True, kw_only=True):
    id: str
    msg_type: str
    headline: str
    description: str
    language: str
    category: str
    severity: str
    urgency: str
    certainty: str
    sent_at: str
    expires_at: str
    area_desc: str
    cap_url: str
    instruction: str | None = None


class PublicAlertList(Struct):
    items: list[PublicAlertOut]


class PointQuery(Struct, forbid_unknown_fields=True):
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]


class FeedQuery(Struct, forbid_unknown_fields=True):
    area_id: Annotated[str, Meta(max_length=64)] | None = None


class Content(Struct, kw_only=True):
    """What is stored as the alert's CAP content (one item attribute, JSON)."""

    headline: str
    description: str
    category: str
    severity: str
    urgency: str
    certainty: str
    language: str
    instruction: str | None = None
    translations: dict[str, Translation] = {}


class StoredArea(Struct, omit_defaults=True):
    shape: Polygon | MultiPolygon | Circle
    name: str
    area_id: str | None = None


class PendingUpdate(Struct, kw_only=True):
    """A proposed Update (one item attribute, JSON). Public outputs, CAP, Atom, the fan-out and the
    inbox never read it: they read `content`, which only an approval changes."""

    id: str
    content: Content
    expires: str
    proposed_by: str
    proposed_at: str

    def to_out(self) -> PendingUpdateOut:
        c = self.content
        return PendingUpdateOut(
            id=self.id, proposed_by=self.proposed_by, proposed_at=self.proposed_at, headline=c.headline,
            description=c.description, category=c.category, severity=c.severity, urgency=c.urgency,
            certainty=c.certainty, language=c.language, expires_at=self.expires, instruction=c.instruction,
            translations=dict(c.translations) or None,
        )


@dataclass(frozen=True)
class AlertRecord:
    id: str
    team: str
    author: str
    status: str  # draft|published|cancelled
    revision: int
    msg_type: str
    content: Content
    area: StoredArea
    cells: tuple[str, ...]
    expires: str
    created_at: str
    updated_at: str
    approved_by: str | None = None
    messages: tuple[tuple[str, str, str], ...] = ()  # (identifier, sent_at, msg_type)
    figures: dict[str, int] = field(default_factory=dict)
    pending: PendingUpdate | None = None  # a proposed Update awaiting a second person's approval

    def status_at(self, now: datetime) -> str:
        if self.status in ("draft", "published") and parse_rfc3339(self.expires) <= now:
            return "expired"
        return self.status

    def live_at(self, now: datetime) -> bool:
        return self.status_at(now) == "published"

    @property
    def languages(self) -> list[str]:
        return [self.content.language, *self.content.translations.keys()]

    def infos(self) -> tuple[InfoBlock, ...]:
        c = self.content
        blocks = [InfoBlock(language=c.language, headline=c.headline, description=c.description, instruction=c.instruction)]
        for language, t in c.translations.items():
            blocks.append(InfoBlock(language=language, headline=t.headline, description=t.description, instruction=t.instruction))
        return tuple(blocks)

    def to_out(self, now: datetime) -> AlertOut:
        c = self.content
        area: dict[str, Any] = msgspec.to_builtins(self.area)
        return AlertOut(
            id=self.id, status=self.status_at(now), msg_type=self.msg_type, revision=self.revision,  # type: ignore[arg-type]
            team=self.team, author=self.author, headline=c.headline, description=c.description,
            category=c.category, severity=c.severity, urgency=c.urgency, certainty=c.certainty,
            language=c.language, area=area, expires_at=self.expires, created_at=self.created_at,
            updated_at=self.updated_at, instruction=c.instruction,
            translations=dict(c.translations) or None, approved_by=self.approved_by,
            pending_update=self.pending.to_out() if self.pending else None,
            delivery=Figures(**{k: int(self.figures.get(k, 0)) for k in ("targeted", "sent", "failed", "read", "responses")}),
        )


def identifier(alert_id: str, revision: int) -> str:
    """CAP identifier of one message of the alert (no spaces, commas or < &)."""
    return f"beatline-{alert_id}" if revision == 0 else f"beatline-{alert_id}-r{revision}"


def check_transition(record: AlertRecord, action: str, now: datetime) -> None:
    """422 unless `action` (approve|update|cancel) is allowed in the alert's current state.
    Approve publishes a draft or a published alert's pending update (nothing else to approve)."""
    status = record.status_at(now)
    allowed = {"approve": ("draft", "published"), "update": ("published",), "cancel": ("draft", "published")}[action]
    if status not in allowed:
        verb = {"approve": "approved", "update": "updated", "cancel": "cancelled"}[action]
        raise StateForbids(f"An alert that is {status} cannot be {verb}.")
    if action == "approve" and status == "published" and record.pending is None:
        raise StateForbids("The alert is published and has no pending update to approve.")


def apply_update(record: AlertRecord, patch: AlertUpdateIn) -> Content:
    """The published content with the patch applied (a proposal starts from what was approved, not
    from an earlier proposal it replaces)."""
    given = {f: getattr(patch, f) for f in patch.__struct_fields__ if getattr(patch, f) is not UNSET and f != "expires_at"}
    if "translations" in given:
        given["translations"] = given["translations"] or {}
    return msgspec.structs.replace(record.content, **given)


def propose(record: AlertRecord, *, proposal_id: str, content: Content, expires: str, by: str,
            now: datetime) -> AlertRecord:
    """The record with a (new or replacing) pending update; the published revision is untouched."""
    pending = PendingUpdate(id=proposal_id, content=content, expires=expires, proposed_by=by,
                            proposed_at=to_rfc3339(now))
    return replace(record, pending=pending)


def published(record: AlertRecord, *, now: datetime, msg_type: str, approved_by: str | None = None,
              content: Content | None = None, expires: str | None = None) -> AlertRecord:
    """The record after a message goes out: Alert (revision 0), Update or Cancel (revision n+1).
    Any pending update is dropped (an approved one became `content`; a Cancel withdraws it)."""
    revision = 0 if msg_type == "Alert" else record.revision + 1
    stamp = to_rfc3339(now)
    return replace(
        record, status="cancelled" if msg_type == "Cancel" else "published", revision=revision,
        msg_type=msg_type, content=content or record.content, expires=expires or record.expires,
        updated_at=stamp, approved_by=approved_by or record.approved_by,
        messages=(*record.messages, (identifier(record.id, revision), stamp, msg_type)), pending=None,
    )


def to_public(record: AlertRecord, *, sender: str, now: datetime) -> PublicAlert:
    """The one place a stored alert becomes a PublicAlert (CAP XML, Atom, public JSON)."""
    shape = record.area.shape
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[tuple[float, float, float], ...] = ()
    if isinstance(shape, Circle):
        circles = ((shape.center.lat, shape.center.lon, round(shape.radius_m / 1000, 3)),)
    else:
        polygons = tuple(tuple((p[1], p[0]) for p in polygon[0]) for polygon in polygons_of(shape))
    sent_at = record.messages[-1][1] if record.messages else record.updated_at
    return PublicAlert(
        id=record.id, identifier=identifier(record.id, record.revision), sender=sender,
        msg_type=record.msg_type, sent_at=sent_at, expires_at=record.expires,
        category=record.content.category, severity=record.content.severity,
        urgency=record.content.urgency, certainty=record.content.certainty, infos=record.infos(),
        area_desc=record.area.name, polygons=polygons, circles=circles,
        references=tuple((ident, sent) for ident, sent, _ in record.messages[:-1]),
        team=record.team, status=record.status_at(now),
    )


def public_out(record: AlertRecord, *, base_url: str) -> PublicAlertOut:
    c = record.content
    return PublicAlertOut(
        id=record.id, msg_type=record.msg_type, headline=c.headline, description=c.description,
        language=c.language, category=c.category, severity=c.severity, urgency=c.urgency,
        certainty=c.certainty, sent_at=record.messages[-1][1] if record.messages else record.updated_at,
        expires_at=record.expires, area_desc=record.area.name, instruction=c.instruction,
        cap_url=f"{base_url}/v1/public/alerts/{record.id}.cap",
    )


def notification_for(record: AlertRecord, language: str | None, *, base_url: str) -> Notification:
    infos = record.infos()
    info = infos[pick_language(language, [i.language for i in infos])]
    c = record.content
    return Notification(
        alert_id=record.id, msg_type=record.msg_type, info=info, category=c.category,
        severity=c.severity, urgency=c.urgency, certainty=c.certainty,
        sent_at=record.messages[-1][1] if record.messages else record.updated_at,
        expires_at=record.expires, team=record.team,
        url=f"{base_url}/v1/public/alerts/{record.id}.cap",
        extra={"revision": str(record.revision)}, area_name=record.area.name,
    )


def wanted_by(severity: str, category: str, *, categories: tuple[str, ...] | None, min_severity: str | None) -> bool:
    if categories and category not in categories:
        return False
    return not (min_severity and SEVERITY_RANK[severity] < SEVERITY_RANK[min_severity])


def bypasses_quiet_hours(severity: str) -> bool:
    return severity in ("Severe", "Extreme")


class InboxEntry:
    """How a delivered notification is kept in a subscriber's inbox."""

    @staticmethod
    def sort_key(record: AlertRecord) -> str:
        sent = record.messages[-1][1] if record.messages else record.updated_at
        return f"{sent}#{record.id}#{record.revision:04d}"

    @staticmethod
    def json(note: Notification, infos: tuple[InfoBlock, ...] = ()) -> str:
        """The copy in the subscriber's language, with every language's text (`translations`), so
        the app shows it in whichever language the resident switches to."""
        item = InboxItemOut(
            alert_id=note.alert_id, msg_type=note.msg_type, headline=note.info.headline,
            description=note.info.description, instruction=note.info.instruction,
            language=note.info.language, category=note.category, severity=note.severity,
            urgency=note.urgency, certainty=note.certainty, sent_at=note.sent_at, expires_at=note.expires_at,
            translations=inbox_texts(infos),
        )
        return msgspec.json.encode(item).decode()


class InboxText(Struct, omit_defaults=True):
    """An inbox item's text in one language."""

    language: str
    headline: str
    description: str
    instruction: str | None = None


def inbox_texts(infos: tuple[InfoBlock, ...]) -> list[InboxText] | None:
    """Every language's text of an alert message (None with only one language: the item has it)."""
    if len(infos) < 2:
        return None
    return [InboxText(language=i.language, headline=i.headline, description=i.description, instruction=i.instruction)
            for i in infos]


class InboxItemOut(Struct, omit_defaults=True, tag_field="kind", tag="alert"):
    alert_id: str
    msg_type: str
    headline: str
    description: str
    language: str
    category: str
    severity: str
    urgency: str
    certainty: str
    sent_at: str
    expires_at: str
    instruction: str | None = None
    translations: list[InboxText] | None = None  # every language's text (the app picks by its language)


def pick_language(wanted: str | None, available: list[str]) -> int:
    """Index of the info block to send: exact tag, then same primary language, else the original (0)."""
    if not wanted:
        return 0
    lowered = [a.lower() for a in available]
    if wanted.lower() in lowered:
        return lowered.index(wanted.lower())
    primary = wanted.lower().split("-")[0]
    for index, tag in enumerate(lowered):
        if tag.split("-")[0] == primary:
            return index
    return 0
