"""The merge template: everything `chalice package` does not generate, derived from what it did.

`merge_template(base, stage)` reads the template chalice produced for the app (its functions,
their roles and event sources) and returns the JSON that `chalice package --merge-template`
deep-merges into it: tables (from the PynamoDB models), the fan-out queue and DLQ, secrets,
deploy parameters, log groups, alarms, the access log's Object Lock archive (infra/hardening.py), the
API stage's throttling and access logs, and one role per function holding exactly what its code
calls (infra/permissions.py, rendered by infra/roles.py) in place of chalice's generated `*` policy.

Chalice's merge is a recursive dict merge in which any non-dict value (strings, lists) from the
merge file replaces chalice's; that is what lets this file replace a role's `Policies` list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from infra import email, hardening, sms
from infra.roles import (
    ARCHIVE_BUCKET,
    ARCHIVE_FAILURE_QUEUE,
    COUNTER_FAILURE_QUEUE,
    EXPORT_BUCKET,
    EXPORT_PREFIX,
    EXPORT_QUEUE,
    PULSE_QUEUE,
    SMS_QUEUE,
    GrantError,
    policy_document,
)
from infra.tables import TableSpec, table_resource

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
WORKER_ROLE = "WorkerRole"
QUEUE = "FanoutQueue"
DEAD_LETTER_QUEUE = "FanoutDeadLetterQueue"
EXPORT_DEAD_LETTER_QUEUE = "ExportDeadLetterQueue"
PULSE_DEAD_LETTER_QUEUE = "PulseDeadLetterQueue"
ALARM_TOPIC = "AlarmTopic"
SMS_TOPIC = "SmsInboundTopic"  # the SMS service's two-way messages and delivery events (docs/channels.md)
# AWS: set the source queue's visibility timeout to at least six times the function timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_RECEIVE_COUNT = 5
DEFAULT_FUNCTION_TIMEOUT = 60  # chalice's default lambda_timeout

# Consuming the queue (Lambda's SQS poller runs with the function's role).
QUEUE_CONSUME_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
QUEUE_SEND_ACTIONS = ("sqs:SendMessage",)  # also authorises SendMessageBatch
API_FUNCTION = "APIHandler"  # keeps chalice's role (DefaultRole); every other function gets its own


@dataclass(frozen=True)
class SecretDef:
    logical_id: str
    short_name: str
    env_var: str
    description: str
    generated: bool  # CloudFormation generates the value; otherwise an operator puts it after deploy


SECRETS: tuple[SecretDef, ...] = (
    SecretDef(
        "PseudonymKeySecret", "pseudonym-key", "BEATLINE_PSEUDONYM_KEY_SECRET_ARN",
        "Beatline keyed-pseudonym key (base64 text). Generated; never rotate without a re-keying plan.", True,
    ),
    SecretDef(
        "ResidentKeySecret", "resident-signing-key", "BEATLINE_RESIDENT_KEY_SECRET_ARN",
        "Beatline resident-token signing key: ES256 private key, PEM. Put after the first deploy.", False,
    ),
    SecretDef(
        "VapidKeySecret", "vapid-key", "BEATLINE_VAPID_KEY_SECRET_ARN",
        "Beatline Web Push VAPID private key (P-256), PEM. Put after the first deploy.", False,
    ),
)


@dataclass(frozen=True)
class PlatformApp:
    parameter: str
    condition: str
    env_var: str
    platforms: str  # regex of SNS platform names in the app ARN


PLATFORM_APPS: tuple[PlatformApp, ...] = (
    PlatformApp("FcmPlatformApplicationArn", "HasFcmPlatformApplication", "BEATLINE_SNS_FCM_APP_ARN", "GCM"),
    PlatformApp("ApnsPlatformApplicationArn", "HasApnsPlatformApplication", "BEATLINE_SNS_APNS_APP_ARN", "APNS|APNS_SANDBOX"),
)


@dataclass(frozen=True)
class StageConfig:
    """What the merge needs to know about a stage (from .chalice/config.json)."""

    stage: str
    table_prefix: str
    queue_name: str
    retain_data: bool  # prod: tables and secrets survive stack deletion; dev: torn down with it
    export_queue_name: str | None = None  # the export worker's queue (default beatline-<stage>-exports)
    sms_queue_name: str | None = None  # the SMS sender's queue (default beatline-<stage>-sms)
    pulse_queue_name: str | None = None  # the pulse worker's queue (default beatline-<stage>-pulses)

    @property
    def exports_queue(self) -> str:
        return self.export_queue_name or f"beatline-{self.stage}-exports"

    @property
    def sms_queue(self) -> str:
        return self.sms_queue_name or f"beatline-{self.stage}-sms"

    @property
    def pulses_queue(self) -> str:
        return self.pulse_queue_name or f"beatline-{self.stage}-pulses"


@dataclass
class FunctionInfo:
    logical_id: str
    role: str | None  # logical id of the role in the base template, if it is one
    timeout: int
    sqs_events: list[str] = field(default_factory=list)  # event names on the fan-out queue
    stream_events: list[str] = field(default_factory=list)  # event names on the access-log stream
    sns_events: list[str] = field(default_factory=list)  # event names on the SMS topic
    email_topics: list[str] = field(default_factory=list)  # the email SNS topics it reads (infra/email.py)
    counter_events: list[str] = field(default_factory=list)  # event names on the contacts stream
    conversation_counter_events: list[str] = field(default_factory=list)  # on the conversations stream
    rating_counter_events: list[str] = field(default_factory=list)  # on the neighbourhoods stream (ratings)
    export_events: list[str] = field(default_factory=list)  # event names on the export queue
    sms_queue_events: list[str] = field(default_factory=list)  # event names on the SMS sender's queue
    pulse_events: list[str] = field(default_factory=list)  # event names on the pulse queue


class TemplateError(ValueError):
    """The packaged app does not fit the infrastructure (e.g. an SQS handler on an unknown queue)."""


def _queue_name_of(queue: Any) -> str | None:
    """The queue name in chalice's event source ARN (a `Fn::Sub` string or a plain ARN)."""
    text = queue.get("Fn::Sub") if isinstance(queue, dict) else queue
    if isinstance(text, str):
        return text.rsplit(":", 1)[-1]
    return None


