"""A push endpoint does not decide how long a send takes (issue 17.5).

Real peers on 127.0.0.1 (tests/hostile_push.py) trickle a body byte by byte, send headers one line
at a time, never answer, or never finish a TLS handshake; a Web Push send to any of them returns
RETRY within its deadline (connect, TLS, write and every read together), and a fan-out with a few
hostile subscriptions among many healthy ones delivers to the healthy ones within a bound.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.notify.guarded_http import SlowHosts
from chalicelib.notify.webpush import WebPushChannel, generate_vapid_private_pem
from chalicelib.ports import SendOutcome
from tests.alert_samples import notification
from tests.alerting import RecordingQueue, circle, publish, resident, spot, square, webpush_channel
from tests.hostile_push import HostilePushService, RoutedChannel, SilentTlsPeer
from tests.test_fanout import sqs_event
from tests.test_webpush_channel import Browser

DEADLINE = 0.6
SLACK = 0.5  # thread scheduling on two shared cores


@pytest.fixture(scope="module")
def vapid_pem() -> str:
    return generate_vapid_private_pem()


@pytest.fixture
def hostile() -> Iterator[HostilePushService]:
    service = HostilePushService(interval=0.1)  # well inside every per-read timeout
    yield service
    service.close()


def _channel(vapid_pem: str, deadline: float = DEADLINE, **kwargs: object) -> WebPushChannel:
    return WebPushChannel(vapid_pem, "mailto:alerts@beatline.example", allow_insecure_endpoints=True,
                          deadline=deadline, **kwargs)  # type: ignore[arg-type]


def _note() -> object:
    return notification(expires_at=to_rfc3339(datetime.now(UTC) + timedelta(hours=1)))


def _timed_send(channel: WebPushChannel, endpoint: str) -> tuple[SendOutcome, float]:
    started = time.monotonic()
    outcome = channel.send(Browser(endpoint).target(), _note())
    return outcome, time.monotonic() - started


@pytest.mark.no_database
@pytest.mark.parametrize("kind", ["trickle", "slow-headers", "hang"])
def test_a_slow_peer_cannot_hold_a_send_past_its_deadline(vapid_pem, hostile, kind) -> None:
    channel = _channel(vapid_pem)
    outcome, took = _timed_send(channel, hostile.endpoint(kind))
    assert outcome is SendOutcome.RETRY
    assert DEADLINE * 0.8 <= took < DEADLINE + SLACK, took
    # the pooled session still works for the next, healthy send
    outcome, took = _timed_send(_channel(vapid_pem), hostile.endpoint("ok"))
    assert outcome is SendOutcome.SENT and took < DEADLINE


@pytest.mark.no_database
def test_a_tls_handshake_that_never_completes_is_cut_at_the_deadline(vapid_pem) -> None:
    peer = SilentTlsPeer()
    try:
        outcome, took = _timed_send(_channel(vapid_pem), f"https://127.0.0.1:{peer.port}/push/x")
    finally:
        peer.close()
    assert peer.accepted == 1  # it did connect: the handshake is what hung
    assert outcome is SendOutcome.RETRY
    assert took < DEADLINE + SLACK, took


@pytest.mark.no_database
def test_a_host_that_keeps_hitting_the_deadline_is_deferred_without_connecting(vapid_pem, hostile) -> None:
    healthy = HostilePushService()
    try:
        channel = _channel(vapid_pem, slow_hosts=SlowHosts(strikes=2, window=60))
        for _ in range(2):
            assert _timed_send(channel, hostile.endpoint("trickle"))[0] is SendOutcome.RETRY
        connections = hostile.connections
        outcome, took = _timed_send(channel, hostile.endpoint("ok"))
        assert outcome is SendOutcome.RETRY and took < 0.1  # deferred to the worker's retry
        assert hostile.connections == connections  # nothing was sent to it
        assert _timed_send(channel, healthy.endpoint("ok"))[0] is SendOutcome.SENT  # other hosts go on
    finally:
        healthy.close()


@pytest.mark.no_database
def test_slow_hosts_forget_strikes_after_the_window() -> None:
    now = [0.0]
    hosts = SlowHosts(strikes=2, window=10, clock=lambda: now[0])
    hosts.strike("https://a")
    now[0] = 11
    hosts.strike("https://a")
    assert not hosts.is_slow("https://a")  # the first strike aged out
    hosts.strike("https://a")
    assert hosts.is_slow("https://a") and not hosts.is_slow("https://b")
    now[0] = 22
    assert not hosts.is_slow("https://a")


def test_hostile_subscriptions_do_not_stall_an_alerts_fanout(client, staff_token, team, services_override,
                                                             vapid_pem) -> None:
    """4 hostile endpoints (each its own host) among 20 healthy ones: one SQS batch reaches every
    healthy subscriber within about one deadline, the hostile ones are left to the retry."""
    deadline = 2.0  # generous: healthy sends share two busy cores with the database
    hostile_hosts = [HostilePushService(interval=0.1) for _ in range(4)]
    healthy_peer = HostilePushService()
    routes = {f"hostile{i}.example.test": peer.origin for i, peer in enumerate(hostile_hosts)}
    routes["healthy.example.test"] = healthy_peer.origin
    channel = RoutedChannel(_channel(vapid_pem, deadline), routes)
    queue = RecordingQueue()
    services_override(channels={"webpush": channel}, fanout_queue=queue)
    try:
        lat, lon = spot()
        kinds = ["trickle", "slow-headers", "hang", "trickle"]
        hostile = [f"https://hostile{i}.example.test/{kind}/{uuid.uuid4().hex}" for i, kind in enumerate(kinds)]
        healthy = [f"https://healthy.example.test/ok/{uuid.uuid4().hex}" for _ in range(20)]
        for endpoint in hostile[:2] + healthy + hostile[2:]:  # hostile ones first and last in the page
            resident(client, [circle(lat, lon, 400)], webpush_channel(endpoint))
        publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), square(lat, lon, 0.01))
        started = time.monotonic()
        result = client.lambda_.invoke("fanout_worker", sqs_event(client, queue.messages)).payload
        took = time.monotonic() - started
    finally:
        for peer in [*hostile_hosts, healthy_peer]:
            peer.close()
    outcomes = {endpoint: outcome for endpoint, outcome, _ in channel.outcomes}
    assert [(e, outcomes[e]) for e in healthy if outcomes[e] is not SendOutcome.SENT] == [], took
    assert all(outcomes[e] is SendOutcome.RETRY for e in hostile)
    assert result["batchItemFailures"]  # the hostile ones are retried with the message
    # 8 sending threads: the 4 hostile sends cost one deadline side by side, not 4 in a row
    assert took < 2 * deadline + 3.0, took
    assert max(t for e, _, t in channel.outcomes if e in hostile) < deadline + SLACK
