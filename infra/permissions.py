"""What each Lambda function's code calls in AWS: the one list its IAM role is generated from.

Grants are (IAM action, resource) pairs with resources named independently of CloudFormation:
`table/<short name>`, `table/<short name>/index/<index name>` (Query on that one index),
`queue/fanout`, `queue/exports`, `queue/sms`, `queue/pulses`, `bucket/audit-archive`, `bucket/exports` (objects under `exports/`),
`bucket/exports-list` (the bucket itself: ListBucket), `sns/endpoints`, `secret/<logical id>`. infra/template.py
renders them into policy statements; tests/test_iam_drift.py records what the code really calls
(DynamoDB, SQS, S3) in representative flows of each function, their failure and retry paths
included (push endpoints answering 429/5xx/404/410 or timing out, store conditions failing), and
fails when this list and the code differ in either direction, index by index.

What the platform needs to run a function (its event source and its logs) is not code: see
EVENT_SOURCE_GRANTS and infra/template.py.
"""

from __future__ import annotations

Grant = tuple[str, str]

API = "APIHandler"
WORKER = "FanoutWorker"
HOUSEKEEPING = "Housekeeping"
ARCHIVER = "AccessLogArchiver"
CLOCK = "ConversationClock"
SMS_INBOUND = "SmsInbound"
COUNTER = "ContactCounter"
CONVERSATION_COUNTER = "ConversationCounter"
RATING_COUNTER = "RatingCounter"
EXPORTER = "ExportWorker"
PULSE_WORKER = "PulseWorker"
EMAIL_EVENTS = "EmailEvents"
EMAIL_REPLIES = "EmailReplies"
SMS_SENDER = "SmsSender"

# Services whose calls tests/test_iam_drift.py records; the rest are checked by review (SNS: the
# worker's publish to endpoints, the SMS sender's to phone numbers; Secrets Manager: what build_services and the channels load at start).
RECORDED_SERVICES = frozenset({"dynamodb", "sqs", "s3"})


def _table(short: str, *actions: str) -> set[Grant]:
    return {(f"dynamodb:{action}", f"table/{short}") for action in actions}


def _indexes(short: str, *names: str) -> set[Grant]:
    return {("dynamodb:Query", f"table/{short}/index/{name}") for name in names}


# The contacts table's sparse history indexes: a history query's filters pick one of the 12
# (chalicelib/domain/history.py: team x topic x base|kind|place).
HISTORY_INDEXES = tuple(f"h{group}_{subset}" for group in "bkx" for subset in ("all", "p", "t", "tp"))


# Sending email (notify/ses.py): as the stage's From identity, through its configuration set. The API
# sends confirmations; the worker and housekeeping send alerts, answers and notices (checked by review).
_SEND_EMAIL: set[Grant] = {("ses:SendEmail", "ses/identity"), ("ses:SendEmail", "ses/configuration-set")}


def _secrets(*logical_ids: str) -> set[Grant]:
    return {("secretsmanager:GetSecretValue", f"secret/{logical}") for logical in logical_ids}


# The pseudonym and resident-token keys: Services loads them on first use (chalicelib/services.py),
# which only the API does; tests/test_conversations.py runs the event functions with both refused.
_API_SECRETS = _secrets("PseudonymKeySecret", "ResidentKeySecret")