def _reads_stream(stream: Any, logical: str, table: str | None) -> bool:
    """The event's stream is `table`'s: chalice's placeholder ARN, or already merged (GetAtt)."""
    wired = stream == {"Fn::GetAtt": [logical, "StreamArn"]}
    return wired or (isinstance(stream, str) and table is not None and f":table/{table}/stream/" in stream)


def _add_sqs_event(info: FunctionInfo, event_name: str, name: str | None, queue_name: str,
                   export_queue: str | None, sms_queue: str | None = None, pulse_queue: str | None = None) -> None:
    if name == queue_name:
        info.sqs_events.append(event_name)
    elif export_queue is not None and name == export_queue:
        info.export_events.append(event_name)
    elif sms_queue is not None and name == sms_queue:
        info.sms_queue_events.append(event_name)
    elif pulse_queue is not None and name == pulse_queue:
        info.pulse_events.append(event_name)
    else:
        raise TemplateError(f"{info.logical_id}.{event_name} consumes SQS queue {name!r}; this stack defines only "
                            f"{queue_name!r}, {export_queue!r}, {sms_queue!r} and {pulse_queue!r}")


# The counter streams (issue 23): (the table's logical id, the FunctionInfo events that aggregate it).
COUNTER_STREAMS = ((hardening.CONTACTS_TABLE, "counter_events"),
                   (hardening.CONVERSATIONS_TABLE, "conversation_counter_events"),
                   (hardening.NEIGHBOURHOODS_TABLE, "rating_counter_events"))


def _add_stream_event(info: FunctionInfo, event_name: str, stream: Any, stream_tables: Sequence[str | None]) -> None:
    """`stream_tables`: the access log's, then each counter stream's table name (COUNTER_STREAMS' order)."""
    wired = zip((hardening.ACCESS_LOG_TABLE, *(table for table, _ in COUNTER_STREAMS)), stream_tables,
                (info.stream_events, *(getattr(info, uses) for _, uses in COUNTER_STREAMS)), strict=True)
    for logical, table, events in wired:
        if _reads_stream(stream, logical, table):
            events.append(event_name)
            return
    raise TemplateError(f"{info.logical_id}.{event_name} reads stream {stream!r}; "
                        "only the access log's, the contacts', the conversations' and the neighbourhoods' are wired")


def _add_event(info: FunctionInfo, event_name: str, event: dict[str, Any], queue_name: str,
               stream_table: str | None, sms_topic: str | None = None, counter_table: str | None = None,
               export_queue: str | None = None, conversation_table: str | None = None,
               sms_queue: str | None = None, pulse_queue: str | None = None, rating_table: str | None = None) -> None:
    kind, properties = event.get("Type"), event.get("Properties", {})
    if kind == "SQS":
        _add_sqs_event(info, event_name, _queue_name_of(properties.get("Queue")), queue_name, export_queue, sms_queue,
                       pulse_queue)
    elif kind == "DynamoDB":
        _add_stream_event(info, event_name, properties.get("Stream"),
                          (stream_table, counter_table, conversation_table, rating_table))
    elif kind == "SNS":
        topic = _queue_name_of(properties.get("Topic"))  # the name after the ARN's last colon
        email_topic = email.topic_logical_id(str(topic), sms_topic)
        if email_topic is not None:
            info.email_topics.append(email_topic)
            return
        if topic != sms_topic:
            raise TemplateError(f"{info.logical_id}.{event_name} reads SNS topic {topic!r}; only {sms_topic!r} is created")
        info.sns_events.append(event_name)


