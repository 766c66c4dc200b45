"""Each function's IAM grants are exactly what its code calls (infra/permissions.py is the list).

Representative flows run per component with botocore hooks recording every AWS call as the IAM
action and resource it needs (tests/iam_recorder.py; a Query as `table/<t>/index/<name>`, index by
index): the API (every route group, every history index, through chalice.test.Client on DynamoDB
Local, enqueueing to a recorded SQS client), the fan-out worker (the messages the API enqueued),
housekeeping (release held), the SMS sender (the texts the worker and housekeeping queued, each
job delivered twice), the conversation clock (a wait past 24 h) and the archiver (a stream
batch to a recorded S3 client). Failure and retry paths run too: real Web Push sends (through the
real channel) to local push services answering 429, 500, 404 and 410 or never answering, for the
worker (redelivered until the attempts are spent: claims and retry marks failing their
conditions) and for housekeeping (held pushes and a held conversation answer released into
them). A call the declaration lacks would be AccessDenied in AWS; a grant no flow uses is wider
than the code. Both fail here.
"""

from __future__ import annotations

import functools
import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.permissions import (
    API,
    ARCHIVER,
    CLOCK,
    CODE_GRANTS,
    CONVERSATION_COUNTER,
    COUNTER,
    EMAIL_EVENTS,
    EMAIL_REPLIES,
    EXPORTER,
    HOUSEKEEPING,
    PULSE_WORKER,
    RATING_COUNTER,
    RECORDED_SERVICES,
    SMS_INBOUND,
    SMS_SENDER,
    WORKER,
)
from tests import conftest
from tests.alerting import (
    FakeChannel,
    circle,
    post,
    publish,
    register,
    set_areas,
    spot,
    square,
    update_published,
    webpush_channel,
)
from tests.conftest import bearer, settle_streams
from tests.hostile_push import HostilePushService, RoutedChannel
from tests.iam_recorder import CallLog, recording_client, recording_dynamodb
from tests.push_dns import TEST_PUSH_RESOLVER
from tests.support import street

QUEUE_URL = "https://sqs.eu-west-2.amazonaws.com/123456789012/beatline-test-fanout"


