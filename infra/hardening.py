"""Stack resources for flaws 7 and 8 of issue 9: the access log's archive no role can alter
(S3 Object Lock, compliance mode) fed by the table's stream, and the API stage's throttling and
access logs. Used by infra/template.py."""

from __future__ import annotations

from typing import Any

from infra.roles import ARCHIVE_BUCKET, ARCHIVE_FAILURE_QUEUE, COUNTER_FAILURE_QUEUE

ACCESS_LOG_TABLE = "AccessLogTable"
CONTACTS_TABLE = "ContactsTable"
CONVERSATIONS_TABLE = "ConversationsTable"
NEIGHBOURHOODS_TABLE = "NeighbourhoodsTable"
# Lambda retries a failing contacts-stream batch (halving it each time) this often before it sends
# the batch's description to the on-failure queue; replays change nothing (per-record markers).
COUNTER_RETRY_ATTEMPTS = 10
API_ACCESS_LOG_GROUP = "ApiAccessLogGroup"
API_GATEWAY_ACCOUNT = "ApiGatewayAccount"
API_GATEWAY_LOGS_ROLE = "ApiGatewayCloudWatchRole"
# Actions nobody may perform on the archive (belt and braces: compliance mode already refuses the
# object ones, even to the account root).
ARCHIVE_DENIED_ACTIONS = (
    "s3:BypassGovernanceRetention", "s3:DeleteObject", "s3:DeleteObjectVersion",
    "s3:PutBucketObjectLockConfiguration", "s3:PutObjectLegalHold", "s3:PutObjectRetention",
)
# The API's access-log line: the route template (no ids from the path), status, latency and the
# caller's address (abuse investigation); no query string, no headers, no user agent.
API_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","time":"$context.requestTimeEpoch","method":"$context.httpMethod",'
    '"resource":"$context.resourcePath","status":"$context.status","latencyMs":"$context.responseLatency",'
    '"bytes":"$context.responseLength","ip":"$context.identity.sourceIp"}'
)


def parameters() -> dict[str, Any]:
    return {
        "AccessLogRetentionDays": {
            "Type": "Number", "Default": 2190, "MinValue": 1, "MaxValue": 36500,
            "Description": "Access log: TTL of its DynamoDB items and Object Lock (compliance) retention of "
                           "its S3 archive, in days. Compliance retention cannot be shortened once set.",
        },
        "ApiThrottlingRateLimit": {
            "Type": "Number", "Default": 50, "MinValue": 1,
            "Description": "API stage: steady requests per second across all routes.",
        },
        "ApiThrottlingBurstLimit": {
            "Type": "Number", "Default": 100, "MinValue": 1,
            "Description": "API stage: burst of requests above the steady rate.",
        },
        "ApiPublicThrottlingRateLimit": {
            "Type": "Number", "Default": 20, "MinValue": 1,
            "Description": "API stage: steady requests per second of each public (anonymous) method: "
                           "health, OpenAPI, areas, public alerts, CAP, Atom, registration, web pages.",
        },
        "ApiPublicThrottlingBurstLimit": {
            "Type": "Number", "Default": 40, "MinValue": 1,
            "Description": "API stage: burst of each public (anonymous) method above its steady rate.",
        },
        "WorkerReservedConcurrency": {
            "Type": "Number", "Default": 10, "MinValue": 1,
            "Description": "Reserved (and so maximum) concurrent fan-out workers.",
        },
    }


def archive_resources(stage: str, archiver_role: str) -> dict[str, Any]:
    """The Object Lock bucket, its policy (only `archiver_role` may write) and the stream's
    on-failure queue."""
    bucket_arn = {"Fn::GetAtt": [ARCHIVE_BUCKET, "Arn"]}
    objects = {"Fn::Sub": f"${{{ARCHIVE_BUCKET}.Arn}}/*"}
    return {
        ARCHIVE_BUCKET: {
            "Type": "AWS::S3::Bucket",
            # Locked objects outlive any stack: the bucket is always kept.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": {"Ref": "AccessLogRetentionDays"}}},
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                # After retention: the current version gets a delete marker, then S3 removes it.
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "expire-after-retention", "Status": "Enabled",
                    "ExpirationInDays": {"Ref": "AccessLogRetentionDays"},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                }]},
                "Tags": [{"Key": "beatline:archive", "Value": f"{stage}/access-log"}],
            },
        },
        f"{ARCHIVE_BUCKET}Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": ARCHIVE_BUCKET},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": [bucket_arn, objects], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                    {"Sid": "DenyChangingArchivedObjects", "Effect": "Deny", "Principal": "*",
                     "Action": list(ARCHIVE_DENIED_ACTIONS), "Resource": [bucket_arn, objects]},
                    {"Sid": "OnlyTheArchiverWrites", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                     "Resource": [objects],
                     "Condition": {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [archiver_role, "Arn"]}}}},
                ]},
            },
        },
        ARCHIVE_FAILURE_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"beatline-{stage}-access-log-archive-failures",
                "MessageRetentionPeriod": 14 * 24 * 3600,
                "SqsManagedSseEnabled": True,
            },
        },
    }


