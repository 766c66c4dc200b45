"""The email channel's AWS resources (docs/channels.md): the stage's SES configuration set (with
SES's account-level suppression of bounced and complaining addresses), its event destination to
an SNS topic that the `email_events` function consumes, and the parameters and environment."""

from __future__ import annotations

from typing import Any

CONFIGURATION_SET = "EmailConfigurationSet"
EVENTS_TOPIC = "EmailEventsTopic"
EMAIL_FROM = "EmailFrom"
REPLY_DOMAIN = "EmailReplyDomain"
INBOUND_BUCKET = "EmailInboundBucket"
INBOUND_TOPIC = "EmailInboundTopic"
INBOUND_PREFIX = "inbound"
HAS_REPLY_DOMAIN = "HasEmailReplyDomain"


def inbound_topic_name(stage: str) -> str:
    return f"beatline-{stage}-email-inbound"


def topic_logical_id(topic: str, sms_topic: str | None) -> str | None:
    """The email topic a function's SNS event names (same stage as the SMS topic), else None."""
    if not sms_topic or not sms_topic.endswith("-sms-inbound"):
        return None
    prefix = sms_topic.removesuffix("-sms-inbound")
    return {f"{prefix}-email-events": EVENTS_TOPIC, f"{prefix}-email-inbound": INBOUND_TOPIC}.get(topic)


def topic_name(stage: str) -> str:
    """What app.py's `on_sns_message` names (settings: BEATLINE_EMAIL_EVENTS_TOPIC's default)."""
    return f"beatline-{stage}-email-events"


def conditions() -> dict[str, Any]:
    return {HAS_REPLY_DOMAIN: {"Fn::Not": [{"Fn::Equals": [{"Ref": REPLY_DOMAIN}, ""]}]}}


def parameters() -> dict[str, Any]:
    return {REPLY_DOMAIN: {
        "Type": "String",
        "Default": "",
        "Description": "Domain whose mail SES receives (MX to SES inbound) for residents' replies to team answers; "
                       "empty: answers carry no reply address. Activate the rule set after deploying.",
        "AllowedPattern": r"^([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+\.[A-Za-z]{2,63}$|^$",
    }, EMAIL_FROM: {
        "Type": "String",
        "Default": "",
        "Description": "From address of residents' email (an SES-verified identity: its domain is the one "
                       "the functions may send as); empty: email is not offered.",
        "AllowedPattern": r"^([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63})?$",
    }}


def resources(stage: str) -> dict[str, Any]:
    # The topic carries bounce and complaint events (which name the recipient address): SES is the
    # only publisher, for this account's configuration set only; the function is its one subscriber.
    return {
        CONFIGURATION_SET: {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {
                "Name": f"beatline-{stage}",
                "DeliveryOptions": {"TlsPolicy": "REQUIRE"},
                "ReputationOptions": {"ReputationMetricsEnabled": True},
                "SendingOptions": {"SendingEnabled": True},
                "SuppressionOptions": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
            },
        },
        **inbound_resources(stage),
        EVENTS_TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic_name(stage)}},
        "EmailEventsTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": EVENTS_TOPIC}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "SesPublishesThisStagesEvents", "Effect": "Allow",
                    "Principal": {"Service": "ses.amazonaws.com"}, "Action": "sns:Publish",
                    "Resource": {"Ref": EVENTS_TOPIC},
                    "Condition": {
                        "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}},
                        "StringLike": {"AWS:SourceArn": {"Fn::Sub": (
                            "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/"
                            f"beatline-{stage}")}},
                    },
                }]},
            },
        },
        "EmailEventDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "DependsOn": "EmailEventsTopicPolicy",
            "Properties": {
                "ConfigurationSetName": {"Ref": CONFIGURATION_SET},
                "EventDestination": {
                    "Name": "bounces-and-complaints", "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint"],
                    "SnsDestination": {"TopicARN": {"Ref": EVENTS_TOPIC}},
                },
            },
        },
    }