_API: set[Grant] = (
    _table("contacts", "GetItem", "PutItem", "UpdateItem")  # UpdateItem: erasure removes a resident's words
    | _table("amendments", "PutItem", "Query", "UpdateItem")  # UpdateItem: erasure blanks amended words
    | _table("stats", "GetItem", "Query", "UpdateItem")  # GetItem: the figures' `as_of`
    | _table("access-log", "PutItem", "Query")
    | _table("areas", "GetItem", "PutItem", "Query")
    # The Guarantee (usecases/teams.py, priorities.py): pages, priorities, supports (one transaction
    # with the count), actions, links; erasure deletes a resident's supports (by_subscriber).
    | _table("neighbourhoods", "BatchWriteItem", "GetItem", "PutItem", "Query", "UpdateItem")
    | _table("subscribers", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "UpdateItem")
    | _table("words", "BatchWriteItem", "PutItem", "Query")  # where a resident's words are kept (erasure)
    | _table("subscriptions", "BatchWriteItem")
    | _table("alerts", "BatchGetItem", "GetItem", "PutItem", "UpdateItem")
    | _table("alert-cells", "BatchWriteItem", "Query")
    | _table("deliveries", "BatchWriteItem", "GetItem", "UpdateItem")
    | _table("inbox", "BatchWriteItem", "Query")
    | _table("rate-counters", "UpdateItem")
    | _indexes("contacts", "by_author", "by_team", *HISTORY_INDEXES)
    | _indexes("access-log", "by_actor")  # the audit trail of one actor
    | _indexes("alerts", "by_public", "by_published", "by_team")
    | _indexes("deliveries", "by_subscriber")  # erasure of a resident's delivery records
    | _indexes("neighbourhoods", "by_area", "by_subscriber")  # lists; erasure of supports/attendance
    | {("sqs:SendMessage", "queue/fanout")}
    # Conversations (issue 11): one transaction per message (message, conversation, inbox copy),
    # reads, the queue/owner indexes and the messages' LSI, erasure of a resident's texts.
    | _table("conversations", "BatchGetItem", "GetItem", "PutItem", "UpdateItem")  # BatchGetItem: inbox context
    | _table("messages", "GetItem", "PutItem", "UpdateItem")
    | _table("inbox", "PutItem")
    | _indexes("conversations", "by_owner", "by_team")  # a resident's conversations, a team's queue
    | _indexes("messages", "by_seq")
    # The team's app (issue 19): queue previews (one BatchGetItem of the latest messages), staff devices.
    | _table("messages", "BatchGetItem")
    | _table("staff-devices", "DeleteItem", "PutItem", "Query")
    | _indexes("staff-devices", "by_team")  # does the team have a device for a staff push?
    # Residents' trust (usecases/trust.py, pulses.py): rating and pulse items in the neighbourhoods
    # table, the counts in the stats table; a pulse's delivery (its audience, inbox copies and sent
    # items) is queued for the pulse worker: the API reads no follower list.
    | {("sqs:SendMessage", "queue/pulses")}
    # Bulk exports (usecases/exports.py): the job next to its files, their listing (links are
    # presigned with GetObject), the first step on the export queue.
    | {("s3:PutObject", "bucket/exports"), ("s3:GetObject", "bucket/exports"), ("s3:ListBucket", "bucket/exports-list"),
       ("sqs:SendMessage", "queue/exports")}
    | _SEND_EMAIL
    | _API_SECRETS
)

# The worker reads alerts and subscribers and records deliveries, inbox entries and alert figures;
# it never touches contacts, amendments, stats, areas or the access log.
_WORKER: set[Grant] = (
    _table("alerts", "GetItem", "UpdateItem")
    | _table("subscribers", "BatchGetItem", "UpdateItem")
    | _table("subscriptions", "Query")
    | _table("deliveries", "Query", "UpdateItem")
    | _table("inbox", "BatchWriteItem")
    | _table("conversations", "GetItem")  # a team answer's push (usecases/conversation_push.py)
    | _table("messages", "GetItem")
    | _table("subscribers", "GetItem")
    | _table("neighbourhoods", "GetItem")  # a notice's public text: the priority or meeting (usecases/notice_push.py)
    | _table("staff-devices", "DeleteItem")  # staff pushes (usecases/staff_push.py): a gone device is erased
    | _indexes("staff-devices", "by_team")  # ... to the team's devices
    | {("sqs:SendMessage", "queue/fanout"), ("sns:Publish", "sns/endpoints")}
    | _SEND_EMAIL
    | _secrets("VapidKeySecret")
)

# Housekeeping releases pushes held by quiet hours (the `by_release` index); a released push that
# fails is recorded like the worker's (retry, failed, gone: the subscriber downgraded to its inbox).
_HOUSEKEEPING: set[Grant] = (
    _table("alerts", "GetItem", "UpdateItem")
    | _table("conversations", "GetItem")  # releasing a held team answer (usecases/conversation_push.py)
    | _table("messages", "GetItem")
    | _table("neighbourhoods", "GetItem")  # releasing a held notice (usecases/notice_push.py)
    | _table("subscribers", "GetItem", "UpdateItem")  # UpdateItem: a gone endpoint -> inbox only
    | _table("deliveries", "UpdateItem")
    | _indexes("deliveries", "by_release")
    | {("sns:Publish", "sns/endpoints")}
    | _SEND_EMAIL
    | _secrets("VapidKeySecret")
)