class SentMessages:
    """Answers SendMessageBatch like SQS and keeps the bodies (the worker's input)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert operation == "SendMessageBatch", operation
        self.bodies += [e["MessageBody"] for e in params["Entries"]]
        return {"Successful": [{"Id": e["Id"], "MessageId": e["Id"], "MD5OfMessageBody": "x"}
                               for e in params["Entries"]], "Failed": []}

    def take(self) -> list[tuple[str, str]]:
        taken, self.bodies = self.bodies, []
        return [(str(uuid.uuid4()), body) for body in taken]


class ExportSteps:
    """Answers SendMessage like SQS and keeps the bodies (the export worker's input)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert operation == "SendMessage", operation
        self.bodies.append(params["MessageBody"])
        return {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": "x"}

    def take(self) -> list[tuple[str, str]]:
        taken, self.bodies = self.bodies, []
        return [(str(uuid.uuid4()), body) for body in taken]


class Objects:
    """Answers S3 object calls from memory (one bucket, shared by the API and the export worker)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "PutObject":
            body = params["Body"]
            self.data[params["Key"]] = body.getvalue() if hasattr(body, "getvalue") else body
            return {"ETag": '"x"'}
        if operation == "GetObject":
            return {"Body": io.BytesIO(self.data[params["Key"]])}
        assert operation == "ListObjectsV2", operation
        found = [{"Key": k, "Size": len(v)} for k, v in sorted(self.data.items()) if k.startswith(params["Prefix"])]
        return {"Contents": found, "KeyCount": len(found), "IsTruncated": False}


def _recorded(grants: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {g for g in grants if g[0].split(":")[0] in RECORDED_SERVICES}


def ok(response: Any) -> Any:
    assert response.status_code < 300, response.body
    return response


def _api_flow(client: Any, staff_token: Callable[..., str], team: str, run_worker: Callable[[], None],
              push: FakeChannel, run_pulses: Callable[[], None]) -> datetime:
    """Every API route family once; returns when the flow's beat meeting starts (for the clock)."""
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    analyst, admin = staff_token("analyst", team=None), staff_token("admin", team=None)

    ok(client.http.get("/v1/health"))
    # Staff devices: the team's pushes go to them (the worker erases one the push service forgot).
    for token, outcome in ((officer, "gone"), (supervisor, "sent")):
        device = webpush_channel()["subscription"]
        push.script[device["endpoint"]] = [outcome]
        ok(client.http.put(f"/v1/staff/me/devices/{uuid.uuid4()}", headers=bearer(token), body=json.dumps(device)))
    ok(client.http.delete(f"/v1/staff/me/devices/{uuid.uuid4()}", headers=bearer(officer)))
    contact = street()
    ok(client.http.post("/v1/contacts", headers=bearer(officer), body=json.dumps(contact)))
    ok(client.http.post("/v1/contacts", headers=bearer(officer), body=json.dumps(contact)))  # identical retry
    ok(client.http.post("/v1/contacts/batch", headers=bearer(officer), body=json.dumps({"contacts": [street()]})))
    read = ok(client.http.get(f"/v1/contacts/{contact['id']}", headers=bearer(officer))).json_body
    ok(client.http.patch(f"/v1/contacts/{contact['id']}", headers=bearer(officer),
                         body=json.dumps({"version": read["version"], "topic": "fraud_scams"})))
    ok(client.http.get(f"/v1/contacts/{contact['id']}/amendments", headers=bearer(supervisor)))
    ok(client.http.get("/v1/contacts?limit=5", headers=bearer(officer)))
    ok(client.http.get("/v1/contacts?team=mine&limit=5", headers=bearer(supervisor)))
    lat, lon = spot()
    area_id = str(uuid.uuid4())
    ok(client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin), body=json.dumps(
        {"name": "Drift", "team": team, "geometry": square(lat, lon)})))
    ok(client.http.get("/v1/areas"))
    ok(client.http.get(f"/v1/areas/{area_id}"))
    ok(client.http.put(f"/v1/teams/{team}", headers=bearer(admin), body=json.dumps({"name": "Drift team"})))
    ok(client.http.get(f"/v1/teams/{team}"))
    ok(client.http.get(f"/v1/police-uk/beatline/{area_id}/people"))
    _, token = register(client)
    register(client, signup={"via": "team", "area_id": area_id})  # a sign-up at the door: the team's counter
    ok(set_areas(client, token, [circle(lat, lon, 300), {"area_id": area_id}]))
    # The Guarantee: a priority supported and acted on, a meeting attended (reminded by the clock).
    priority_id = str(uuid.uuid4())
    ok(post(client, f"/v1/areas/{area_id}/priorities", supervisor,
            {"id": priority_id, "issue": "Speeding near the school", "topic": "road_safety"}))
    ok(post(client, f"/v1/priorities/{priority_id}/support", token))
    _, night_owl = register(client, webpush_channel(), quiet_hours=_quiet_now())  # the action's push is held
    ok(set_areas(client, night_owl, [{"area_id": area_id}]))
    ok(post(client, f"/v1/priorities/{priority_id}/support", night_owl))
    ok(client.http.patch(f"/v1/priorities/{priority_id}", headers=bearer(supervisor), body=json.dumps({"status": "current"})))
    ok(post(client, f"/v1/priorities/{priority_id}/actions", officer,
            {"id": str(uuid.uuid4()), "text": "Speed checks held.", "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}))
    ok(client.http.get(f"/v1/areas/{area_id}/priorities"))
    meeting_start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    meeting_id = str(uuid.uuid4())
    ok(post(client, f"/v1/areas/{area_id}/events", officer, {
        "id": meeting_id, "title": "Beat meeting", "type": "meeting", "address": "Hall",
        "start": meeting_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (meeting_start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}))
    _, attendee = register(client)  # not erased below: the clock reminds them
    ok(set_areas(client, attendee, [{"area_id": area_id}]))
    ok(post(client, f"/v1/events/{meeting_id}/attend", attendee))
    ok(client.http.get(f"/v1/police-uk/beatline/{area_id}/events"))
    gone, sleeper = webpush_channel(), webpush_channel()
    push.script[gone["subscription"]["endpoint"]] = ["gone"]  # the worker downgrades it to inbox
    residents = {}
    for name, channel, prefs in (("gone", gone, {}), ("sleeper", sleeper, {"quiet_hours": _quiet_now()}),
                                 ("awake", webpush_channel(), {})):
        _, residents[name] = register(client, channel, **prefs)
        ok(set_areas(client, residents[name], [circle(lat, lon, 300)]))
    ok(client.http.get("/v1/subscribers/me", headers=bearer(token)))
    ok(client.http.patch("/v1/subscribers/me", headers=bearer(token), body=json.dumps({"language": "en"})))
    # The sleeper has a phone number too: housekeeping's release of a held alert queues its text.
    _texts_from_moderate(client, residents["sleeper"])
    # A resident with a phone number (their own bar: Moderate) is texted the alert: the worker
    # queues the text, the SMS sender sends it.
    _, texter = register(client, webpush_channel())
    texter_number = _texts_from_moderate(client, texter)
    ok(set_areas(client, texter, [circle(lat, lon, 300)]))
    alert_id = publish(client, officer, supervisor, circle(lat, lon, 400))
    ok(client.http.get(f"/v1/alerts/{alert_id}", headers=bearer(officer)))
    ok(client.http.get("/v1/alerts?limit=5", headers=bearer(officer)))
    run_worker()
    assert any(alert_id in text for text in SMS.texts_to(texter_number))
    ok(client.http.delete("/v1/subscribers/me/channels/sms", headers=bearer(texter)))  # off the STOP index
    ok(post(client, f"/v1/alerts/{alert_id}/read", token))
    reply = ok(post(client, f"/v1/alerts/{alert_id}/responses", token, {"message": "Seen a van"})).json_body
    # A supervisor amends the contact the reply became: erasure later blanks the amendment's words too.
    reply_contact = ok(client.http.get(f"/v1/contacts/{reply['id']}", headers=bearer(supervisor))).json_body
    ok(client.http.patch(f"/v1/contacts/{reply['id']}", headers=bearer(supervisor),
                         body=json.dumps({"version": reply_contact["version"], "notes": "Van: white"})))
    # The reply opened a conversation: the team answers (inbox + push), lists, reads and closes it.
    conversation = reply["conversation_id"]
    ok(post(client, f"/v1/conversations/{conversation}/messages", officer, {"id": str(uuid.uuid4()), "text": "Thanks"}))
    ok(client.http.get("/v1/conversations?status=answered", headers=bearer(officer)))
    ok(client.http.get(f"/v1/conversations/{conversation}", headers=bearer(token)))
    ok(client.http.get("/v1/subscribers/me/conversations", headers=bearer(token)))
    ok(post(client, f"/v1/conversations/{conversation}/close", supervisor, {"outcome": "resolved"}))
    # Residents' trust: the answer rated, a pulse to the area's followers (pushed by the worker), answered.
    ok(post(client, f"/v1/conversations/{conversation}/rating", token, {"answered": "yes", "satisfaction": 4}))
    pulse_id = str(uuid.uuid4())
    ok(post(client, "/v1/pulses", admin, {"id": pulse_id, "question": "police_good_job", "areas": [area_id]}))
    run_pulses()  # the pulse worker delivers it, step by step
    ok(client.http.get(f"/v1/pulses/{pulse_id}", headers=bearer(admin)))
    ok(post(client, f"/v1/pulses/{pulse_id}/answers", token, {"answer": "good"}))
    # A resident in quiet hours starts one about the area: the team's answer is held for housekeeping.
    started = ok(post(client, "/v1/conversations", residents["sleeper"], {
        "id": str(uuid.uuid4()), "topic": "burglary", "text": "Door tried at night", "area_id": area_id})).json_body
    ok(client.http.get("/v1/conversations?status=waiting", headers=bearer(officer)))
    ok(post(client, f"/v1/conversations/{started['id']}/claim", officer))
    ok(post(client, f"/v1/conversations/{started['id']}/release", officer))
    ok(client.http.get("/v1/staff/me/figures", headers=bearer(officer)))
    ok(post(client, f"/v1/conversations/{started['id']}/messages", officer, {"id": str(uuid.uuid4()), "text": "On it"}))
    # ... and writes again: a new wait, which the conversation clock counts once it passes 24 h.
    ok(post(client, f"/v1/conversations/{started['id']}/messages", residents["sleeper"],
            {"id": str(uuid.uuid4()), "text": "Thank you"}))
    run_worker()
    update_published(client, officer, supervisor, alert_id, {"headline": "Vans seen nearby"})
    run_worker()
    ok(client.http.get("/v1/subscribers/me/inbox", headers=bearer(token)))
    ok(client.http.get(f"/v1/public/alerts?lat={lat}&lon={lon}"))
    ok(client.http.get(f"/v1/public/alerts/{alert_id}.cap"))
    ok(client.http.get(f"/v1/public/feed.atom?area_id={area_id}"))
    ok(post(client, f"/v1/alerts/{alert_id}/cancel", supervisor))
    run_worker()
    publish(client, officer, supervisor, circle(lat, lon, 400))  # held for the sleeper: housekeeping queues its text
    run_worker()
    now = datetime.now(UTC).replace(microsecond=0)
    window = f"from={(now - timedelta(days=2)).strftime('%Y-%m-%dT%H:%M:%SZ')}&to={now.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    for path in (f"/v1/history/contacts?{window}&purpose=drift", f"/v1/history/contacts.csv?{window}&purpose=drift",
                 f"/v1/history/stats?{window}&group_by=day&by=kind&purpose=drift",
                 f"/v1/history/alerts?{window}&purpose=drift",
                 f"/v1/history/engagement?{window}&group_by=week&purpose=drift",
                 f"/v1/history/conversations?{window}&purpose=drift",
                 f"/v1/history/trust?{window}&purpose=drift", f"/v1/history/trust?{window}&purpose=drift&team={team}"):
        ok(client.http.get(path, headers=bearer(analyst)))
    # Every history index: team x topic x (no channel filter | kind | place).
    for team_filter in ("", f"&team={team}"):
        for topic in ("", "&topic=burglary"):
            for place in ("", "&kind=street", f"&area_id={area_id}"):
                ok(client.http.get(f"/v1/history/contacts?{window}&purpose=drift{team_filter}{topic}{place}",
                                   headers=bearer(analyst)))
    # A bulk export of yesterday and today: the job, its first step queued, read back (the links).
    days = {"from": (now - timedelta(days=1)).date().isoformat(), "to": now.date().isoformat(), "purpose": "drift"}
    job = ok(post(client, "/v1/history/exports", analyst, days)).json_body
    ok(client.http.get(f"/v1/history/exports/{job['id']}", headers=bearer(analyst)))
    ok(client.http.get(f"/v1/audit?{window}&purpose=drift", headers=bearer(admin)))
    ok(client.http.get(f"/v1/audit?{window}&actor=x&purpose=drift", headers=bearer(admin)))
    ok(client.http.delete("/v1/subscribers/me", headers=bearer(token)))
    return meeting_start


FAILING = ("status/429", "status/500", "status/404", "status/410")


def _texts_from_moderate(client: Any, token: str) -> str:
    """A confirmed phone number for the resident, texted alerts from Moderate up: the number."""
    number = f"+4479111{uuid.uuid4().int % 100000:05d}"
    ok(client.http.put("/v1/subscribers/me/channels/sms", headers=bearer(token),
                       body=json.dumps({"phone": number, "min_severity": "Moderate"})))
    ok(post(client, "/v1/subscribers/me/channels/sms/confirm", token, {"code": SMS.code(number)}))
    return number


def _failure_flow(client: Any, staff_token: Callable[..., str], team: str, run_worker: Callable[..., None]) -> list[str]:
    """Residents whose push services fail (fail.example.test: 429, 500, 404, 410; hang.example.test:
    never answers), awake and in quiet hours, get an alert; a quiet-hours resident with a gone
    endpoint gets a team answer. Returns the resident tokens whose endpoints are gone."""
    from chalicelib.usecases.fanout import MAX_ATTEMPTS

    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    lat, lon = spot()
    gone_tokens = []
    residents = [(kind, host, {}) for kind, host in [*((k, "fail") for k in FAILING), ("hang", "hang")]]
    residents += [("status/500", "fail", {"quiet_hours": _quiet_now()}), ("status/410", "fail", {"quiet_hours": _quiet_now()})]
    for kind, host, prefs in residents:
        _, token = register(client, webpush_channel(f"https://{host}.example.test/{kind}/{uuid.uuid4().hex}"), **prefs)
        ok(set_areas(client, token, [circle(lat, lon, 300)]))
        if kind in ("status/404", "status/410"):
            gone_tokens.append(token)
    area_id = str(uuid.uuid4())
    ok(client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin", team=None)), body=json.dumps(
        {"name": "Failing", "team": team, "geometry": square(lat, lon)})))
    started = ok(post(client, "/v1/conversations", gone_tokens[-1], {
        "id": str(uuid.uuid4()), "topic": "burglary", "text": "Shed broken into", "area_id": area_id})).json_body
    ok(post(client, f"/v1/conversations/{started['id']}/messages", officer, {"id": str(uuid.uuid4()), "text": "Noted"}))
    publish(client, officer, supervisor, circle(lat, lon, 400))
    run_worker(redeliveries=MAX_ATTEMPTS)  # until every failing send has spent its attempts
    return gone_tokens


class SmsOutbox:
    """The SMS service of the drift flows: codes and alert texts kept by number."""

    def __init__(self) -> None:
        from tests.sms_fakes import FakeSmsSender

        self.sender = FakeSmsSender()

    def code(self, number: str) -> str:
        import re

        match = re.search(r"\b([0-9]{6})\b", self.sender.texts_to(number)[-1])
        assert match
        return match.group(1)

    def texts_to(self, number: str) -> list[str]:
        return self.sender.texts_to(number)


SMS = SmsOutbox()


def _sms_inbound_flow(client: Any, svc: Any, log: CallLog) -> None:
    """The SMS topic's function: STOP from a number a resident confirmed, and a delivery event for
    a text the worker sent."""
    from chalicelib.usecases import sms_inbound, sms_numbers

    _, token = register(client)  # the API's part, recorded by no log here
    number, message = f"+4479111{uuid.uuid4().int % 100000:05d}", str(uuid.uuid4())
    ok(client.http.put("/v1/subscribers/me/channels/sms", headers=bearer(token), body=json.dumps({"phone": number})))
    ok(post(client, "/v1/subscribers/me/channels/sms/confirm", token, {"code": SMS.code(number)}))
    later = datetime.now(UTC) + timedelta(days=1)
    svc.store.sms.record_message(message, "sms:drift", "sent", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), later)
    with recording_dynamodb(log):
        stop = json.dumps({"originationNumber": number, "destinationNumber": "+447700000001", "messageBody": "STOP"})
        assert sms_inbound.handle(svc, stop, sms_inbound.stop_number) == "stop"
        event = json.dumps({"eventType": "TEXT_DELIVERED", "messageId": message})
        assert sms_inbound.handle(svc, event, sms_inbound.stop_number) == "status"
    assert svc.store.sms.holders(sms_numbers.number_digest(svc, number)) == []
    assert "contacts" not in ok(client.http.get("/v1/subscribers/me", headers=bearer(token))).json_body


