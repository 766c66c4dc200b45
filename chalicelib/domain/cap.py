"""OASIS CAP 1.2 XML for a public alert (`GET /v1/public/alerts/{id}.cap`).

Pure rendering with the standard library's ElementTree (lxml is only used by the tests, to
validate against the OASIS schema). The XML library does all escaping; text is stripped of the
characters XML 1.0 cannot carry at all (C0 controls other than tab/newline/CR, lone surrogates,
U+FFFE/U+FFFF) so a stray control character in an officer's text cannot break the document.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from chalicelib.clock import to_rfc3339
from chalicelib.domain.alerts import (
    CAP_CATEGORIES,
    CAP_CERTAINTIES,
    CAP_SEVERITIES,
    CAP_URGENCIES,
    InfoBlock,
    PublicAlert,
)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MEDIA_TYPE = "application/cap+xml"
CAP_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
CAP_MSG_TYPES = ("Alert", "Update", "Cancel")

# CAP 1.2 §3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted
# characters (< and &)" (they are separators in `references`).
_CAP_TOKEN = re.compile(r"^[^\s,<&]+$")
# Characters XML 1.0 forbids (§2.2): C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF.
# Written as the forbidden set: the negated "allowed" class takes ~8 ms to compile (cold start).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot represent."""
    return _XML_ILLEGAL.sub("", value)


def parse_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text!r}")
    return moment.astimezone(UTC)


def cap_time(rfc3339: str) -> str:
    """CAP 1.2 dateTime in UTC, the one formatter of every CAP time (`sent`, `expires`, the `sent`
    inside `references`, Atom's `cap:expires`): whole seconds, written `2026-11-24T09:30:00-00:00`.

    The schema's pattern rejects `Z` and fractional seconds, and CAP 1.2 §3.3.2 says UTC is
    written `-00:00` (not `+00:00`). Any input offset is converted to UTC first.
    """
    return to_rfc3339(parse_utc(rfc3339))[:-1] + "-00:00"


def _number(value: float) -> str:
    """Plain decimal (never exponent notation), at most 6 decimals (~0.1 m)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _point(lat: float, lon: float) -> str:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"position out of range: {lat},{lon}")
    return f"{_number(lat)},{_number(lon)}"


def cap_polygon(ring: tuple[tuple[float, float], ...] | list[tuple[float, float]]) -> str:
    """CAP `polygon`: space-separated "lat,lon" pairs, closed (first == last), >= 4 pairs."""
    points = [_point(lat, lon) for lat, lon in ring]
    if points and points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4 or len(set(points)) < 3:
        raise ValueError("a CAP polygon needs at least 3 distinct positions")
    return " ".join(points)


def cap_circle(lat: float, lon: float, radius_km: float) -> str:
    """CAP `circle`: "lat,lon radius" with the radius in kilometres."""
    if not radius_km > 0:
        raise ValueError("circle radius must be positive")
    return f"{_point(lat, lon)} {_number(radius_km)}"


def cap_token(value: str, name: str) -> str:
    if not _CAP_TOKEN.match(value):
        raise ValueError(f"CAP {name} must not contain spaces, commas, '<' or '&': {value!r}")
    return value


def cap_references(sender: str, references: tuple[tuple[str, str], ...]) -> str:
    """CAP `references`: space-separated "sender,identifier,sent" of the earlier messages."""
    return " ".join(
        f"{cap_token(sender, 'sender')},{cap_token(identifier, 'identifier')},{cap_time(sent)}"
        for identifier, sent in references
    )


def _child(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{name}")
    if text is not None:
        element.text = xml_text(text)
    return element


def _check_values(alert: PublicAlert, status: str) -> None:
    checks = (
        ("msgType", alert.msg_type, CAP_MSG_TYPES),
        ("category", alert.category, CAP_CATEGORIES),
        ("severity", alert.severity, CAP_SEVERITIES),
        ("urgency", alert.urgency, CAP_URGENCIES),
        ("certainty", alert.certainty, CAP_CERTAINTIES),
        ("status", status, CAP_STATUSES),
    )
    for name, value, allowed in checks:
        if value not in allowed:
            raise ValueError(f"CAP {name} {value!r} is not one of {allowed}")
    if not alert.infos:
        raise ValueError("a public alert needs at least one info block")
    if alert.msg_type != "Alert" and not alert.references:
        raise ValueError(f"a CAP {alert.msg_type} must reference the message(s) it updates or cancels")
    if any(identifier == alert.identifier for identifier, _ in alert.references):
        raise ValueError("a CAP message cannot reference its own identifier (each message needs a new one)")


def _info(parent: ET.Element, alert: PublicAlert, info: InfoBlock, expires: str, web_url: str | None,
          sender_name: str | None) -> None:
    block = _child(parent, "info")
    _child(block, "language", info.language)
    _child(block, "category", alert.category)
    # CAP `event` is the type of event in the info block's language; Beatline has no separate
    # event vocabulary, so the (translated) headline serves as the event text.
    _child(block, "event", info.headline)
    _child(block, "urgency", alert.urgency)
    _child(block, "severity", alert.severity)
    _child(block, "certainty", alert.certainty)
    _child(block, "expires", expires)
    if sender_name:
        _child(block, "senderName", sender_name)
    _child(block, "headline", info.headline)
    _child(block, "description", info.description)
    if info.instruction:
        _child(block, "instruction", info.instruction)
    if web_url:
        _child(block, "web", web_url)
    area = _child(block, "area")
    _child(area, "areaDesc", alert.area_desc)
    for ring in alert.polygons:
        _child(area, "polygon", cap_polygon(ring))
    for lat, lon, radius_km in alert.circles:
        _child(area, "circle", cap_circle(lat, lon, radius_km))


def render_cap(alert: PublicAlert, *, web_url: str | None = None, sender_name: str | None = None,
               status: str = "Actual") -> bytes:
    """The alert as a CAP 1.2 document (UTF-8 bytes with an XML declaration).

    One `info` per language (the original first), each with the same `area` (CAP puts areas
    inside `info`). Update/Cancel carry `references` to the earlier messages; the referenced
    messages share this alert's sender. Polygons are rendered ring by ring: CAP has no holes,
    so the builder should pass outer rings only. Raises ValueError for values CAP cannot carry.
    """
    _check_values(alert, status)
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _child(root, "identifier", cap_token(alert.identifier, "identifier"))
    _child(root, "sender", cap_token(alert.sender, "sender"))
    _child(root, "sent", cap_time(alert.sent_at))
    _child(root, "status", status)
    _child(root, "msgType", alert.msg_type)
    _child(root, "scope", "Public")
    if alert.references:
        _child(root, "references", cap_references(alert.sender, alert.references))
    expires = cap_time(alert.expires_at)
    for info in alert.infos:
        _info(root, alert, info, expires, web_url, sender_name)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS))