def stream_event_properties() -> dict[str, Any]:
    """Replaces chalice's placeholder stream ARN and adds what chalice cannot express."""
    return {
        "Stream": {"Fn::GetAtt": [ACCESS_LOG_TABLE, "StreamArn"]},
        "StartingPosition": "TRIM_HORIZON",
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [ARCHIVE_FAILURE_QUEUE, "Arn"]}}},
    }


# What each counter stream's mapping hands the function (Lambda drops the rest before invoking; the
# handlers ignore it all the same: DynamoDB Local's poller has no filters). The conversations
# stream: inserts and modifications (a TTL deletion counts nothing, domain/stream_counts.
# conversation_deltas). The neighbourhoods table's: rating items inserted, nothing else of that
# table (pulses, priorities, meetings; erasure and TTL deletions keep the counts).
CONVERSATION_FILTER = {"Filters": [{"Pattern": '{"eventName": ["INSERT", "MODIFY"]}'}]}
RATING_FILTER = {"Filters": [{"Pattern": '{"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "rating#"}]}}}}'}]}
COUNTER_FILTERS = {CONVERSATIONS_TABLE: CONVERSATION_FILTER, NEIGHBOURHOODS_TABLE: RATING_FILTER}


def counter_event_properties(table: str = CONTACTS_TABLE) -> dict[str, Any]:
    """A counter stream's event source mapping (app.py's `contact_counter` on the contacts table,
    `conversation_counter` on the conversations table, `rating_counter` on the neighbourhoods
    table): the placeholder ARN replaced, its filter (COUNTER_FILTERS), a failing batch bisected
    until the record that fails is alone, then sent to the on-failure queue (a recount repairs what
    it missed). No partial batch response: a batch's parts are written exactly once, so Lambda may
    replay all of it."""
    filtered = {"FilterCriteria": COUNTER_FILTERS[table]} if table in COUNTER_FILTERS else {}
    return {
        **filtered,
        "Stream": {"Fn::GetAtt": [table, "StreamArn"]},
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 100,
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": COUNTER_RETRY_ATTEMPTS,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [COUNTER_FAILURE_QUEUE, "Arn"]}}},
    }


def counter_resources(stage: str) -> dict[str, Any]:
    """The counter streams' on-failure queue (batch descriptions only: stream, shard and sequence
    range), one for the contacts, conversations and neighbourhoods (ratings) mappings."""
    return {
        COUNTER_FAILURE_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": f"beatline-{stage}-contact-counter-failures",
                "MessageRetentionPeriod": 14 * 24 * 3600,
                "SqsManagedSseEnabled": True,
            },
        },
    }


def api_stage_resources(stage: str) -> dict[str, Any]:
    """Access log group and the account-level role API Gateway needs to write any log."""
    return {
        API_ACCESS_LOG_GROUP: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": f"/beatline/{stage}/api-access",
                           "RetentionInDays": {"Ref": "LogRetentionDays"}},
        },
        API_GATEWAY_LOGS_ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "ManagedPolicyArns": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}],
            },
        },
        # One per account and region (last writer wins); the stage cannot log before it is set.
        API_GATEWAY_ACCOUNT: {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": [API_GATEWAY_LOGS_ROLE, "Arn"]}},
        },
    }


def public_methods() -> list[tuple[str, str]]:
    """(method, path) of everything anonymous callers reach by design: the public operations of the
    registry (`action=PUBLIC`) and the web pages. Read from the app, so a new public route gets the
    public budget without anyone listing it."""
    import app  # noqa: F401 - registers every operation
    from chalicelib.api.framework import OPERATIONS
    from chalicelib.api.web import WEB_ROUTES

    return sorted({(op.method, op.path) for op in OPERATIONS if op.public} | set(WEB_ROUTES))


def resource_path(path: str) -> str:
    """A MethodSetting's ResourcePath: the resource path with each `/` written `~1`."""
    return "/" + path.replace("/", "~1")


def api_stage_properties(public: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Merged into chalice's AWS::Serverless::Api: throttling and access logs for every route. The
    public methods get their own, smaller budget (a method setting overrides the stage default)."""
    public_settings = [{
        "ResourcePath": resource_path(path), "HttpMethod": method, "MetricsEnabled": True,
        "ThrottlingRateLimit": {"Ref": "ApiPublicThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiPublicThrottlingBurstLimit"},
    } for method, path in (public_methods() if public is None else public)]
    return {
        "MethodSettings": [{
            "ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
            "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        }, *public_settings],
        "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": [API_ACCESS_LOG_GROUP, "Arn"]},
                             "Format": API_ACCESS_LOG_FORMAT},
    }
