"""RFC 4287 Atom feed of public alerts (`GET /v1/public/feed.atom`), one entry per alert.

Each entry links (rel=alternate, type=application/cap+xml) to the alert's CAP 1.2 document, the
usual shape of CAP feeds, and repeats a few CAP fields as namespaced extension elements
(`cap:msgType`, `cap:severity`, ...) so aggregators can filter without fetching every document.
Rendered with the standard library's ElementTree; the library does the escaping.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable

from chalicelib.clock import to_rfc3339
from chalicelib.domain.alerts import PublicAlert
from chalicelib.domain.cap import CAP_MEDIA_TYPE, CAP_NS, cap_time, parse_utc, xml_text

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CATEGORY_SCHEME = "urn:oasis:names:tc:emergency:cap:1.2#category"
# Stable namespace for ids of alerts whose id is not already a UUID (uuid5 keeps them stable).
_ENTRY_ID_NAMESPACE = uuid.UUID("6f1d3c0e-5b7a-4c55-9d1e-2a9b8e0c4f10")

ET.register_namespace("cap", CAP_NS)  # prefix for the extension elements (process-wide, idempotent)


def atom_time(rfc3339: str) -> str:
    """RFC 3339 UTC with `Z`, whole seconds (what Atom readers parse most reliably)."""
    return to_rfc3339(parse_utc(rfc3339))


def entry_id(alert_id: str) -> str:
    """`urn:uuid:` IRI of an alert: its own UUID, or a stable name-based UUID for other ids."""
    try:
        value = uuid.UUID(alert_id)
    except ValueError:
        value = uuid.uuid5(_ENTRY_ID_NAMESPACE, alert_id)
    return value.urn


def _atom(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    # Atom elements are written unqualified under the root's default `xmlns` (ElementTree's
    # `default_namespace` option refuses the unqualified attributes Atom uses, e.g. `href`).
    element = ET.SubElement(parent, name, {k: xml_text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _cap(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, f"{{{CAP_NS}}}{name}").text = xml_text(text)


def _entry(feed: ET.Element, alert: PublicAlert, cap_url: Callable[[str], str], author: str) -> None:
    info = alert.infos[0]  # the original language
    entry = _atom(feed, "entry")
    entry.set(XML_LANG, info.language)
    _atom(entry, "id", entry_id(alert.id))
    _atom(entry, "title", info.headline, type="text")
    _atom(entry, "updated", atom_time(alert.sent_at))
    _atom(_atom(entry, "author"), "name", author or alert.sender)
    _atom(entry, "summary", info.description, type="text")
    _atom(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=cap_url(alert.id))
    _atom(entry, "category", term=alert.category, scheme=CATEGORY_SCHEME, label=alert.category)
    _cap(entry, "identifier", alert.identifier)
    _cap(entry, "msgType", alert.msg_type)
    _cap(entry, "urgency", alert.urgency)
    _cap(entry, "severity", alert.severity)
    _cap(entry, "certainty", alert.certainty)
    _cap(entry, "expires", cap_time(alert.expires_at))
    _cap(entry, "areaDesc", alert.area_desc)


def render_feed(alerts: list[PublicAlert], *, feed_id: str, title: str, self_url: str, updated: str,
                cap_url: Callable[[str], str], author: str = "Beatline") -> bytes:
    """The Atom feed (UTF-8 bytes with an XML declaration), entries in the order given.

    `feed_id` is the feed's permanent IRI, `updated` an RFC 3339 time (the newest change the
    caller knows of), `cap_url(alert_id)` the absolute URL of an alert's CAP document.
    """
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _atom(feed, "id", feed_id)
    _atom(feed, "title", title, type="text")
    _atom(feed, "updated", atom_time(updated))
    _atom(feed, "link", rel="self", type=ATOM_MEDIA_TYPE, href=self_url)
    _atom(_atom(feed, "author"), "name", author)
    _atom(feed, "generator", "Beatline")
    for alert in alerts:
        _entry(feed, alert, cap_url, author)
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