def functions_of(base: dict[str, Any], queue_name: str, stream_table: str | None = None,
                 sms_topic: str | None = None, counter_table: str | None = None,
                 export_queue: str | None = None, conversation_table: str | None = None,
                 sms_queue: str | None = None, pulse_queue: str | None = None,
                 rating_table: str | None = None) -> list[FunctionInfo]:
    """Every Lambda function chalice packaged, with its role and its queue/stream event sources."""
    found = []
    for logical, resource in base.get("Resources", {}).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        properties = resource.get("Properties", {})
        role = properties.get("Role")
        role_id = role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None
        info = FunctionInfo(logical, role_id, int(properties.get("Timeout", DEFAULT_FUNCTION_TIMEOUT)))
        for event_name, event in (properties.get("Events") or {}).items():
            _add_event(info, event_name, event, queue_name, stream_table, sms_topic, counter_table, export_queue,
                       conversation_table, sms_queue, pulse_queue, rating_table)
        found.append(info)
    return found


def _arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _parameters() -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "StaffIssuer": {
            "Type": "String",
            "Description": "Staff tokens' `iss` (Cognito: https://cognito-idp.<region>.amazonaws.com/<pool id>).",
            "AllowedPattern": r"^https://\S+$",
        },
        "StaffAudience": {
            "Type": "String",
            "Description": "Staff access tokens' `aud` (RFC 9068 `typ: at+jwt`). Cognito's access tokens "
                           "carry no `aud`: they are accepted by `client_id` (StaffClientIds).",
            "MinLength": 1,
        },
        "StaffJwksUrl": {
            "Type": "String",
            "Description": "The issuer's JWKS URL (Cognito: <issuer>/.well-known/jwks.json).",
            "AllowedPattern": r"^https://\S+$",
        },
        "StaffAlgorithms": {
            "Type": "String",
            "Default": "RS256",
            "Description": "Pinned JWT algorithms of the staff issuer, comma-separated (Cognito signs RS256).",
            "AllowedPattern": r"^(RS|PS|ES)(256|384|512)(,(RS|PS|ES)(256|384|512))*$",
        },
        "StaffClientIds": {
            "Type": "String",
            "Default": "",
            "Description": "App client ids whose access tokens are accepted, comma-separated (Cognito: "
                           "required, its access tokens name only their `client_id`); empty: the dashboard's.",
            "AllowedPattern": r"^[\x21-\x2b\x2d-\x7e]{0,256}(,[\x21-\x2b\x2d-\x7e]{1,256})*$",
        },
        "DashboardClientId": {
            "Type": "String",
            "Default": "",
            "Description": "OIDC client id of the dashboard (a public client with PKCE at the staff issuer); "
                           "empty: StaffAudience (Cognito: the same app client).",
            "AllowedPattern": r"^[\x21-\x7e]{0,256}$",
        },
        "DashboardScope": {
            "Type": "String",
            "Default": "openid",
            "Description": "Scopes the dashboard asks for, space-separated (an access token for StaffAudience "
                           "with the roles/team claims).",
            "AllowedPattern": r"^[\x21-\x7e]+( [\x21-\x7e]+)*$",
        },
        "AlarmEmail": {
            "Type": "String",
            "Default": "",
            "Description": "Optional address subscribed to the alarm topic.",
        },
        "ExportRetentionDays": {
            "Type": "Number",
            "Default": 7,
            "MinValue": 1,
            "MaxValue": 365,
            "Description": "Bulk exports of history rows (pseudonymised) are deleted this many days after written.",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Default": 30,
            "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
            "Description": "Lambda log retention (logs carry request metadata; keep it short).",
        },
    }
    parameters["SmsOriginationNumber"] = {
        "Type": "String",
        "Default": "",
        "Description": "The SMS origination number (E.164) with two-way messaging to the SMS topic "
                       "(SmsInboundTopicArn); empty: SNS picks one and replies (STOP) do not reach Beatline.",
        "AllowedPattern": r"^(\+[1-9][0-9]{6,14})?$",
    }
    parameters.update(hardening.parameters())
    parameters.update(sms.parameters())
    parameters.update(email.parameters())
    for app in PLATFORM_APPS:
        parameters[app.parameter] = {
            "Type": "String",
            "Default": "",
            "Description": f"SNS platform application ARN ({app.platforms}); empty disables that channel.",
            "AllowedPattern": rf"^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{{12}}:app/({app.platforms})/[A-Za-z0-9_.-]+)?$",
        }
    return parameters