def _quiet_now() -> dict[str, str]:
    """Quiet hours around the present (UTC): a push to this resident is held, then released."""
    now = datetime.now(UTC)
    return {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M"),
            "tz": "UTC"}


@pytest.fixture(scope="module")
def recordings(client: Any, staff_token: Callable[..., str]) -> dict[str, set[tuple[str, str]]]:
    from chalicelib import services as services_module
    from chalicelib.audit_archive import S3Sink, handle_stream_event
    from chalicelib.notify.job_queue import SqsJobQueue
    from chalicelib.notify.queue import SqsQueue
    from chalicelib.notify.webpush import WebPushChannel, generate_vapid_private_pem
    from chalicelib.settings import SETTINGS
    from chalicelib.store.export_files import S3ExportSink
    from chalicelib.usecases.conversation_push import AnswerPusher
    from chalicelib.usecases.exports import handle_sqs_records
    from chalicelib.usecases.fanout import FanoutWorker
    from chalicelib.usecases.notice_push import NoticePusher
    from chalicelib.usecases.push import PushSender
    from chalicelib.usecases.push_worker import PushWorker

    previous = services_module._current
    logs = {name: CallLog(SETTINGS.table_prefix) for name in CODE_GRANTS}
    sent, push = SentMessages(), FakeChannel()
    failing, hanging = HostilePushService(), HostilePushService()
    real = WebPushChannel(generate_vapid_private_pem(), "mailto:drift@beatline.example", allow_insecure_endpoints=True,
                          deadline=0.5)
    channel = RoutedChannel(real, {"fail.example.test": failing.origin, "hang.example.test": hanging.origin}, push)

    def queue(name: str) -> SqsQueue:
        return SqsQueue(recording_client("sqs", logs[name], "queue/fanout", sent), QUEUE_URL)

    from chalicelib.notify.sms import SmsConfirmations
    from chalicelib.usecases.sms_alerts import AlertTexts, SmsJobs

    objects, steps, sms_jobs = Objects(), ExportSteps(), ExportSteps()

    def export_ports(name: str) -> dict[str, Any]:
        s3 = recording_client("s3", logs[name], "bucket/exports", objects, {"ListObjectsV2": "bucket/exports-list"})
        sqs = recording_client("sqs", logs[name], "queue/exports", steps)
        return {"export_sink": S3ExportSink(s3, "exports"), "export_queue": SqsJobQueue[Any](lambda: sqs, QUEUE_URL, what="export step")}

    pulse_queue, run_pulses = _pulse_worker(logs, queue(PULSE_WORKER))
    api = services_module.build_services(SETTINGS, fanout_queue=queue(API), channels={"webpush": push},
                                         push_resolver=TEST_PUSH_RESOLVER, sms_sender=SMS.sender, confirmation_senders={
                                             "sms": SmsConfirmations(SMS.sender, force_name="Drift", minutes=15)},
                                         pulse_queue=pulse_queue(API), **export_ports(API))

    def push_worker(clock: Any, fanout_queue: SqsQueue | None, log: str, **fanout: Any) -> PushWorker:
        texts = SmsJobs(queue=_sms_queue(logs[log], sms_jobs), settings=SETTINGS)
        sender = PushSender(channels={"webpush": channel, "sms": texts}, clock=clock, base_url=SETTINGS.public_base_url)
        return PushWorker(alerts=FanoutWorker(sender=sender, queue=fanout_queue, store=api.store, **fanout),
                          answers=AnswerPusher(sender=sender, store=api.store),
                          notices=NoticePusher(sender=sender, store=api.store), sender=sender, store=api.store)

    # Page size and budget 1: the worker hands the rest of a cell on to a new message (SQS send).
    worker = push_worker(api.clock, queue(WORKER), WORKER, page_size=1, budget=1)
    send_texts = functools.partial(_send_texts, AlertTexts(store=api.store, sender=SMS.sender, settings=SETTINGS,
                                                           clock=api.clock), sms_jobs, logs[SMS_SENDER])

    def run_worker(redeliveries: int = 0) -> None:
        """The worker's turn, in its own log (in AWS: another function with another role); failed
        messages are redelivered up to `redeliveries` times, as SQS would, and must then be done."""
        with recording_dynamodb(logs[WORKER]):
            while batch := sent.take():
                for _ in range(redeliveries + 1):
                    failed = {f["itemIdentifier"] for f in worker.handle_sqs_records(batch)["batchItemFailures"]}
                    batch = [record for record in batch if record[0] in failed]
                    if not batch:
                        break
                assert not batch, "still failing after every attempt"
        send_texts()

    # The streams' aggregators are other functions: the test client's settles record there.
    counters = {"contact_counter": COUNTER, "conversation_counter": CONVERSATION_COUNTER,
                "rating_counter": RATING_COUNTER}
    conftest._state["settle_around"] = lambda handler: recording_dynamodb(logs[counters[handler]])
    try:
        services_module.use_services(api)
        with recording_dynamodb(logs[API]):
            meeting_start = _api_flow(client, staff_token, f"team-{uuid.uuid4().hex[:8]}", run_worker, push, run_pulses)
            gone = _failure_flow(client, staff_token, f"team-{uuid.uuid4().hex[:8]}", run_worker)
        later = push_worker(lambda: datetime.now(UTC) + timedelta(hours=2), None, HOUSEKEEPING)
        with recording_dynamodb(logs[HOUSEKEEPING]):
            # the alert push, the conversation answer and the action's notice, then the failing ones:
            # 500 (held again), 410 x2
            assert later.release_held() >= 5
        assert send_texts() >= 1  # the sleeper's text, queued by housekeeping
        assert {p.rsplit("/", 1)[0] for p in failing.paths} == {f"/{kind}" for kind in FAILING}
        assert hanging.paths and sum(p.startswith("/status/429") for p in failing.paths) >= 2  # retried
        for token in gone:  # 404/410: the worker and housekeeping downgraded them to the inbox
            assert ok(client.http.get("/v1/subscribers/me", headers=bearer(token))).json_body["channel"]["type"] == "inbox"
        from chalicelib.usecases.conversations import count_overdue
        from chalicelib.usecases.meetings import remind_meetings

        clock = services_module.build_services(SETTINGS, fanout_queue=queue(CLOCK), channels={"webpush": push},
                                               push_resolver=TEST_PUSH_RESOLVER)
        with recording_dynamodb(logs[CLOCK]):
            assert count_overdue(clock, datetime.now(UTC) + timedelta(hours=49)) >= 1  # 24 h and two thirds of 72 h
            assert remind_meetings(clock, meeting_start - timedelta(hours=23)) >= 1  # inbox, and a NoticePush
        assert any('"type":"notice"' in body for body in sent.bodies)
        _sms_inbound_flow(client, api, logs[SMS_INBOUND])
        exporter = services_module.build_services(SETTINGS, push_resolver=TEST_PUSH_RESOLVER, **export_ports(EXPORTER))
        with recording_dynamodb(logs[EXPORTER]):  # the export worker: a step per day, each queueing the next
            turns = 0
            while batch := steps.take():
                assert handle_sqs_records(exporter, batch) == {"batchItemFailures": []}
                turns += 1
            assert turns == 2 and any("/data/dt=" in key for key in objects.data)
        subscriber_id = _email_subscriber(api)
        from chalicelib.usecases.email_events import handle as email_event

        with recording_dynamodb(logs[EMAIL_EVENTS]):  # a complaint: the channel suppressed, logged
            assert email_event(api, json.dumps({"eventType": "Complaint", "mail": {
                "messageId": "m-1", "tags": {"subscriber": [subscriber_id]}},
                "complaint": {"complainedRecipients": [{"emailAddress": "drift@example.org"}]}})) == 1
        _reply_flow(api, logs[EMAIL_REPLIES], queue(EMAIL_REPLIES))
        assert settle_streams() >= 0  # whatever the flows wrote last
    finally:
        conftest._state.pop("settle_around", None)
        services_module.use_services(previous)
        failing.close()
        hanging.close()
    archive_answer = lambda operation, params: {"ETag": '"x"'}  # noqa: E731
    sink = S3Sink(recording_client("s3", logs[ARCHIVER], "bucket/audit-archive", archive_answer), "archive")
    from tests.test_audit_archive import entry, stream_record

    assert handle_stream_event([stream_record(entry())], sink) == {"batchItemFailures": []}
    return {name: log.grants for name, log in logs.items()}