def environment() -> dict[str, Any]:
    return {"BEATLINE_EMAIL_FROM": {"Ref": EMAIL_FROM}, "BEATLINE_SES_CONFIGURATION_SET": {"Ref": CONFIGURATION_SET},
            "BEATLINE_EMAIL_REPLY_DOMAIN": {"Ref": REPLY_DOMAIN}, "BEATLINE_EMAIL_INBOUND_BUCKET": {"Ref": INBOUND_BUCKET}}


def _ses_may(action: str, resource: Any, stage: str, rule: bool = False) -> dict[str, Any]:
    kind = f"receipt-rule-set/beatline-{stage}:receipt-rule/*" if rule else f"configuration-set/beatline-{stage}"
    return {"Sid": "SesOnly", "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"}, "Action": action,
            "Resource": resource, "Condition": {
                "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}},
                "StringLike": {"AWS:SourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:{kind}"}}}}


def inbound_resources(stage: str) -> dict[str, Any]:
    """Replies: SES receiving for the reply domain stores each message under inbound/ (kept a day at
    most, encrypted, never public) and notifies the topic the `email_replies` function consumes."""
    return {
        INBOUND_BUCKET: {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketName": f"beatline-{stage}-email-inbound",
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": [{"Id": "ExpireReplies", "Status": "Enabled", "ExpirationInDays": 1}]},
            },
        },
        "EmailInboundBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": INBOUND_BUCKET}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                _ses_may("s3:PutObject", {"Fn::Sub": f"${{{INBOUND_BUCKET}.Arn}}/{INBOUND_PREFIX}/*"}, stage, rule=True),
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [{"Fn::GetAtt": [INBOUND_BUCKET, "Arn"]}, {"Fn::Sub": f"${{{INBOUND_BUCKET}.Arn}}/*"}],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]}},
        },
        INBOUND_TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": inbound_topic_name(stage)}},
        "EmailInboundTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {"Topics": [{"Ref": INBOUND_TOPIC}], "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                _ses_may("sns:Publish", {"Ref": INBOUND_TOPIC}, stage, rule=True)]}},
        },
        "EmailReceiptRuleSet": {"Type": "AWS::SES::ReceiptRuleSet", "Condition": HAS_REPLY_DOMAIN,
                                "Properties": {"RuleSetName": f"beatline-{stage}"}},
        "EmailReceiptRule": {
            "Type": "AWS::SES::ReceiptRule",
            "Condition": HAS_REPLY_DOMAIN,
            "DependsOn": ["EmailInboundBucketPolicy", "EmailInboundTopicPolicy"],
            "Properties": {"RuleSetName": {"Ref": "EmailReceiptRuleSet"}, "Rule": {
                "Name": "replies", "Enabled": True, "ScanEnabled": True, "TlsPolicy": "Require",
                "Recipients": [{"Ref": REPLY_DOMAIN}],
                "Actions": [{"S3Action": {"BucketName": {"Ref": INBOUND_BUCKET}, "ObjectKeyPrefix": f"{INBOUND_PREFIX}/",
                                          "TopicArn": {"Ref": INBOUND_TOPIC}}}],
            }},
        },
    }


def bucket_grant_resources() -> list[Any]:
    """`bucket/email-inbound`: the stored replies only."""
    return [{"Fn::Sub": f"${{{INBOUND_BUCKET}.Arn}}/{INBOUND_PREFIX}/*"}]


def grant_resources(name: str) -> list[Any]:
    """`ses/identity`: the From address's domain identity and the address itself; `ses/configuration-set`."""
    prefix = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
    if name == "identity":
        domain = {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": EMAIL_FROM}]}]}
        return [{"Fn::Sub": [f"{prefix}:identity/${{Domain}}", {"Domain": domain}]},
                {"Fn::Sub": f"{prefix}:identity/${{{EMAIL_FROM}}}"}]
    return [{"Fn::Sub": f"{prefix}:configuration-set/${{{CONFIGURATION_SET}}}"}]