def _conditions() -> dict[str, Any]:
    conditions = {
        app.condition: {"Fn::Not": [{"Fn::Equals": [{"Ref": app.parameter}, ""]}]} for app in PLATFORM_APPS
    }
    conditions["HasAlarmEmail"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    conditions["HasDashboardClientId"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "DashboardClientId"}, ""]}]}
    conditions["HasStaffClientIds"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "StaffClientIds"}, ""]}]}
    conditions.update(email.conditions())
    return conditions


def _alarm(description: str, namespace: str, metric: str, dimensions: list[dict[str, Any]],
           *, threshold: int, statistic: str = "Sum", period: int = 300) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
        },
    }


def _secret(secret: SecretDef, stage: StageConfig) -> dict[str, Any]:
    # No fixed Name: a deleted secret's name stays reserved for its recovery window (7-30 days),
    # which would block re-creating a torn-down dev stack. The app gets the ARN (Ref) instead.
    properties: dict[str, Any] = {
        "Description": secret.description,
        "Tags": [{"Key": "beatline:secret", "Value": f"{stage.stage}/{secret.short_name}"}],
    }
    if secret.generated:
        # 64 characters of [A-Za-z0-9] are valid base64 (48 bytes, ~380 bits of entropy), which is
        # the format chalicelib.secrets.load_secret reads.
        properties["GenerateSecretString"] = {
            "PasswordLength": 64,
            "ExcludePunctuation": True,
            "IncludeSpace": False,
        }
    policy = "Retain" if stage.retain_data else "Delete"
    return {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": properties,
    }


def worker_queue(queue_id: str, dead_letter_id: str, queue_name: str, timeout: int) -> dict[str, Any]:
    """A worker's SQS queue and its DLQ: encrypted, visible again after VISIBILITY_TIMEOUT_FACTOR
    times the worker's timeout, dead-lettered after MAX_RECEIVE_COUNT receives (alarmed), kept 4 days
    (a step or text older than that is of no use: the job is resumed or the alert is over)."""
    return {
        dead_letter_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"{queue_name}-dlq", "MessageRetentionPeriod": 14 * 24 * 3600,
                           "SqsManagedSseEnabled": True},
        },
        queue_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": queue_name,
                "VisibilityTimeout": VISIBILITY_TIMEOUT_FACTOR * timeout,
                "MessageRetentionPeriod": 4 * 24 * 3600,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": _arn(dead_letter_id), "maxReceiveCount": MAX_RECEIVE_COUNT},
            },
        },
    }


def _export_queues(functions: Sequence[FunctionInfo], stage: StageConfig) -> dict[str, Any]:
    """The export worker's queue and its DLQ (only when the app has an export worker)."""
    exporters = [f for f in functions if f.export_events]
    if not exporters:
        return {}
    return worker_queue(EXPORT_QUEUE, EXPORT_DEAD_LETTER_QUEUE, stage.exports_queue, max(f.timeout for f in exporters))


def _pulse_queues(functions: Sequence[FunctionInfo], stage: StageConfig) -> dict[str, Any]:
    """The pulse worker's queue and its DLQ (only when the app has a pulse worker). A step that
    fails 5 times waits in the DLQ; the pulse stays `sending` and an identical POST resumes it."""
    workers = [f for f in functions if f.pulse_events]
    if not workers:
        return {}
    return worker_queue(PULSE_QUEUE, PULSE_DEAD_LETTER_QUEUE, stage.pulses_queue, max(f.timeout for f in workers))


def _export_bucket(stage: StageConfig) -> dict[str, Any]:
    """Where exports go: encrypted, never public, TLS only, each object deleted after
    ExportRetentionDays (the files are pseudonymised personal data: kept no longer than needed)."""
    bucket_arn = _arn(EXPORT_BUCKET)
    objects = {"Fn::Sub": f"${{{EXPORT_BUCKET}.Arn}}/*"}
    return {
        EXPORT_BUCKET: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain" if stage.retain_data else "Delete",
            "UpdateReplacePolicy": "Retain" if stage.retain_data else "Delete",
            "Properties": {
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "expire-exports", "Status": "Enabled", "Prefix": f"{EXPORT_PREFIX}/",
                    "ExpirationInDays": {"Ref": "ExportRetentionDays"},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }]},
                "Tags": [{"Key": "beatline:exports", "Value": f"{stage.stage}/history"}],
            },
        },
        f"{EXPORT_BUCKET}Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": EXPORT_BUCKET},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": [bucket_arn, objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                ]},
            },
        },
    }