def _sms_queue(log: CallLog, jobs: ExportSteps) -> Any:
    """The SMS queue as the worker and housekeeping use it, on a recorded SQS client."""
    from chalicelib.notify.job_queue import SqsJobQueue

    sqs = recording_client("sqs", log, "queue/sms", jobs)
    return SqsJobQueue[Any](lambda: sqs, QUEUE_URL, what="sms job")


def _send_texts(sender: Any, jobs: ExportSteps, log: CallLog) -> int:
    """The SMS sender's turn: every queued job delivered twice (SQS redelivers; texted once)."""
    with recording_dynamodb(log):
        batch = jobs.take()
        for _ in range(2):
            assert sender.handle_sqs_records(batch) == {"batchItemFailures": []}
    return len(batch)


def _pulse_worker(logs: dict[str, CallLog], fanout_queue: Any) -> tuple[Callable[[str], Any], Callable[[], None]]:
    """The pulse queue as each function sends to it (recorded SQS), and the pulse worker's turn:
    its own function and log, in pages of one so each step queues the next."""
    from chalicelib import services as services_module
    from chalicelib.notify.job_queue import SqsJobQueue
    from chalicelib.settings import SETTINGS

    steps = ExportSteps()  # SendMessage bodies, as for exports

    def pulse_queue(name: str) -> SqsJobQueue[Any]:
        sqs = recording_client("sqs", logs[name], "queue/pulses", steps)
        return SqsJobQueue[Any](lambda: sqs, QUEUE_URL, what="pulse step")

    worker = services_module.build_services(SETTINGS, fanout_queue=fanout_queue, push_resolver=TEST_PUSH_RESOLVER,
                                            pulse_queue=pulse_queue(PULSE_WORKER)).pulse_worker(page_size=1, budget=1)

    def run_pulses() -> None:
        turns = 0
        with recording_dynamodb(logs[PULSE_WORKER]):
            while batch := steps.take():
                assert worker.handle_sqs_records(batch) == {"batchItemFailures": []}
                turns += 1
        assert turns >= 2  # the area's followers took more than one step

    return pulse_queue, run_pulses


