"""Per-worker throughput of each delivery channel's send, side by side, in one table.

    .venv/bin/python -m bench.channels [--sends 400] [--threads 8]

One worker process sends `--sends` alert notifications through each channel with the worker's
thread pool (`fanout_threads`, as `FanoutWorker._map` does), each to its own subscriber:

- Web Push: the real `WebPushChannel` (payload, aes128gcm encryption, VAPID) to a loopback HTTP
  server playing the push service (keep-alive).
- SMS: the SMS sender's rules (`usecases/sms_alerts.AlertTexts.send`, what the `sms_sender`
  function runs per job): the SMS claim, the day's and the alert's ceiling counters, composing
  within the segment budget, SNS Publish to a phone number (moto in process: no network), the
  message record and the day's figures on DynamoDB Local.
- SMS service call alone: `SnsSms.send_text` on moto (what the SMS rules add is the difference).
- Email: the real `SesEmail` (text + HTML, EN/CY, unsubscribe headers) to aws-ses-v2-local.

The push claim, inbox copy and figures the fan-out writes for every subscriber whatever the
channel are not in these figures (bench/fanout.py measures them). In AWS the service round trip
(tens of ms) is overlapped by the threads, and the ceiling on SMS is the account's and the
origination number's messages-per-second quota, not the worker: see docs/channels.md.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _run(send: Callable[[int], object], n: int, threads: int) -> tuple[float, float]:
    """(wall seconds, p50 ms of one send) for n sends over `threads` threads."""
    samples: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        start = time.perf_counter()
        send(i)
        with lock:
            samples.append((time.perf_counter() - start) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - started, statistics.median(samples)


def _webpush(note: Any) -> tuple[Callable[[int], object], Callable[[], None]]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from chalicelib.clock import system_clock
    from chalicelib.notify.webpush import WebPushChannel, generate_vapid_private_pem

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    target = {"type": "webpush", "subscription": {"endpoint": f"http://127.0.0.1:{server.server_address[1]}/push/x",
                                                  "keys": {"p256dh": b64(browser), "auth": b64(os.urandom(16))}}}
    channel = WebPushChannel(generate_vapid_private_pem(), "mailto:bench@beatline.example", clock=system_clock,
                             allow_insecure_endpoints=True)
    channel.send(target, note)  # warm: connection, VAPID token
    return (lambda i: channel.send(target, note)), server.shutdown


def _sms(note: Any, settings: Any) -> tuple[Callable[[int], object], Callable[[int], object]]:
    import boto3

    from chalicelib.notify.sms import SnsSms
    from chalicelib.services import dynamodb_repositories
    from chalicelib.usecases.sms_alerts import AlertTexts

    sender = SnsSms(boto3.client("sns", region_name="eu-west-2"))
    texts = AlertTexts(store=dynamodb_repositories(), sender=sender, settings=settings, clock=lambda: datetime.now(UTC))

    def rules_and_send(i: int) -> object:
        target = {"type": "sms", "address": f"+4479111{i:05d}", "subscriber_id": str(uuid.uuid4())}
        return texts.send(target, note)

    return rules_and_send, (lambda i: sender.send_text(f"+4479112{i:05d}", "Beatline Police Severe: bench"))


def _email(note: Any) -> Callable[[int], object] | None:
    """The email channel (SES v2) on the local SES server (aws-ses-v2-local)."""
    from chalicelib.notify.wiring import build_email
    from chalicelib.settings import load_settings

    channel = build_email(load_settings())
    if channel is None:
        return None
    sub = str(uuid.uuid4())
    return lambda i: channel.send({"type": "email", "address": f"bench{i}@example.org", "subscriber_id": sub,
                                   "unsubscribe_token": "u.email.x.y"}, note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8, help="the worker's send threads (fanout_threads)")
    args = parser.parse_args(argv)

    from bench.fanout import CallCounter, _setup_env

    db = _setup_env()
    from infra.local.ses_local import SesLocal

    ses = SesLocal().start()
    os.environ.update({"AWS_ENDPOINT_URL_SESV2": ses.endpoint, "BEATLINE_EMAIL_FROM": "alerts@beatline.local"})
    counter = CallCounter()
    counter.install()
    os.environ.update({"BEATLINE_SMS_PER_ALERT_CEILING": "1000000", "BEATLINE_SMS_PER_DAY_CEILING": "1000000"})
    try:
        from moto import mock_aws

        from chalicelib.domain.alerts import InfoBlock, Notification
        from chalicelib.settings import load_settings
        from chalicelib.store.bootstrap import bind_store
        from chalicelib.store.tables import ensure_tables

        settings = load_settings()
        bind_store(settings)
        ensure_tables()
        expires = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        info = InfoBlock("en-GB", "Gas leak on Riverside Road", "Homes on Riverside Road are being evacuated. " * 4,
                         "Keep away and follow officers' directions.")
        note = Notification(alert_id=str(uuid.uuid4()), msg_type="Alert", info=info, category="Safety",
                            severity="Severe", urgency="Immediate", certainty="Observed",
                            sent_at="2026-12-03T13:00:00Z", expires_at=expires, team="bench")
        rows: list[tuple[str, str, float, float, int] | tuple[str, str]] = []

        def measured(name: str, what: str, send: Callable[[int], object]) -> None:
            counter.reset()
            counter.enabled = True
            wall, p50 = _run(send, args.sends, args.threads)
            counter.enabled = False
            rows.append((name, what, wall, p50, sum(counter.calls.values())))

        webpush, stop = _webpush(note)
        measured("Web Push", "encrypt + POST (loopback)", webpush)
        stop()
        with mock_aws():
            sms_rules, sms_call = _sms(note, settings)
            measured("SMS", "claim, 2 ceilings, compose, Publish (moto), record, figures", sms_rules)
            measured("SMS service call only", "SNS Publish to a number (moto)", sms_call)
        email = _email(note)
        if email is None:
            rows.append(("Email", "not on this branch / not configured (no row)"))
        else:
            measured("Email", "SES v2 SendEmail, text + HTML (local SES server)", email)
        print(f"\nOne worker, {args.threads} send threads, {args.sends} sends per channel "
              "(DynamoDB Local; shared 2-core machine)\n")
        print(f"{'channel':<24}{'sends/s per worker':>20}{'p50 ms per send':>18}{'DynamoDB calls/send':>21}  what one send does")
        for row in rows:
            if len(row) == 2:
                print(f"{row[0]:<24}{'-':>20}{'-':>18}{'-':>21}  {row[1]}")
                continue
            name, what, wall, p50, calls = row  # type: ignore[misc]
            print(f"{name:<24}{args.sends / wall:>20,.0f}{p50:>18.2f}{calls / args.sends:>21.1f}  {what}")
        return 0
    finally:
        ses.stop()
        db.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