def _queues(functions: Sequence[FunctionInfo], stage: StageConfig) -> dict[str, Any]:
    """The alert fan-out's queue and its DLQ."""
    workers = [f for f in functions if f.sqs_events]
    return worker_queue(QUEUE, DEAD_LETTER_QUEUE, stage.queue_name,
                        max((f.timeout for f in workers), default=DEFAULT_FUNCTION_TIMEOUT))


def _log_group(stage: StageConfig, function: FunctionInfo) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": f"/beatline/{stage.stage}/{function.logical_id}",
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
    }


def role_of(function: FunctionInfo) -> str:
    """The API handler keeps chalice's role; every other function gets one of its own."""
    if function.logical_id == API_FUNCTION:
        if function.role is None:
            raise TemplateError(f"{function.logical_id}: role is not a resource of this template")
        return function.role
    return WORKER_ROLE if function.sqs_events else f"{function.logical_id}Role"


def _new_role(policies: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            },
            "Policies": policies,
        },
    }


def _roles(functions: Sequence[FunctionInfo], tables: Sequence[TableSpec], base_resources: dict[str, Any],
           log_group_of: dict[str, str]) -> dict[str, Any]:
    """One role per function, holding exactly infra/permissions.py's grants for it. Chalice's
    DefaultRole (the API handler's) keeps its trust policy; our policy replaces its `*` one."""
    resources: dict[str, Any] = {}
    for function in functions:
        role = role_of(function)
        try:
            document = policy_document(function.logical_id, tables, log_group_of[function.logical_id])
        except GrantError as exc:
            raise TemplateError(str(exc)) from exc
        policies = [{"PolicyName": "BeatlineLeastPrivilege", "PolicyDocument": document}]
        if role in resources:
            raise TemplateError(f"{role} would serve two functions")
        if function.logical_id != API_FUNCTION:
            resources[role] = _new_role(policies)
        elif base_resources.get(role, {}).get("Type") == "AWS::IAM::Role":
            resources[role] = {"Properties": {"Policies": policies}}
        else:
            raise TemplateError(f"role {role!r} is not an AWS::IAM::Role of this template")
    return resources


def _function_override(function: FunctionInfo, log_group: str) -> dict[str, Any]:
    override: dict[str, Any] = {
        "LoggingConfig": {"LogGroup": {"Ref": log_group}, "LogFormat": "Text"},
        "Role": _arn(role_of(function)),
    }
    events: dict[str, Any] = {
        name: {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}
        for name in (*function.sqs_events, *function.export_events, *function.sms_queue_events, *function.pulse_events)
    }
    events.update({name: {"Properties": hardening.stream_event_properties()} for name in function.stream_events})
    events.update({name: {"Properties": hardening.counter_event_properties(table)}
                   for table, uses in COUNTER_STREAMS for name in getattr(function, uses)})
    if events:
        override["Events"] = events
    if function.sqs_events:
        # Bounds the worker's parallel pushes (and its draw on the account's concurrency).
        override["ReservedConcurrentExecutions"] = {"Ref": "WorkerReservedConcurrency"}
    if function.sms_queue_events:  # the SMS service's rate, not Lambda's, bounds the texts
        override["ReservedConcurrentExecutions"] = {"Ref": sms.CONCURRENCY_PARAMETER}
    if function.sns_events:  # chalice names the topic by ARN text: create it first
        return {"DependsOn": [SMS_TOPIC], "Properties": override}
    if function.email_topics:  # likewise the email topics
        return {"DependsOn": function.email_topics, "Properties": override}
    # Chalice names the queue by ARN text, not Ref. The queue still exists before the event
    # source mapping: every function Refs FanoutQueue through Globals (BEATLINE_FANOUT_QUEUE_URL).
    return {"Properties": override}


# The worker queues' DLQ alarms: (the FunctionInfo events that use the queue, alarm, description, DLQ).
WORKER_DEAD_LETTERS = (
    ("export_events", "ExportDeadLetterAlarm",
     "Export steps failed 5 times and sit in the DLQ (the job stays running; see docs/history.md).",
     EXPORT_DEAD_LETTER_QUEUE),
    ("sms_queue_events", "SmsDeadLetterAlarm",
     "Alert texts failed 5 times and sit in the SMS DLQ (they were not sent; see docs/channels.md).",
     sms.SMS_DEAD_LETTER_QUEUE),
    ("pulse_events", "PulseDeadLetterAlarm",
     "Pulse delivery steps failed 5 times and sit in the DLQ (the pulse stays sending; an identical "
     "POST /v1/pulses resumes it).", PULSE_DEAD_LETTER_QUEUE),
)


