"""Per-item cost of the standard outputs and push channels (CPU + loopback), printed as a table.

    .venv/bin/python -m bench.push_outputs [N]

Web Push is sent to a local HTTP server playing the push service (keep-alive session, as the
worker uses it), so the figure is Beatline's own cost per push: payload, aes128gcm encryption
(one ECDH + HKDF per message), VAPID header (cached per origin) and the HTTP round trip on
loopback. SNS is measured up to the request it builds (Publish itself is network-bound).
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.clock import system_clock
from chalicelib.domain.alerts import InfoBlock, Notification, PublicAlert
from chalicelib.domain.atom import render_feed
from chalicelib.domain.cap import render_cap
from chalicelib.notify.payloads import webpush_body
from chalicelib.notify.sns import publish_request

ALERT_ID = "0b6f7a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
EN = InfoBlock("en-GB", "Burglaries on Riverside Road", "Three break-ins overnight. " * 10, "Lock doors and windows.")
CY = InfoBlock("cy", "Lladradau ar Heol Glan yr Afon", "Tri achos o dorri i mewn dros nos. " * 8)
ALERT = PublicAlert(id=ALERT_ID, identifier=ALERT_ID, sender="beatline@north", msg_type="Alert", sent_at="2026-11-24T09:30:00Z",
                    expires_at="2099-11-24T12:30:00Z", category="Security", severity="Severe", urgency="Expected",
                    certainty="Likely", infos=(EN, CY), area_desc="Riverside",
                    polygons=(tuple((51.5 + i / 1000, -0.12 + (i % 7) / 1000) for i in range(60)),))
NOTE = Notification(alert_id=ALERT_ID, msg_type="Alert", info=EN, category="Security", severity="Severe", urgency="Expected",
                    certainty="Likely", sent_at="2026-11-24T09:30:00Z", expires_at="2099-11-24T12:30:00Z", team="north")


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real push services

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _time(fn: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main(n: int) -> None:
    from chalicelib.notify.webpush import WebPushChannel, generate_vapid_private_pem

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    target = {"type": "webpush", "subscription": {"endpoint": f"http://127.0.0.1:{server.server_address[1]}/push/x",
                                                  "keys": {"p256dh": b64(browser), "auth": b64(os.urandom(16))}}}
    channel = WebPushChannel(generate_vapid_private_pem(), "mailto:bench@beatline.example", clock=system_clock,
                             allow_insecure_endpoints=True)
    channel.send(target, NOTE)  # warm: connection, VAPID token
    feed_alerts = [ALERT] * 50
    rows = [
        ("render_cap (2 languages, 60-vertex polygon)", lambda: render_cap(ALERT)),
        ("render_feed (50 entries)", lambda: render_feed(feed_alerts, feed_id="urn:uuid:1", title="t", self_url="https://x/f",
                                                         updated="2026-11-24T09:30:00Z", cap_url=lambda i: f"https://x/{i}.cap")),
        ("webpush_body (payload JSON)", lambda: webpush_body(NOTE)),
        ("SNS publish_request (fcm)", lambda: publish_request("fcm", NOTE, system_clock())),
        ("SNS publish_request (apns)", lambda: publish_request("apns", NOTE, system_clock())),
        ("WebPushChannel.send (loopback, keep-alive)", lambda: channel.send(target, NOTE)),
    ]
    print(f"{'operation':<46} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'per s (1 core)':>15}")
    for name, fn in rows:
        p50, p95 = _time(fn, n)
        print(f"{name:<46} {n:>6} {p50:>8.3f} {p95:>8.3f} {1000 / p50:>15.0f}")
    server.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
