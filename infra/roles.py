"""One IAM role per Lambda function, rendered from infra/permissions.py (what its code calls) plus
what its event source needs, with every resource named exactly."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from infra.permissions import CODE_GRANTS, EVENT_SOURCE_GRANTS, Grant
from infra.tables import APPEND_ONLY_TABLES, TableSpec

LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# What no role may hold on an append-only table (IAM cannot stop PutItem overwriting; these are
# the actions that change or remove an existing item outright).
FORBIDDEN_ON_APPEND_ONLY = frozenset({"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"})
ARCHIVE_BUCKET = "AuditArchiveBucket"
ARCHIVE_FAILURE_QUEUE = "ArchiveFailureQueue"
ARCHIVE_PREFIX = "access-log"
COUNTER_FAILURE_QUEUE = "CounterFailureQueue"
SMS_RESOURCE = "sms/phone-numbers"
SMS_ACTIONS = frozenset({"sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"})
EXPORT_BUCKET = "ExportBucket"
EXPORT_QUEUE = "ExportQueue"
EXPORT_PREFIX = "exports"  # chalicelib/domain/exports.py: every key starts with it
SMS_QUEUE = "SmsQueue"  # the SMS sender's jobs (infra/sms.py)
PULSE_QUEUE = "PulseQueue"  # the confidence pulse's delivery steps (chalicelib/usecases/pulse_worker.py)
QUEUES = {"fanout": "FanoutQueue", "archive-failures": ARCHIVE_FAILURE_QUEUE, "counter-failures": COUNTER_FAILURE_QUEUE,
          "exports": EXPORT_QUEUE, "sms": SMS_QUEUE, "pulses": PULSE_QUEUE}


class GrantError(ValueError):
    """A grant names a resource this stack does not have, or breaks a rule (append-only)."""


def _arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _platform_endpoints(app: Any) -> dict[str, Any]:
    """arn:...:app/GCM/Name -> arn:...:endpoint/GCM/Name/* (the endpoints created under that app)."""
    parts = {"Fn::Split": ["/", {"Ref": app.parameter}]}
    return {
        "Fn::Sub": [
            "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:endpoint/${Platform}/${Name}/*",
            {"Platform": {"Fn::Select": [1, parts]}, "Name": {"Fn::Select": [2, parts]}},
        ]
    }


def _table_resources(resource: str, tables: dict[str, TableSpec]) -> list[Any]:
    parts = resource.split("/")  # table/<short>[/index/<name>]
    spec = tables.get(parts[1])
    if spec is None:
        raise GrantError(f"no table {parts[1]!r} in this stack")
    if len(parts) == 2:
        return [_arn(spec.logical_id)]
    if len(parts) != 4 or parts[2] != "index" or parts[3] not in spec.index_names:
        raise GrantError(f"table {parts[1]!r} has no index {'/'.join(parts[3:])!r}")
    return [{"Fn::Sub": f"${{{spec.logical_id}.Arn}}/index/{parts[3]}"}]


def _stream_resources(resource: str, tables: dict[str, TableSpec]) -> list[Any]:
    short = resource.split("/")[1]
    spec = tables.get(short)
    if spec is None:
        raise GrantError(f"no table {short!r} in this stack")
    if resource.endswith("/*"):  # ListStreams: the table's streams (SAM's DynamoDBStreamReadPolicy)
        return [{"Fn::Sub": f"${{{spec.logical_id}.Arn}}/stream/*"}]
    return [{"Fn::GetAtt": [spec.logical_id, "StreamArn"]}]


# Objects under one prefix of a bucket, or (`-list`) the bucket itself for ListBucket.
BUCKET_RESOURCES: dict[str, Any] = {
    "audit-archive": {"Fn::Sub": f"${{{ARCHIVE_BUCKET}.Arn}}/{ARCHIVE_PREFIX}/*"},
    "exports": {"Fn::Sub": f"${{{EXPORT_BUCKET}.Arn}}/{EXPORT_PREFIX}/*"},
    "exports-list": _arn(EXPORT_BUCKET),
}
def _email_resources(kind: str, name: str) -> list[Any] | None:
    """The email channel's grant resources (infra/email.py), None for any other."""
    from infra.email import bucket_grant_resources, grant_resources

    if kind == "ses" and name in ("identity", "configuration-set"):
        return grant_resources(name)
    if kind == "bucket" and name == "email-inbound":
        return bucket_grant_resources()
    return None


def resources_of(resource: str, tables: dict[str, TableSpec]) -> list[Any]:
    """CloudFormation values for one grant resource name (see infra/permissions.py)."""
    kind, _, name = resource.partition("/")
    email = _email_resources(kind, name)
    if email is not None:
        return email
    if kind == "table":
        return _table_resources(resource, tables)
    if kind == "stream":
        return _stream_resources(resource, tables)
    if kind == "queue" and name in QUEUES:
        return [_arn(QUEUES[name])]
    if kind == "bucket" and name in BUCKET_RESOURCES:
        return [BUCKET_RESOURCES[name]]
    if kind == "secret":
        return [{"Ref": name}]
    if resource == SMS_RESOURCE:  # IAM has no ARN for a phone number (sns:Publish with PhoneNumber)
        return ["*"]
    raise GrantError(f"unknown grant resource {resource!r}")


def check_append_only(grants: Iterable[Grant]) -> None:
    for action, resource in grants:
        short = resource.split("/")[1] if resource.startswith("table/") else None
        if short in APPEND_ONLY_TABLES and action in FORBIDDEN_ON_APPEND_ONLY:
            raise GrantError(f"{action} on append-only table {short!r}")


def _sms_statements(actions: Sequence[str], endpoints: bool) -> list[Any]:
    """Texts to phone numbers. The role is denied Publish to every topic and endpoint ARN, so its
    "*" reaches phone numbers only (AWS's documented pattern); a role that must also publish to
    push endpoints could not carry that Deny, so it may not text at all (the fan-out worker queues
    texts for the SMS sender instead)."""
    if not set(actions) <= SMS_ACTIONS:
        raise GrantError(f"only {sorted(SMS_ACTIONS)} on {SMS_RESOURCE}")
    if endpoints and "sns:Publish" in actions:
        raise GrantError(f"sns:Publish on {SMS_RESOURCE} and on sns/endpoints in one role: its \"*\" would reach "
                         "every topic in the account")
    statements: list[Any] = [{"Sid": "SmsToPhoneNumbers", "Effect": "Allow", "Action": sorted(actions), "Resource": ["*"]}]
    if "sns:Publish" in actions:
        statements.append({"Sid": "NoPublishToTopicsOrEndpoints", "Effect": "Deny", "Action": ["sns:Publish"],
                           "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}]})
    return statements


def _sid(resource: str) -> str:
    """`table/contacts/index/by_team` -> `TableContactsIndexByTeam` (unique per resource name)."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9*]+", resource.replace("*", "All")) if part)


def _sns_statements(actions: Sequence[str]) -> list[Any]:
    from infra.template import PLATFORM_APPS

    statements: list[Any] = []
    for app in PLATFORM_APPS:
        statement = {"Sid": app.parameter.removesuffix("Arn") + "Endpoints", "Effect": "Allow",
                     "Action": sorted(actions), "Resource": [_platform_endpoints(app)]}
        statements.append({"Fn::If": [app.condition, statement, {"Ref": "AWS::NoValue"}]})
    return statements


def function_grants(function_id: str) -> frozenset[Grant]:
    if function_id not in CODE_GRANTS:
        raise GrantError(f"{function_id}: declare what its code calls in infra/permissions.py")
    return CODE_GRANTS[function_id] | EVENT_SOURCE_GRANTS.get(function_id, frozenset())


def policy_document(function_id: str, specs: Sequence[TableSpec], log_group: str | None) -> dict[str, Any]:
    """The function's whole policy: one statement per resource, exact actions."""
    grants = function_grants(function_id)
    check_append_only(grants)
    tables = {spec.short_name: spec for spec in specs}
    by_resource: dict[str, set[str]] = defaultdict(set)
    for action, resource in grants:
        by_resource[resource].add(action)
    statements: list[Any] = []
    for resource, actions in sorted(by_resource.items()):
        if resource == "sns/endpoints":
            statements += _sns_statements(sorted(actions))
            continue
        if resource == SMS_RESOURCE:
            statements += _sms_statements(sorted(actions), endpoints="sns/endpoints" in by_resource)
            continue
        statements.append({"Sid": _sid(resource), "Effect": "Allow", "Action": sorted(actions),
                           "Resource": resources_of(resource, tables)})
    if log_group:
        statements.append({"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": list(LOG_ACTIONS),
                           "Resource": [_arn(log_group)]})
    return {"Version": "2012-10-17", "Statement": statements}
