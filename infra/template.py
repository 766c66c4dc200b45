"""The merge template: everything `chalice package` does not generate, derived from what it did.

`merge_template(base, stage)` reads the template chalice produced for the app (its functions,
their roles and event sources) and returns the JSON that `chalice package --merge-template`
deep-merges into it: tables (from the PynamoDB models), the fan-out queue and DLQ, secrets,
deploy parameters, log groups, alarms and the least-privilege policies that replace chalice's
generated ones.

Chalice's merge is a recursive dict merge in which any non-dict value (strings, lists) from the
merge file replaces chalice's; that is what lets this file replace a role's `Policies` list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.tables import INDEX_ACTIONS, TableSpec, table_resource

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
WORKER_ROLE = "WorkerRole"
QUEUE = "FanoutQueue"
DEAD_LETTER_QUEUE = "FanoutDeadLetterQueue"
ALARM_TOPIC = "AlarmTopic"
# AWS: set the source queue's visibility timeout to at least six times the function timeout.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_RECEIVE_COUNT = 5
DEFAULT_FUNCTION_TIMEOUT = 60  # chalice's default lambda_timeout

# Consuming the queue (Lambda's SQS poller runs with the function's role).
QUEUE_CONSUME_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
QUEUE_SEND_ACTIONS = ("sqs:SendMessage",)  # also authorises SendMessageBatch
SNS_APP_ACTIONS = ("sns:CreatePlatformEndpoint",)
SNS_ENDPOINT_ACTIONS = ("sns:DeleteEndpoint", "sns:GetEndpointAttributes", "sns:Publish", "sns:SetEndpointAttributes")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


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


@dataclass
class FunctionInfo:
    logical_id: str
    role: str | None  # logical id of the role in the base template, if it is one
    timeout: int
    sqs_events: list[str] = field(default_factory=list)  # event names on the fan-out queue


class TemplateError(ValueError):
    """The packaged app does not fit the infrastructure (e.g. an SQS handler on an unknown queue)."""


def _queue_name_of(queue: Any) -> str | None:
    """The queue name in chalice's event source ARN (a `Fn::Sub` string or a plain ARN)."""
    text = queue.get("Fn::Sub") if isinstance(queue, dict) else queue
    if isinstance(text, str):
        return text.rsplit(":", 1)[-1]
    return None


def functions_of(base: dict[str, Any], queue_name: str) -> list[FunctionInfo]:
    """Every Lambda function chalice packaged, with its role and its fan-out event sources."""
    found = []
    for logical, resource in base.get("Resources", {}).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        properties = resource.get("Properties", {})
        role = properties.get("Role")
        role_id = role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None
        info = FunctionInfo(logical, role_id, int(properties.get("Timeout", DEFAULT_FUNCTION_TIMEOUT)))
        for event_name, event in (properties.get("Events") or {}).items():
            if event.get("Type") != "SQS":
                continue
            name = _queue_name_of(event.get("Properties", {}).get("Queue"))
            if name != queue_name:
                raise TemplateError(
                    f"{logical}.{event_name} consumes SQS queue {name!r}; this stack defines only {queue_name!r}"
                )
            info.sqs_events.append(event_name)
        found.append(info)
    return found