def _worker_dead_letter_alarms(functions: Sequence[FunctionInfo]) -> dict[str, Any]:
    return {
        alarm: _alarm(description, "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                      [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}],
                      threshold=1, statistic="Maximum")
        for events, alarm, description, dead_letters in WORKER_DEAD_LETTERS
        if any(getattr(f, events) for f in functions)
    }


def _alarms(functions: Sequence[FunctionInfo], stage: StageConfig, base_resources: dict[str, Any]) -> dict[str, Any]:
    # Not encrypted with the AWS-managed aws/sns key: its key policy does not let CloudWatch use
    # it, so alarms could not publish. Alarm messages carry metric names, no personal data.
    resources: dict[str, Any] = {
        ALARM_TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"beatline-{stage.stage}-alarms"}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": ALARM_TOPIC}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
        "FanoutDeadLetterAlarm": _alarm(
            "Fan-out messages failed 5 times and sit in the DLQ.",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "QueueName"]}}],
            threshold=1, statistic="Maximum",
        ),
    }
    resources.update(_worker_dead_letter_alarms(functions))
    if any(f.stream_events for f in functions):
        resources["ArchiveFailureAlarm"] = _alarm(
            "Access-log records could not be archived to S3 after retries (see docs/deploy.md).",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [ARCHIVE_FAILURE_QUEUE, "QueueName"]}}],
            threshold=1, statistic="Maximum",
        )
    if any(_counts(f) for f in functions):
        resources["CounterFailureAlarm"] = _alarm(
            "Contact-, conversation- or rating-stream batches failed after retries: figures miss them until a "
            "recount repairs them (python -m infra.recount, see docs/history.md).",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [COUNTER_FAILURE_QUEUE, "QueueName"]}}],
            threshold=1, statistic="Maximum",
        )
    for function in functions:
        dimensions = [{"Name": "FunctionName", "Value": {"Ref": function.logical_id}}]
        resources[f"{function.logical_id}ErrorsAlarm"] = _alarm(
            f"{function.logical_id}: invocation errors.", "AWS/Lambda", "Errors", dimensions, threshold=1
        )
        resources[f"{function.logical_id}ThrottlesAlarm"] = _alarm(
            f"{function.logical_id}: throttled invocations.", "AWS/Lambda", "Throttles", dimensions, threshold=1
        )
    resources.update(_api(stage, base_resources))
    return resources


def sms_topic_name(stage: StageConfig) -> str:
    return f"beatline-{stage.stage}-sms-inbound"  # BEATLINE_SMS_INBOUND_TOPIC in .chalice/config.json


def _sms_topic(stage: StageConfig) -> dict[str, Any]:
    """The topic End User Messaging SMS publishes two-way texts and delivery events to (set it on
    the origination number and as the configuration set's event destination: docs/deploy.md).
    Only that service, for this account, may publish; messages carry phone numbers, so it is
    not read by anything but the SmsInbound function."""
    return {
        SMS_TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": sms_topic_name(stage)}},
        "SmsInboundTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": SMS_TOPIC}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "SmsServicePublishes", "Effect": "Allow",
                    "Principal": {"Service": "sms-voice.amazonaws.com"}, "Action": "sns:Publish",
                    "Resource": {"Ref": SMS_TOPIC},
                    "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                }]},
            },
        },
    }