# SMS (docs/channels.md): Publish to a phone number has no resource ARN in IAM (`sms/phone-numbers`
# renders as "*"); a role holding it publishes to no endpoint, so it is also denied Publish to every
# topic and endpoint ARN (SMS only; infra/roles.py). Only the API (codes) and the SMS sender hold it.
_SMS_SEND: set[Grant] = {("sns:Publish", "sms/phone-numbers")}
_API |= (
    _SMS_SEND | {("sns:CheckIfPhoneNumberIsOptedOut", "sms/phone-numbers")}  # codes; the opt-out list
    | _table("sms", "DeleteItem", "PutItem")  # the STOP index: a number confirmed, removed, erased
)
# The worker and housekeeping (a released held alert) text no one: they queue one job per text
# (ids only) for the SMS sender; they keep Publish to push endpoints.
_SMS_JOBS: set[Grant] = {("sqs:SendMessage", "queue/sms")}
_WORKER |= _SMS_JOBS
_HOUSEKEEPING |= _SMS_JOBS
# The SMS sender (usecases/sms_alerts.AlertTexts, one job per text): the subscriber's confirmed
# number and the alert (GetItem each), the SMS claim (deliveries), the ceilings (rate-counters),
# the message record and the day's figures (sms), and the text itself.
_SMS_SENDER: set[Grant] = (
    _SMS_SEND
    | _table("subscribers", "GetItem")
    | _table("alerts", "GetItem")
    | _table("deliveries", "UpdateItem")
    | _table("rate-counters", "UpdateItem")
    | _table("sms", "PutItem", "UpdateItem")
)
# Inbound texts (STOP) and delivery events from the SMS topic: the STOP index (a keyed digest of the
# number: the pseudonym key), the subscriber's record (its number removed), message status, figures.
_SMS_INBOUND: set[Grant] = (
    _table("sms", "DeleteItem", "Query", "UpdateItem")
    | _table("subscribers", "GetItem", "PutItem")  # the number leaves the record (conditional put)
    | _table("access-log", "PutItem")  # ... logged by the system, the resident named by pseudonym
    | _secrets("PseudonymKeySecret")
)

# SES bounce and complaint events (usecases/email_events.py): the tagged subscriber's record, its
# email channel marked suppressed (the whole item put back), one access-log entry naming the SES message.
_EMAIL_EVENTS: set[Grant] = _table("subscribers", "GetItem", "PutItem") | _table("access-log", "PutItem")

# Email replies (usecases/email_replies.py): the stored reply read and deleted, the conversation and
# its resident's record, then the resident's message written as the API writes it: one transaction
# (message, conversation, contact, words index, access log; the subscriber not erasing; the figures
# follow from the conversations stream).
_EMAIL_REPLIES: set[Grant] = (
    {("s3:GetObject", "bucket/email-inbound"), ("s3:DeleteObject", "bucket/email-inbound")}
    | _table("conversations", "GetItem", "UpdateItem")
    | _table("subscribers", "ConditionCheckItem", "GetItem")
    | _table("messages", "PutItem")
    | _table("contacts", "PutItem")
    | _table("words", "PutItem")
    | _table("access-log", "PutItem")
    # Waiting again: a staff push to the team when it has a device (usecases/staff_devices.notify_team).
    | _indexes("staff-devices", "by_team")
    | {("sqs:SendMessage", "queue/fanout")}
    | _API_SECRETS
)

_ARCHIVER: set[Grant] = {("s3:PutObject", "bucket/audit-archive")}

# The conversation clock flags waits passing 24 h: the sparse `by_due` index, then one update per
# wait (the conversation's flags, also past the response standard and at two thirds of it; the
# conversations stream counts them). No texts.
_CLOCK: set[Grant] = (
    _table("conversations", "UpdateItem")
    | _indexes("conversations", "by_due")
    # Beat meeting reminders (usecases/meetings.remind_meetings): due meetings (by_remind_day),
    # their attendees (Query), the reminder in each inbox, the meeting taken off the index.
    | _table("neighbourhoods", "Query", "UpdateItem")
    | _indexes("neighbourhoods", "by_remind_day")
    | _table("inbox", "BatchWriteItem")
    | {("sqs:SendMessage", "queue/fanout")}  # the reminder's push: NoticePush messages for the worker
    # A wait at two thirds of its response standard: a staff push (StaffPush on the same queue) when
    # the team has a device (usecases/staff_devices.notify_team).
    | _indexes("staff-devices", "by_team")
)

# The contacts stream's aggregator (usecases/counters.py): one transaction per part of a batch on
# the stats table (per-record markers: Put; counter sums, engagement member and distinct items:
# Update), then `as_of` moved forward (UpdateItem). It reads nothing but the stream.
_COUNTER: set[Grant] = _table("stats", "PutItem", "UpdateItem")
# The conversations stream's aggregator, alike: markers and figure sums, then `as_of`; and the
# neighbourhoods stream's (ratings): markers and rating counts, then `as_of`. Neither reads a table.
_CONVERSATION_COUNTER: set[Grant] = _table("stats", "PutItem", "UpdateItem")
_RATING_COUNTER: set[Grant] = _CONVERSATION_COUNTER
# The export worker: one day's rows from the force-wide history index, pseudonymised (the key), as
# files next to the job it updates, and the next step on its own queue. Nothing else.
_EXPORTER: set[Grant] = (
    _indexes("contacts", "hb_all")
    | {("s3:GetObject", "bucket/exports"), ("s3:PutObject", "bucket/exports"), ("sqs:SendMessage", "queue/exports")}
    | _secrets("PseudonymKeySecret")
)

