"""Sample alerts and notifications for the output and channel tests, and the vendored CAP 1.2 schema."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from chalicelib.domain.alerts import InfoBlock, Notification, PublicAlert

ROOT = Path(__file__).resolve().parents[1]
ALERT_ID = "0b6f7a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
SENDER = "beatline@north.police.example"
SENT = "2026-11-24T09:30:00Z"
EXPIRES = "2026-11-24T12:30:00Z"
RIVERSIDE = ((51.5010, -0.1200), (51.5100, -0.1200), (51.5100, -0.1000), (51.5010, -0.1000), (51.5010, -0.1200))
MARKET = ((51.5200, -0.0900), (51.5300, -0.0900), (51.5250, -0.0800), (51.5200, -0.0900))

EN = InfoBlock("en-GB", "Burglaries on Riverside Road", "Three break-ins overnight between 1 and 4 am.",
               "Lock doors and windows; report anything suspicious on 101.")
CY = InfoBlock("cy", "Lladradau ar Heol Glan yr Afon", "Tri achos o dorri i mewn dros nos.",
               "Clowch ddrysau a ffenestri.")


STANDARDS = ROOT / "tests" / "standards"  # vendored, see tests/standards/NOTICE.md
CAP_XSD = STANDARDS / "CAP-v1.2.xsd"
CAP_XSD_SHA256 = "f6c6ed7537a463968b7b36110f7e8bba1f86ad2257a8b84619d7dce530e57401"


@cache
def cap_schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(CAP_XSD)))


def public_alert(**changes) -> PublicAlert:
    alert = PublicAlert(
        id=ALERT_ID, identifier=ALERT_ID, sender=SENDER, msg_type="Alert", sent_at=SENT, expires_at=EXPIRES,
        category="Security", severity="Moderate", urgency="Expected", certainty="Likely", infos=(EN,),
        area_desc="Riverside", polygons=(RIVERSIDE,), team="north",
    )
    return replace(alert, **changes)


def notification(**changes) -> Notification:
    base = Notification(
        alert_id=ALERT_ID, msg_type="Alert", info=EN, category="Security", severity="Moderate",
        urgency="Expected", certainty="Likely", sent_at=SENT, expires_at=EXPIRES, team="north",
        url=f"https://beatline.example/alerts/{ALERT_ID}",
    )
    return replace(base, **changes)