def _api(stage: StageConfig, base_resources: dict[str, Any]) -> dict[str, Any]:
    """Names the API per stage, throttles and access-logs its stage, alarms on its 5xx."""
    api_name = f"beatline-{stage.stage}"
    rest_api = base_resources.get("RestAPI", {})
    if rest_api.get("Type") != "AWS::Serverless::Api":
        return {}
    api_stage = rest_api.get("Properties", {}).get("StageName", stage.stage)
    resources = hardening.api_stage_resources(stage.stage)
    # Name the API per stage (dev and prod can share an account); the alarm needs the name.
    resources["RestAPI"] = {
        "DependsOn": [hardening.API_GATEWAY_ACCOUNT],
        "Properties": {"DefinitionBody": {"info": {"title": api_name}}, **hardening.api_stage_properties()},
    }
    resources["Api5xxAlarm"] = _alarm(
        "API Gateway answered 5xx (Beatline answers client errors with 4xx, so these are ours).",
        "AWS/ApiGateway", "5XXError",
        [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": api_stage}],
        threshold=5,
    )
    return resources


def _worker_queue_urls(functions: Sequence[FunctionInfo]) -> dict[str, Any]:
    """The queues of the SMS sender and the pulse worker, for whoever sends to them."""
    urls: dict[str, Any] = {}
    if any(f.sms_queue_events for f in functions):
        urls["BEATLINE_SMS_QUEUE_URL"] = {"Ref": SMS_QUEUE}
    if any(f.pulse_events for f in functions):
        urls["BEATLINE_PULSE_QUEUE_URL"] = {"Ref": PULSE_QUEUE}
    return urls


def _environment(functions: Sequence[FunctionInfo]) -> dict[str, Any]:
    environment: dict[str, Any] = {
        "BEATLINE_FANOUT_QUEUE_URL": {"Ref": QUEUE},
        "BEATLINE_STAFF_ISSUER": {"Ref": "StaffIssuer"},
        "BEATLINE_STAFF_AUDIENCE": {"Ref": "StaffAudience"},
        "BEATLINE_STAFF_JWKS_URL": {"Ref": "StaffJwksUrl"},
        "BEATLINE_STAFF_ALGORITHMS": {"Ref": "StaffAlgorithms"},
        "BEATLINE_DASHBOARD_CLIENT_ID": {
            "Fn::If": ["HasDashboardClientId", {"Ref": "DashboardClientId"}, {"Ref": "StaffAudience"}]},
        "BEATLINE_STAFF_CLIENT_IDS": {"Fn::If": ["HasStaffClientIds", {"Ref": "StaffClientIds"}, {
            "Fn::If": ["HasDashboardClientId", {"Ref": "DashboardClientId"}, {"Ref": "StaffAudience"}]}]},
        "BEATLINE_DASHBOARD_SCOPE": {"Ref": "DashboardScope"},
        "BEATLINE_ACCESS_LOG_RETENTION_DAYS": {"Ref": "AccessLogRetentionDays"},
    }
    if any(f.stream_events for f in functions):
        environment["BEATLINE_AUDIT_ARCHIVE_BUCKET"] = {"Ref": ARCHIVE_BUCKET}
    if any(f.export_events for f in functions):
        environment["BEATLINE_EXPORT_QUEUE_URL"] = {"Ref": EXPORT_QUEUE}
        environment["BEATLINE_EXPORT_BUCKET"] = {"Ref": EXPORT_BUCKET}
    environment["BEATLINE_SMS_SERVICE"] = "sns"
    environment.update(_worker_queue_urls(functions))
    environment["BEATLINE_SMS_ORIGINATION_NUMBER"] = {"Ref": "SmsOriginationNumber"}
    environment.update(email.environment())
    environment.update({s.env_var: {"Ref": s.logical_id} for s in SECRETS})
    environment.update({app.env_var: {"Ref": app.parameter} for app in PLATFORM_APPS})
    return environment


def _export_outputs(functions: Sequence[FunctionInfo]) -> dict[str, Any]:
    if not any(f.export_events for f in functions):
        return {}
    return {"ExportBucketName": {"Value": {"Ref": EXPORT_BUCKET}}, "ExportQueueUrl": {"Value": {"Ref": EXPORT_QUEUE}}}


def _sms_outputs(functions: Sequence[FunctionInfo]) -> dict[str, Any]:
    if not any(f.sms_queue_events for f in functions):
        return {}
    return {"SmsQueueUrl": {"Value": {"Ref": SMS_QUEUE}},
            "SmsDeadLetterQueueUrl": {"Value": {"Ref": sms.SMS_DEAD_LETTER_QUEUE}}}


def _pulse_outputs(functions: Sequence[FunctionInfo]) -> dict[str, Any]:
    if not any(f.pulse_events for f in functions):
        return {}
    return {"PulseQueueUrl": {"Value": {"Ref": PULSE_QUEUE}},
            "PulseDeadLetterQueueUrl": {"Value": {"Ref": PULSE_DEAD_LETTER_QUEUE}}}


def _outputs(functions: Sequence[FunctionInfo], tables: Sequence[TableSpec]) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        "FanoutQueueUrl": {"Value": {"Ref": QUEUE}},
        "FanoutDeadLetterQueueUrl": {"Value": {"Ref": DEAD_LETTER_QUEUE}},
        "AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC}},
    }
    if any(f.sns_events for f in functions):
        outputs["SmsInboundTopicArn"] = {"Value": {"Ref": SMS_TOPIC}}
    if any(f.stream_events for f in functions):
        outputs["AuditArchiveBucketName"] = {"Value": {"Ref": ARCHIVE_BUCKET}}
        outputs["ArchiveFailureQueueUrl"] = {"Value": {"Ref": ARCHIVE_FAILURE_QUEUE}}
    if any(_counts(f) for f in functions):
        outputs["CounterFailureQueueUrl"] = {"Value": {"Ref": COUNTER_FAILURE_QUEUE}}
    outputs.update(_export_outputs(functions))
    outputs.update(_sms_outputs(functions))
    outputs.update(_pulse_outputs(functions))
    outputs.update({s.logical_id + "Arn": {"Value": {"Ref": s.logical_id}} for s in SECRETS})
    outputs.update({spec.logical_id + "Name": {"Value": {"Ref": spec.logical_id}} for spec in tables})
    return outputs