def _arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _statement(sid: str, actions: Sequence[str], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _platform_endpoints(app: PlatformApp) -> dict[str, Any]:
    """arn:...:app/GCM/Name -> arn:...:endpoint/GCM/Name/* (the endpoints created under that app)."""
    parts = {"Fn::Split": ["/", {"Ref": app.parameter}]}
    return {
        "Fn::Sub": [
            "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:endpoint/${Platform}/${Name}/*",
            {"Platform": {"Fn::Select": [1, parts]}, "Name": {"Fn::Select": [2, parts]}},
        ]
    }


def policy_document(
    tables: Sequence[TableSpec], log_groups: Sequence[str], *, consume_queue: bool
) -> dict[str, Any]:
    """Least privilege: every statement names its actions and the exact resources."""
    statements: list[Any] = []
    for spec in tables:
        statements.append(_statement(spec.logical_id, spec.actions, [_arn(spec.logical_id)]))
        if spec.index_names:
            statements.append(
                _statement(
                    f"{spec.logical_id}Indexes",
                    INDEX_ACTIONS,
                    [{"Fn::Sub": f"${{{spec.logical_id}.Arn}}/index/{name}"} for name in spec.index_names],
                )
            )
    statements.append(_statement("FanoutQueueSend", QUEUE_SEND_ACTIONS, [_arn(QUEUE)]))
    if consume_queue:
        statements.append(_statement("FanoutQueueConsume", QUEUE_CONSUME_ACTIONS, [_arn(QUEUE)]))
    statements.append(
        _statement("ReadSecrets", ("secretsmanager:GetSecretValue",), [{"Ref": s.logical_id} for s in SECRETS])
    )
    for app in PLATFORM_APPS:
        sid = app.parameter.removesuffix("Arn")
        statements.append({
            "Fn::If": [
                app.condition,
                _statement(sid, SNS_APP_ACTIONS, [{"Ref": app.parameter}]),
                {"Ref": "AWS::NoValue"},
            ]
        })
        statements.append({
            "Fn::If": [
                app.condition,
                _statement(f"{sid}Endpoints", SNS_ENDPOINT_ACTIONS, [_platform_endpoints(app)]),
                {"Ref": "AWS::NoValue"},
            ]
        })
    if log_groups:
        statements.append(_statement("WriteOwnLogs", LOG_ACTIONS, [_arn(group) for group in log_groups]))
    return {"Version": "2012-10-17", "Statement": statements}


def _parameters() -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "StaffIssuer": {
            "Type": "String",
            "Description": "Staff tokens' `iss` (Cognito: https://cognito-idp.<region>.amazonaws.com/<pool id>).",
            "AllowedPattern": r"^https://\S+$",
        },
        "StaffAudience": {
            "Type": "String",
            "Description": "Staff tokens' `aud` (Cognito: the app client id).",
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
        "AlarmEmail": {
            "Type": "String",
            "Default": "",
            "Description": "Optional address subscribed to the alarm topic.",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Default": 30,
            "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365],
            "Description": "Lambda log retention (logs carry request metadata; keep it short).",
        },
    }
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


def merge_template(base: dict[str, Any], stage: StageConfig, tables: Sequence[TableSpec]) -> dict[str, Any]:
    """The template to pass to `chalice package --merge-template` for this app and stage."""
    functions = functions_of(base, stage.queue_name)
    resources: dict[str, Any] = {}
    base_resources = base.get("Resources", {})

    for spec in tables:
        resources[spec.logical_id] = table_resource(
            spec, f"{stage.table_prefix}{spec.short_name}", retain=stage.retain_data
        )

    workers = [f for f in functions if f.sqs_events]
    worker_timeout = max((f.timeout for f in workers), default=DEFAULT_FUNCTION_TIMEOUT)
    resources[DEAD_LETTER_QUEUE] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": f"{stage.queue_name}-dlq",
            "MessageRetentionPeriod": 14 * 24 * 3600,
            "SqsManagedSseEnabled": True,
        },
    }
    resources[QUEUE] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": stage.queue_name,
            "VisibilityTimeout": VISIBILITY_TIMEOUT_FACTOR * worker_timeout,
            "MessageRetentionPeriod": 4 * 24 * 3600,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": _arn(DEAD_LETTER_QUEUE), "maxReceiveCount": MAX_RECEIVE_COUNT},
        },
    }
    for secret in SECRETS:
        resources[secret.logical_id] = _secret(secret, stage)

    # Log groups named by us and wired with LoggingConfig: the role can then name each group
    # (no logs:CreateLogGroup, no log-group:* wildcard) and retention is bounded.
    log_group_of = {f.logical_id: f"{f.logical_id}LogGroup" for f in functions}
    for function in functions:
        resources[log_group_of[function.logical_id]] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": f"/beatline/{stage.stage}/{function.logical_id}",
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }

    # Roles: chalice's (shared by the API handler and other functions) keeps its trust policy and
    # gets our policies instead of its generated ones (which use Resource "*"). Functions that
    # consume the fan-out queue get their own role: only they may receive and delete messages.
    members: dict[str, list[str]] = {}
    for function in functions:
        role = WORKER_ROLE if function.sqs_events else function.role
        if role is None:
            raise TemplateError(f"{function.logical_id}: role is not a resource of this template")
        members.setdefault(role, []).append(function.logical_id)
    for role, function_ids in members.items():
        document = policy_document(
            tables, [log_group_of[f] for f in function_ids], consume_queue=role == WORKER_ROLE
        )
        policies = [{"PolicyName": "BeatlineLeastPrivilege", "PolicyDocument": document}]
        if role == WORKER_ROLE:
            resources[WORKER_ROLE] = {
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
        elif base_resources.get(role, {}).get("Type") == "AWS::IAM::Role":
            resources[role] = {"Properties": {"Policies": policies}}
        else:
            raise TemplateError(f"role {role!r} is not an AWS::IAM::Role of this template")

    for function in functions:
        override: dict[str, Any] = {
            "LoggingConfig": {"LogGroup": {"Ref": log_group_of[function.logical_id]}, "LogFormat": "Text"},
        }
        if function.sqs_events:
            override["Role"] = _arn(WORKER_ROLE)
            override["Events"] = {
                name: {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}
                for name in function.sqs_events
            }
        # Chalice names the queue by ARN text, not Ref. The queue still exists before the event
        # source mapping: every function Refs FanoutQueue through Globals (BEATLINE_FANOUT_QUEUE_URL).
        resources[function.logical_id] = {"Properties": override}

    # Alarms
    # Not encrypted with the AWS-managed aws/sns key: its key policy does not let CloudWatch use
    # it, so alarms could not publish. Alarm messages carry metric names, no personal data.
    resources[ALARM_TOPIC] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": f"beatline-{stage.stage}-alarms"},
    }
    resources["AlarmEmailSubscription"] = {
        "Type": "AWS::SNS::Subscription",
        "Condition": "HasAlarmEmail",
        "Properties": {"TopicArn": {"Ref": ALARM_TOPIC}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
    }
    resources["FanoutDeadLetterAlarm"] = _alarm(
        "Fan-out messages failed 5 times and sit in the DLQ.",
        "AWS/SQS", "ApproximateNumberOfMessagesVisible",
        [{"Name": "QueueName", "Value": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "QueueName"]}}],
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
    api_name = f"beatline-{stage.stage}"
    rest_api = base_resources.get("RestAPI", {})
    if rest_api.get("Type") == "AWS::Serverless::Api":
        api_stage = rest_api.get("Properties", {}).get("StageName", stage.stage)
        # Name the API per stage (dev and prod can share an account); the alarm needs the name.
        resources["RestAPI"] = {"Properties": {"DefinitionBody": {"info": {"title": api_name}}}}
        resources["Api5xxAlarm"] = _alarm(
            "API Gateway answered 5xx (Beatline answers client errors with 4xx, so these are ours).",
            "AWS/ApiGateway", "5XXError",
            [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": api_stage}],
            threshold=5,
        )

    environment: dict[str, Any] = {
        "BEATLINE_FANOUT_QUEUE_URL": {"Ref": QUEUE},
        "BEATLINE_STAFF_ISSUER": {"Ref": "StaffIssuer"},
        "BEATLINE_STAFF_AUDIENCE": {"Ref": "StaffAudience"},
        "BEATLINE_STAFF_JWKS_URL": {"Ref": "StaffJwksUrl"},
        "BEATLINE_STAFF_ALGORITHMS": {"Ref": "StaffAlgorithms"},
    }
    environment.update({s.env_var: {"Ref": s.logical_id} for s in SECRETS})
    environment.update({app.env_var: {"Ref": app.parameter} for app in PLATFORM_APPS})

    outputs: dict[str, Any] = {
        "FanoutQueueUrl": {"Value": {"Ref": QUEUE}},
        "FanoutDeadLetterQueueUrl": {"Value": {"Ref": DEAD_LETTER_QUEUE}},
        "AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC}},
    }
    outputs.update({s.logical_id + "Arn": {"Value": {"Ref": s.logical_id}} for s in SECRETS})
    outputs.update({spec.logical_id + "Name": {"Value": {"Ref": spec.logical_id}} for spec in tables})

    return {
        "Parameters": _parameters(),
        "Conditions": _conditions(),
        # SAM merges Globals' variables into each function's (chalice's config.json ones).
        "Globals": {"Function": {"Environment": {"Variables": environment}}},
        "Resources": resources,
        "Outputs": outputs,
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

