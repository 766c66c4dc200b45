"""Beatline: wiring only. Routes live in chalicelib.api blueprints; logic below them."""

from typing import Any

from chalice import Chalice

from chalicelib.api import (
    alerts,
    areas,
    contacts,
    conversations,
    history,
    meetings,
    meta,
    police_uk,
    priorities,
    public,
    pulses,
    staff,
    subscribers,
    teams,
    trust,
    web,
)
from chalicelib.api.framework import install_method_guards
from chalicelib.settings import SETTINGS
from chalicelib.web import assets as web_assets

app = Chalice(app_name="beatline")
app.register_blueprint(meta.bp)
app.register_blueprint(contacts.bp)
app.register_blueprint(areas.bp)
app.register_blueprint(history.bp)
app.register_blueprint(subscribers.bp)
app.register_blueprint(alerts.bp)
app.register_blueprint(public.bp)
app.register_blueprint(conversations.bp)
app.register_blueprint(staff.bp)
app.register_blueprint(teams.bp)
app.register_blueprint(priorities.bp)
app.register_blueprint(meetings.bp)
app.register_blueprint(police_uk.bp)
app.register_blueprint(trust.bp)
app.register_blueprint(pulses.bp)
app.register_blueprint(web.bp)
app.api.binary_types += sorted(set(web_assets.BINARY_TYPES) - set(app.api.binary_types))  # base64 via API Gateway
install_method_guards(app)  # after the blueprints: 405 problem + Allow for every undeclared method


# Event handlers must live in app.py (PITFALLS). The template adds ReportBatchItemFailures.
@app.on_sqs_message(queue=SETTINGS.fanout_queue_name, batch_size=10, name="fanout_worker")
def fanout_worker(event: Any) -> Any:
    from chalicelib.services import services

    records = [(record.to_dict()["messageId"], record.body) for record in event]
    return services().push_worker().handle_sqs_records(records)


# Alert texts: the fan-out worker queues one job per text (ids only); this function alone may
# Publish to a phone number, and its role denies Publish to every topic and endpoint (infra/roles.py).
@app.on_sqs_message(queue=SETTINGS.sms_queue_name, batch_size=10, name="sms_sender")
def sms_sender(event: Any) -> Any:
    """Claims, caps and sends each text once (chalicelib/usecases/sms_alerts.py)."""
    from chalicelib.services import services

    records = [(record.to_dict()["messageId"], record.body) for record in event]
    return services().alert_texts.handle_sqs_records(records)


@app.on_sqs_message(queue=SETTINGS.export_queue_name, batch_size=1, name="export_worker")
def export_worker(event: Any) -> Any:
    """Bulk exports of history rows: one step (one part of one day) per message; each step queues
    the next (chalicelib/usecases/exports.py)."""
    from chalicelib.services import services

    records = [(record.to_dict()["messageId"], record.body) for record in event]
    return services().export_worker().handle_sqs_records(records)


@app.on_sqs_message(queue=SETTINGS.pulse_queue_name, batch_size=1, name="pulse_worker")
def pulse_worker(event: Any) -> Any:
    """The confidence pulse's delivery: one step (up to a few pages of one area's followers) per
    message; each step queues the next (chalicelib/usecases/pulses.py)."""
    from chalicelib.services import services
    from chalicelib.usecases.pulses import handle_sqs_records

    records = [(record.to_dict()["messageId"], record.body) for record in event]
    return handle_sqs_records(services(), records)


@app.on_sns_message(topic=SETTINGS.email_events_topic, name="email_events")
def email_events(event: Any) -> Any:
    """SES bounce and complaint events (the configuration set's SNS destination): a permanent bounce
    or a complaint suppresses that email channel (chalicelib/usecases/email_events.py)."""
    from chalicelib.services import services
    from chalicelib.usecases.email_events import handle

    return {"suppressed": handle(services(), event.message)}


# SES receiving stores a reply in S3 and notifies SNS (chalice cannot package @app.on_s3_event:
# CloudFormation does not change an existing bucket's notifications).
@app.on_sns_message(topic=SETTINGS.email_inbound_topic, name="email_replies")
def email_replies(event: Any) -> Any:
    """A resident's email reply to a team answer becomes their message (usecases/email_replies.py)."""
    from chalicelib.services import services
    from chalicelib.usecases.email_replies import from_notification

    notice_id = str(event.to_dict()["Records"][0]["Sns"].get("MessageId", ""))
    return {"result": from_notification(services(), event.message, notice_id)}