def _counts(function: FunctionInfo) -> bool:
    """The function aggregates a counter stream (contacts, conversations, ratings): the failure queue's."""
    return any(getattr(function, uses) for _, uses in COUNTER_STREAMS)


def _one(functions: Sequence[FunctionInfo], uses: str, what: str) -> FunctionInfo | None:
    """The one function with events of kind `uses` (an attribute of FunctionInfo), if any."""
    found = [f for f in functions if getattr(f, uses)]
    if len(found) > 1:
        raise TemplateError(f"one function {what}; found several")
    return found[0] if found else None


def _export_resources(functions: Sequence[FunctionInfo], stage: StageConfig) -> dict[str, Any]:
    """The export queue, its DLQ and the export bucket, when the app has an export worker."""
    if not any(f.export_events for f in functions):
        return {}
    return {**_export_queues(functions, stage), **_export_bucket(stage)}


def _event_sources(functions: Sequence[FunctionInfo], stage: StageConfig) -> dict[str, Any]:
    """The access-log archive (one archiver), the SMS topic (one reader) and the contacts stream's
    failure queue (one aggregator), when functions use them."""
    resources: dict[str, Any] = {**_export_resources(functions, stage), **_pulse_queues(functions, stage)}
    archiver = _one(functions, "stream_events", "archives the access log")
    if archiver is not None:
        resources.update(hardening.archive_resources(stage.stage, role_of(archiver)))
    if _one(functions, "sns_events", "reads the SMS topic") is not None:
        resources.update(_sms_topic(stage))
    aggregators = [_one(functions, uses, f"aggregates {table}'s stream") for table, uses in COUNTER_STREAMS]
    if any(aggregator is not None for aggregator in aggregators):
        resources.update(hardening.counter_resources(stage.stage))
    sender = _one(functions, "sms_queue_events", "sends alert texts")
    if sender is not None:
        resources.update(worker_queue(SMS_QUEUE, sms.SMS_DEAD_LETTER_QUEUE, stage.sms_queue, sender.timeout))
    return resources


def merge_template(base: dict[str, Any], stage: StageConfig, tables: Sequence[TableSpec]) -> dict[str, Any]:
    """The template to pass to `chalice package --merge-template` for this app and stage."""
    functions = functions_of(base, stage.queue_name, f"{stage.table_prefix}access-log", sms_topic_name(stage),
                             f"{stage.table_prefix}contacts", stage.exports_queue, f"{stage.table_prefix}conversations",
                             stage.sms_queue, stage.pulses_queue, f"{stage.table_prefix}neighbourhoods")
    base_resources = base.get("Resources", {})
    resources: dict[str, Any] = {
        spec.logical_id: table_resource(spec, f"{stage.table_prefix}{spec.short_name}", retain=stage.retain_data)
        for spec in tables
    }
    resources.update(_queues(functions, stage))
    resources.update(_event_sources(functions, stage))
    for secret in SECRETS:
        resources[secret.logical_id] = _secret(secret, stage)
    resources.update(email.resources(stage.stage))
    # Log groups named by us and wired with LoggingConfig: the role can then name each group
    # (no logs:CreateLogGroup, no log-group:* wildcard) and retention is bounded.
    log_group_of = {f.logical_id: f"{f.logical_id}LogGroup" for f in functions}
    for function in functions:
        resources[log_group_of[function.logical_id]] = _log_group(stage, function)
    resources.update(_roles(functions, tables, base_resources, log_group_of))
    for function in functions:
        resources[function.logical_id] = _function_override(function, log_group_of[function.logical_id])
    resources.update(_alarms(functions, stage, base_resources))
    return {
        "Parameters": _parameters(),
        "Conditions": _conditions(),
        # SAM merges Globals' variables into each function's (chalice's config.json ones).
        "Globals": {"Function": {"Environment": {"Variables": _environment(functions)}}},
        "Resources": resources,
        "Outputs": _outputs(functions, tables),
    }


def iam_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every role and policy in a template (branches of Fn::If included)."""
    found: list[dict[str, Any]] = []

    def collect(statement: Any) -> None:
        if isinstance(statement, dict) and "Fn::If" in statement:
            for branch in statement["Fn::If"][1:]:
                collect(branch)
        elif isinstance(statement, dict) and "Effect" in statement:
            found.append(statement)

    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        documents = []
        if resource.get("Type") == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        elif resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties.get("PolicyDocument", {})]
        for document in documents:
            for statement in document.get("Statement", []):
                collect(statement)
    return found