# The pulse worker (usecases/pulse_worker.py): the pulse and its progress (GetItem, UpdateItem), its
# area, the followers from one cell of the subscription index and their records, the sent items
# (read in one BatchGetItem, written in batches), the inbox copies, the pushes as NoticePush messages
# for the fan-out worker, the next step on its own queue, and the sample's key (the pseudonym key).
_PULSE_WORKER: set[Grant] = (
    _table("neighbourhoods", "BatchGetItem", "BatchWriteItem", "GetItem", "UpdateItem")
    | _table("areas", "GetItem")
    | _table("subscriptions", "Query")
    | _table("subscribers", "BatchGetItem")
    | _table("inbox", "BatchWriteItem")
    | {("sqs:SendMessage", "queue/fanout"), ("sqs:SendMessage", "queue/pulses")}
    | _secrets("PseudonymKeySecret")
)

CODE_GRANTS: dict[str, frozenset[Grant]] = {
    API: frozenset(_API),
    WORKER: frozenset(_WORKER),
    HOUSEKEEPING: frozenset(_HOUSEKEEPING),
    ARCHIVER: frozenset(_ARCHIVER),
    CLOCK: frozenset(_CLOCK),
    SMS_INBOUND: frozenset(_SMS_INBOUND),
    COUNTER: frozenset(_COUNTER),
    CONVERSATION_COUNTER: frozenset(_CONVERSATION_COUNTER),
    RATING_COUNTER: frozenset(_RATING_COUNTER),
    EXPORTER: frozenset(_EXPORTER),
    PULSE_WORKER: frozenset(_PULSE_WORKER),
    EMAIL_EVENTS: frozenset(_EMAIL_EVENTS),
    EMAIL_REPLIES: frozenset(_EMAIL_REPLIES),
    SMS_SENDER: frozenset(_SMS_SENDER),
}



def _counter_stream(table: str) -> frozenset[Grant]:
    """A counter stream's mapping: reading the table's stream, a failed batch's description sent on."""
    return frozenset({
        ("dynamodb:DescribeStream", f"stream/{table}"), ("dynamodb:GetRecords", f"stream/{table}"),
        ("dynamodb:GetShardIterator", f"stream/{table}"), ("dynamodb:ListStreams", f"stream/{table}/*"),
        ("sqs:SendMessage", "queue/counter-failures"),
    })


# Lambda's pollers run with the function's role: consuming the queue, reading the stream and
# sending a failed stream batch's description to the on-failure queue.
EVENT_SOURCE_GRANTS: dict[str, frozenset[Grant]] = {
    WORKER: frozenset({
        ("sqs:ChangeMessageVisibility", "queue/fanout"), ("sqs:DeleteMessage", "queue/fanout"),
        ("sqs:GetQueueAttributes", "queue/fanout"), ("sqs:ReceiveMessage", "queue/fanout"),
    }),
    EXPORTER: frozenset({
        ("sqs:ChangeMessageVisibility", "queue/exports"), ("sqs:DeleteMessage", "queue/exports"),
        ("sqs:GetQueueAttributes", "queue/exports"), ("sqs:ReceiveMessage", "queue/exports"),
    }),
    SMS_SENDER: frozenset({
        ("sqs:ChangeMessageVisibility", "queue/sms"), ("sqs:DeleteMessage", "queue/sms"),
        ("sqs:GetQueueAttributes", "queue/sms"), ("sqs:ReceiveMessage", "queue/sms"),
    }),
    PULSE_WORKER: frozenset({
        ("sqs:ChangeMessageVisibility", "queue/pulses"), ("sqs:DeleteMessage", "queue/pulses"),
        ("sqs:GetQueueAttributes", "queue/pulses"), ("sqs:ReceiveMessage", "queue/pulses"),
    }),
    ARCHIVER: frozenset({
        ("dynamodb:DescribeStream", "stream/access-log"), ("dynamodb:GetRecords", "stream/access-log"),
        ("dynamodb:GetShardIterator", "stream/access-log"), ("dynamodb:ListStreams", "stream/access-log/*"),
        ("sqs:SendMessage", "queue/archive-failures"),
    }),
    COUNTER: _counter_stream("contacts"),
    CONVERSATION_COUNTER: _counter_stream("conversations"),
    RATING_COUNTER: _counter_stream("neighbourhoods"),
}