@app.schedule("rate(5 minutes)", name="housekeeping")
def housekeeping(event: Any) -> Any:
    """Releases pushes (alerts and conversation answers) held back by quiet hours once those hours end."""
    from chalicelib.services import services

    return {"released": services().push_worker().release_held()}


@app.schedule("rate(5 minutes)", name="conversation_clock")
def conversation_clock(event: Any) -> Any:
    """Counts the conversations whose wait for the team passes 24 hours (figures), and reminds
    residents of the beat meetings they said they will come to, the day before."""
    from chalicelib.services import services
    from chalicelib.usecases.conversations import count_overdue
    from chalicelib.usecases.meetings import remind_meetings

    svc = services()
    now = svc.clock()
    return {"counted": count_overdue(svc, now), "reminded": remind_meetings(svc, now)}


# The stream ARN exists only once the table does: the template replaces this placeholder with the
# access-log table's StreamArn (infra/template.py), keyed on the table name in it.
@app.on_dynamodb_record(
    stream_arn=f"arn:aws:dynamodb:{SETTINGS.region}:000000000000:table/{SETTINGS.table_name('access-log')}/stream/*",
    batch_size=100, starting_position="TRIM_HORIZON", name="access_log_archiver",
)
def access_log_archiver(event: Any) -> Any:
    """Copies each new access-log entry to the Object Lock bucket (chalicelib/audit_archive.py)."""
    from chalicelib.audit_archive import handle_stream_event

    return handle_stream_event(event.to_dict()["Records"])


# The SMS service's two-way messages and delivery events arrive on this topic (infra/template.py
# creates it; docs/channels.md). Only STOP keywords act on a resident's record.
@app.on_sns_message(topic=SETTINGS.sms_inbound_topic, name="sms_inbound")
def sms_inbound(event: Any) -> Any:
    from chalicelib.services import services
    from chalicelib.usecases.sms_inbound import handle, stop_number

    return {"handled": handle(services(), event.message, stop_number)}


# Every statistics counter and engagement item comes from the contacts table's stream (issue 23).
# The template replaces this placeholder ARN with the contacts table's StreamArn and adds the
# bisect-on-error, retry limit and on-failure queue (infra/hardening.py); locally and in tests
# infra/local/streams.py polls the stream and calls this same handler with Lambda's event.
@app.on_dynamodb_record(
    stream_arn=f"arn:aws:dynamodb:{SETTINGS.region}:000000000000:table/{SETTINGS.table_name('contacts')}/stream/*",
    batch_size=100, starting_position="TRIM_HORIZON", name="contact_counter",
)
def contact_counter(event: Any) -> Any:
    """Aggregates a batch of contact changes into counter sums, written exactly once."""
    from chalicelib.services import services
    from chalicelib.usecases.counters import apply_contact_stream

    return apply_contact_stream(services(), event.to_dict()["Records"]).to_dict()


# The conversations table's stream, alike (ConversationsTable's StreamArn in the template; the
# same local poller): every conversation figure counter and the open-wait gauge.
@app.on_dynamodb_record(
    stream_arn=f"arn:aws:dynamodb:{SETTINGS.region}:000000000000:table/{SETTINGS.table_name('conversations')}/stream/*",
    batch_size=100, starting_position="TRIM_HORIZON", name="conversation_counter",
)
def conversation_counter(event: Any) -> Any:
    """Aggregates a batch of conversation changes into figure counter sums, written exactly once."""
    from chalicelib.services import services
    from chalicelib.usecases.counters import apply_conversation_stream

    return apply_conversation_stream(services(), event.to_dict()["Records"]).to_dict()


# The neighbourhoods table's stream (NeighbourhoodsTable's StreamArn in the template, filtered to
# rating inserts there; the same local poller): the residents' rating counts.
@app.on_dynamodb_record(
    stream_arn=f"arn:aws:dynamodb:{SETTINGS.region}:000000000000:table/{SETTINGS.table_name('neighbourhoods')}/stream/*",
    batch_size=100, starting_position="TRIM_HORIZON", name="rating_counter",
)
def rating_counter(event: Any) -> Any:
    """Aggregates a batch of ratings given into count sums, written exactly once (other items: ignored)."""
    from chalicelib.services import services
    from chalicelib.usecases.counters import apply_rating_stream

    return apply_rating_stream(services(), event.to_dict()["Records"]).to_dict()
