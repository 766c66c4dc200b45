"""Alerts: CAP 1.2 value lists, request/response schemas and what a delivery channel receives.

Shared by the alert lifecycle (use cases, store, fan-out) and the outputs (CAP XML, Atom, Web
Push, SNS payloads). Values follow OASIS CAP 1.2 exactly (case included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from msgspec import Meta, Struct

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
