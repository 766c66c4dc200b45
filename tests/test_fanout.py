"""The fan-out worker behind SQS (redelivery of a batch) and exact geometry on DynamoDB Local; its
rules (retries, gone endpoints, preferences, quiet hours) are tests/test_fanout_rules.py, on fakes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.geometry import covering_cells, shapes_intersect
from chalicelib.domain.shapes import Circle, Polygon, Shape
from chalicelib.domain.subscribers import SUBSCRIPTION_RESOLUTION, Preferences, SubscriberRecord
from chalicelib.notify.queue import encode
from chalicelib.ports import FanoutMessage
from chalicelib.store import deliveries as delivery_store
from chalicelib.store import subscribers as subscriber_store
from tests.alerting import FakeChannel, RecordingQueue, circle, post, publish, resident, spot, square, webpush_channel
from tests.conftest import bearer


def sqs_event(client, messages: list[FanoutMessage]) -> dict:
    return client.events.generate_sqs_event(message_bodies=[encode(m) for m in messages], queue_name="fanout")


def test_redelivered_batch_sends_nothing_twice(client, staff_token, team, services_override):
    push, queue = FakeChannel(), RecordingQueue()
    services_override(channels={"webpush": push}, fanout_queue=queue)
    lat, lon = spot()
    channels = [webpush_channel() for _ in range(3)]
    for channel in channels:
        resident(client, [circle(lat, lon, 400)], channel)
    alert_id = publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), square(lat, lon, 0.01))
    assert queue.messages and all(m.alert_id == alert_id for m in queue.messages)
    event = sqs_event(client, queue.messages)
    for _ in range(2):
        result = client.lambda_.invoke("fanout_worker", event)
        assert result.payload == {"batchItemFailures": []}
    for channel in channels:
        assert len(push.sent_to(channel["subscription"]["endpoint"])) == 1
    figures = client.http.get(f"/v1/alerts/{alert_id}", headers=bearer(staff_token("officer", team=team))).json_body["delivery"]
    assert figures["targeted"] == 3 and figures["sent"] == 3


def _shape(draw, lat: float, lon: float) -> dict:
    dlat = draw(st.floats(-0.03, 0.03))
    dlon = draw(st.floats(-0.05, 0.05))
    if draw(st.booleans()):
        return circle(lat + dlat, lon + dlon, draw(st.floats(60, 2500)))
    n = draw(st.integers(3, 7))
    import math

    radius = draw(st.floats(0.001, 0.02))
    ring = []
    for k in range(n):
        r = radius * draw(st.floats(0.4, 1.0))
        angle = 2 * math.pi * k / n
        ring.append([round(lon + dlon + r * 1.6 * math.cos(angle), 6), round(lat + dlat + r * math.sin(angle), 6)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


@st.composite
def scenarios(draw):
    lat, lon = draw(st.floats(50.5, 54.5)), draw(st.floats(-4.0, 0.0))
    subscribers = draw(st.lists(st.builds(lambda: None), min_size=3, max_size=12))
    return (lat, lon), [_shape(draw, lat, lon) for _ in subscribers], _shape(draw, lat, lon)


def _seed_subscriber(shape: dict, expires: datetime) -> str:
    import msgspec

    subscriber_id = str(uuid.uuid4())
    cells = tuple(sorted(covering_cells(msgspec.convert(shape, Shape), SUBSCRIPTION_RESOLUTION)))
    subscriber_store.create(SubscriberRecord(
        id=subscriber_id, channel={"type": "inbox"}, preferences=Preferences(), areas=({"shape": shape},),
        cells=cells, created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z", expires_at=expires))
    subscriber_store.write_index(subscriber_id, cells, [shape], expires)
    return subscriber_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
def test_notified_set_equals_brute_force(client, staff_token, scenario):
    import msgspec

    (_lat, _lon), subscriber_shapes, alert_area = scenario
    team = f"team-{uuid.uuid4().hex[:8]}"
    expires = datetime.now(UTC) + timedelta(days=2)
    ids = {_seed_subscriber(shape, expires): shape for shape in subscriber_shapes}
    alert_id = publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), alert_area)
    notified = {sid for sid in ids if delivery_store.get(alert_id, sid) is not None}
    area = msgspec.convert(alert_area, Shape)
    expected = {sid for sid, shape in ids.items() if shapes_intersect(area, msgspec.convert(shape, Shape))}
    assert notified == expected


def test_geometry_cases():
    def poly(coords):
        return Polygon(coordinates=[coords])

    a = poly([[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]])
    touching = poly([[0.01, 0], [0.02, 0], [0.02, 0.01], [0.01, 0.01], [0.01, 0]])
    apart = poly([[0.0101, 0], [0.02, 0], [0.02, 0.01], [0.0101, 0.01], [0.0101, 0]])
    inner = poly([[0.004, 0.004], [0.006, 0.004], [0.006, 0.006], [0.004, 0.004]])
    with_hole = Polygon(coordinates=[[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]],
                                     [[0.003, 0.003], [0.007, 0.003], [0.007, 0.007], [0.003, 0.007], [0.003, 0.003]]])
    assert shapes_intersect(a, touching) and not shapes_intersect(a, apart)
    assert shapes_intersect(a, inner) and shapes_intersect(inner, a)
    assert not shapes_intersect(with_hole, inner)  # entirely inside the hole
    near = Circle(center={"lat": 0.005, "lon": 0.0115}, radius_m=200)  # type: ignore[arg-type]
    far = Circle(center={"lat": 0.005, "lon": 0.0125}, radius_m=200)  # type: ignore[arg-type]
    import msgspec

    near, far = msgspec.convert(msgspec.to_builtins(near), Circle), msgspec.convert(msgspec.to_builtins(far), Circle)
    assert shapes_intersect(a, near) and not shapes_intersect(a, far)
    assert shapes_intersect(near, far)  # 111 m apart, radii 200 m


def test_read_receipts_and_responses(client, staff_token, team, services_override):
    services_override(channels={})
    lat, lon = spot()
    _, reader = resident(client, [circle(lat, lon, 300)])
    _, stranger = resident(client, [circle(lat + 0.3, lon, 300)])
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    alert_id = publish(client, officer, supervisor, square(lat, lon, 0.01))
    first = post(client, f"/v1/alerts/{alert_id}/read", reader)
    again = post(client, f"/v1/alerts/{alert_id}/read", reader)
    assert first.status_code == again.status_code == 200
    assert first.json_body["read_at"] == again.json_body["read_at"]
    assert post(client, f"/v1/alerts/{alert_id}/read", stranger).status_code == 404
    reply = post(client, f"/v1/alerts/{alert_id}/responses", reader, {"message": "Saw two people at 2am"})
    assert reply.status_code == 201, reply.body
    assert post(client, f"/v1/alerts/{alert_id}/responses", stranger, {"message": "hi"}).status_code == 404
    assert post(client, f"/v1/alerts/{alert_id}/responses", reader, {"message": ""}).status_code == 400
    figures = client.http.get(f"/v1/alerts/{alert_id}", headers=bearer(officer)).json_body["delivery"]
    assert (figures["read"], figures["responses"]) == (1, 1)
    contact = client.http.get(f"/v1/contacts/{reply.json_body['id']}", headers=bearer(supervisor))
    assert contact.status_code == 200, contact.body
    body = contact.json_body
    assert (body["kind"], body["platform"], body["direction"], body["team"]) == ("online", "beatline", "inbound", team)
    assert body["handle_pseudonym"].startswith("rsp_") and body["notes"] == "Saw two people at 2am"
    from chalicelib.store import contacts as contact_store
    from tests.conftest import settle_streams

    settle_streams()  # the counters come from the contacts stream
    day = body["occurred_at"][:10]
    counted = dict(contact_store.counters(f"team:{team}|platform", f"{day}|", f"{day}|~"))
    assert counted == {f"{day}|beatline": 1}


def test_concurrent_redelivery_still_sends_once(client, staff_token, team, services_override):
    """Two workers given the same batch at the same time (SQS may do that after a visibility
    timeout): the conditional claims still let exactly one of them send to each subscriber."""
    import threading

    from chalicelib.services import services

    push, queue = FakeChannel(), RecordingQueue()
    services_override(channels={"webpush": push}, fanout_queue=queue)
    lat, lon = spot()
    channels = [webpush_channel() for _ in range(12)]
    for channel in channels:
        resident(client, [circle(lat, lon, 600)], channel)
    publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), square(lat, lon, 0.02))
    records = [(f"m{i}", encode(m)) for i, m in enumerate(queue.messages)]
    start = threading.Barrier(2)
    results = []

    def run() -> None:
        start.wait()
        results.append(services().push_worker().handle_sqs_records(records))

    workers = [threading.Thread(target=run) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [{"batchItemFailures": []}] * 2
    assert sorted(len(push.sent_to(c["subscription"]["endpoint"])) for c in channels) == [1] * 12


def test_send_refused_for_good_is_failed_not_retried(client, staff_token, team, services_override):
    """A push service refusing the message itself (400/413 -> SendOutcome.FAILED): counted as
    failed, the subscription kept, and no retry that could only fail again."""
    push, queue = FakeChannel(), RecordingQueue()
    services_override(channels={"webpush": push}, fanout_queue=queue)
    lat, lon = spot()
    channel = webpush_channel()
    resident(client, [circle(lat, lon, 400)], channel)
    push.script[channel["subscription"]["endpoint"]] = ["failed"]
    officer = staff_token("officer", team=team)
    alert_id = publish(client, officer, staff_token("supervisor", team=team), square(lat, lon, 0.01))
    event = sqs_event(client, queue.messages)
    assert client.lambda_.invoke("fanout_worker", event).payload == {"batchItemFailures": []}
    assert client.lambda_.invoke("fanout_worker", event).payload == {"batchItemFailures": []}
    assert len(push.sent_to(channel["subscription"]["endpoint"])) == 1
    figures = client.http.get(f"/v1/alerts/{alert_id}", headers=bearer(officer)).json_body["delivery"]
    assert (figures["targeted"], figures["sent"], figures["failed"]) == (1, 0, 1)