def _reply_flow(api: Any, log: CallLog, replies_queue: Any) -> None:
    """An email reply to a team answer, read from the inbound bucket (a recorded S3 client) and
    posted as the resident's message (the conversation started outside the recording)."""
    import dataclasses
    from email.message import EmailMessage
    from io import BytesIO

    import msgspec

    from chalicelib import services as services_module
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.domain.areas import AreaIn
    from chalicelib.domain.contact_channels import reply_token
    from chalicelib.domain.conversations import ConversationIn, MessageIn
    from chalicelib.notify.inbound_mail import S3Mailbox
    from chalicelib.settings import SETTINGS
    from chalicelib.usecases import areas as area_cases
    from chalicelib.usecases import conversations as conversation_cases
    from chalicelib.usecases.email_replies import receive

    team, (lat, lon) = f"team-{uuid.uuid4().hex[:8]}", spot()
    area_id, subscriber_id = str(uuid.uuid4()), _email_subscriber(api)
    admin = Principal(sub="admin-1", roles=frozenset({"admin"}), kind="staff", team=None, force="f")
    area_cases.put_area(api, RequestContext(request_id="r", now=datetime.now(UTC), principal=admin), area_id,
                        msgspec.convert({"name": "Elm", "team": team, "geometry": square(lat, lon, 0.01)}, AreaIn))
    record = api.store.subscribers.get(subscriber_id)
    resident = RequestContext(request_id="r", now=datetime.now(UTC), subscriber=record,
                              principal=Principal(sub=subscriber_id, roles=frozenset({"resident"}), kind="resident"))
    started = conversation_cases.start(api, resident, msgspec.convert(
        {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud", "area_id": area_id}, ConversationIn))
    conversation_id = started.value.id
    officer = RequestContext(request_id="r", now=datetime.now(UTC), principal=Principal(
        sub="pc-drift", roles=frozenset({"officer"}), kind="staff", team=team, force="f"))
    conversation_cases.post_message(api, officer, conversation_id, msgspec.convert(  # answered: the reply makes it wait
        {"id": str(uuid.uuid4()), "text": "We will visit."}, MessageIn))
    from chalicelib.domain.staff_devices import StaffDevice

    api.store.staff.put_device(StaffDevice(  # the team has a device: the waiting reply is pushed to it
        staff="sgt-drift", device_id=str(uuid.uuid4()), team=team, roles=("supervisor",),
        subscription={"endpoint": "https://push.example.test/drift", "keys": {}}, updated_at="2026-12-03T12:00:00Z",
        expires_at=datetime.now(UTC) + timedelta(days=1)))
    mail = EmailMessage()
    mail["From"], mail["Message-ID"] = "drift@example.org", f"<{uuid.uuid4()}@example.org>"
    mail["To"] = f"{reply_token('k' * 43, conversation_id)}@reply.drift.test"
    mail["X-SES-Virus-Verdict"], mail["Authentication-Results"] = "PASS", "amazonses.com; spf=pass"
    mail.set_content("Thanks")
    stored = bytes(mail)

    def answer(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"Body": BytesIO(stored)} if operation == "GetObject" else {}

    bucket = "drift-inbound"
    mailbox = S3Mailbox(recording_client("s3", log, "bucket/email-inbound", answer), bucket)
    replies = services_module.build_services(dataclasses.replace(SETTINGS, email_reply_domain="reply.drift.test",
                                                                 email_inbound_bucket=bucket),
                                             fanout_queue=replies_queue, mailbox=mailbox, store=api.store,
                                             push_resolver=TEST_PUSH_RESOLVER)
    with recording_dynamodb(log):
        assert receive(replies, replies.mailbox().take(bucket, "inbound/1"), "r-1") == "posted"


def _email_subscriber(svc: Any) -> str:
    """A subscriber with a confirmed email channel, written straight to the store."""
    from chalicelib.clock import to_rfc3339
    from chalicelib.domain.contact_channels import ContactChannel
    from chalicelib.domain.subscribers import Preferences, SubscriberRecord

    now = to_rfc3339(datetime.now(UTC))
    record = SubscriberRecord(
        id=str(uuid.uuid4()), channel={"type": "inbox"}, preferences=Preferences(), areas=(), cells=(), created_at=now,
        updated_at=now, expires_at=datetime.now(UTC) + timedelta(days=1), secret="c2VjcmV0c2VjcmV0c2VjcmV0",
        contacts=(ContactChannel(type="email", address="drift@example.org", status="confirmed", created_at=now,
                                 unsubscribe="u" * 43, confirmed_at=now, reply_key="k" * 43),))
    svc.store.subscribers.create(record)
    return record.id


def _declared(function: str) -> set[tuple[str, str]]:
    return {g for g in CODE_GRANTS[function] if g[0].split(":")[0] in RECORDED_SERVICES}


@pytest.mark.parametrize("function", [API, WORKER, HOUSEKEEPING, ARCHIVER, CLOCK, SMS_INBOUND, COUNTER,
                                      CONVERSATION_COUNTER, EXPORTER, EMAIL_EVENTS, EMAIL_REPLIES, SMS_SENDER,
                                      PULSE_WORKER, RATING_COUNTER])
def test_role_grants_exactly_what_the_code_calls(recordings: dict[str, set[tuple[str, str]]], function: str) -> None:
    recorded = _recorded(recordings[function])
    declared = _declared(function)
    assert not recorded - declared, f"{function} calls what its role does not grant (AccessDenied in AWS): {sorted(recorded - declared)}"
    assert not declared - recorded, f"{function}'s role grants what its code never calls: {sorted(declared - recorded)}"


def test_worker_cannot_touch_personal_records(recordings: dict[str, set[tuple[str, str]]]) -> None:
    """The component that fetches resident URLs holds nothing on contacts, amendments, stats,
    areas or the access log (flaw 8), in the code and in the declaration."""
    forbidden = {"table/contacts", "table/amendments", "table/stats", "table/areas", "table/access-log"}
    for grants in (recordings[WORKER], recordings[HOUSEKEEPING], CODE_GRANTS[WORKER], CODE_GRANTS[HOUSEKEEPING]):
        assert not {resource.split("/index")[0] for _, resource in grants} & forbidden
    assert CODE_GRANTS[ARCHIVER] == {("s3:PutObject", "bucket/audit-archive")}
    assert {resource for _, resource in CODE_GRANTS[COUNTER]} == {"table/stats"}  # reads no contact
    assert {resource for _, resource in CODE_GRANTS[CONVERSATION_COUNTER]} == {"table/stats"}  # nor a conversation
    assert {resource for _, resource in CODE_GRANTS[RATING_COUNTER]} == {"table/stats"}  # nor a rating

