"""Everything the app reads from its environment, parsed once into one frozen object.

PynamoDB reads table names when model classes are created, so this module must see the final
environment before `chalicelib.store` is imported (tests set it before importing `app`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """The environment does not describe a runnable stage."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    # Staff tokens: the force's OIDC provider (Cognito or any other).
    staff_issuer: str
    staff_audience: str
    staff_algorithms: tuple[str, ...]
    staff_jwks_url: str | None
    staff_jwks_file: str | None
    # Resident tokens: issued by Beatline itself at registration.
    resident_issuer: str
    resident_audience: str
    resident_key_file: str | None
    resident_key_secret_arn: str | None
    resident_token_days: int
    # Keyed pseudonyms (online handles, officer ids for analysts, cursor signatures).
    pseudonym_key_file: str | None
    pseudonym_key_secret_arn: str | None
    token_leeway_seconds: int
    # Contacts
    contact_retention_days: int
    contact_max_age_days: int
    future_skew_seconds: int
    max_body_bytes: int
    max_batch_body_bytes: int
    batch_workers: int
    dynamodb_connect_timeout_seconds: int
    dynamodb_read_timeout_seconds: int
    # Fan-out (alerts): SQS queue name (the worker's event source) and URL; no URL means the
    # in-process local queue (chalice local, tests).
    fanout_queue_name: str
    fanout_queue_url: str | None
    log_level: str
    # Residents and alerts (defaults work locally; see docs/alerts.md).
    subscriber_rate_per_minute: int = 10  # POST /v1/subscribers per client address per minute
    subscriber_rate_per_hour: int = 60  # ... per hour and per day (shared addresses: mobile CGNAT, venues)
    subscriber_rate_per_day: int = 300
    sns_platform_app_fcm_arn: str | None = None  # set in AWS: tokens become SNS platform endpoints
    sns_platform_app_apns_arn: str | None = None
    vapid_private_key_file: str | None = None
    vapid_private_key_secret_arn: str | None = None
    vapid_subject: str = "mailto:alerts@beatline.example"
    alert_sender: str = "beatline@local"  # CAP <sender>
    # Email (docs/channels.md): offered when a From address is set; SES v2 (locally the
    # aws-ses-v2-local server through AWS_ENDPOINT_URL_SESV2), a configuration set per stage.
    email_from: str | None = None
    ses_configuration_set: str | None = None
    email_reply_domain: str | None = None  # answers by email get reply+token addresses here (SES receiving)
    email_inbound_bucket: str = "beatline-local-email-inbound"  # where SES receiving writes replies (S3)
    email_inbound_topic: str = "beatline-local-email-inbound"  # SES receiving's notification of a stored reply
    email_events_topic: str = "beatline-local-email-events"  # SNS topic of the configuration set's bounce/complaint events
    public_base_url: str = "http://127.0.0.1:8000"  # links in pushes, the Atom feed and CAP
    fanout_async: bool = False  # local queue: deliver on a background thread (`make run`)
    fanout_threads: int = 8  # claim/send threads per fan-out message (see docs/fanout.md)
    staff_token_max_lifetime_seconds: int = 24 * 3600  # longest exp - iat accepted from the staff IdP
    # Where the staff IdP puts the rank: a claim (OIDC; empty: none) and/or a group prefix
    # (Cognito groups such as `rank:inspector`; unset: none). See docs/history.md.
    staff_rank_claim: str | None = "rank"
    staff_rank_group_prefix: str | None = None
    # Residents' writes per subscriber (domain/ratelimit.py): together, and replies on their own.
    resident_write_rate_per_minute: int = 30
    resident_write_rate_per_hour: int = 300
    resident_reply_rate_per_minute: int = 5
    resident_reply_rate_per_hour: int = 30
    # Residents' reads per subscriber (own record, inbox, conversations) and erasure requests.
    resident_read_rate_per_minute: int = 60
    resident_read_rate_per_hour: int = 600
    resident_erase_rate_per_minute: int = 10
    # Conversation starts and alert replies per client address, whichever subscriber calls.
    conversation_rate_per_address_per_minute: int = 5
    conversation_rate_per_address_per_hour: int = 20
    conversation_rate_per_address_per_day: int = 60
    # Anonymous alert lookups (point, CAP, Atom) per client address.
    public_lookup_rate_per_minute: int = 120
    public_lookup_rate_per_hour: int = 3000
    # Access log: TTL of its DynamoDB items; the S3 archive keeps its own (Object Lock) copy.
    access_log_retention_days: int = 2190
    audit_archive_bucket: str | None = None  # S3 bucket (Object Lock) the stream archiver writes
    # Web dashboard sign-in (docs/web.md): the staff issuer's public OIDC client and scopes.
    dashboard_client_id: str = "beatline-dashboard"
    dashboard_scope: str = "openid"
    # Staff app clients whose access tokens are accepted (BEATLINE_STAFF_CLIENT_IDS, comma
    # separated): needed for Cognito's access tokens (`client_id`, no `aud`); when set, an RFC 9068
    # token's `client_id` must be one of them too (auth/tokens.py).
    staff_client_ids: tuple[str, ...] = ()
    # Residents' web app map (docs/app.md): tile URL template ({z}/{x}/{y}; empty = no tiles, the
    # map still draws areas and circles) and its attribution text; the CSP's img-src allows its origin.
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    # The team's app (docs/team-app.md): the response standard a waiting conversation is held to
    # (`respond_by`), how long a claim on a conversation lasts, how long a staff device is kept.
    response_standard_hours: int = 72
    claim_minutes: int = 30
    staff_device_days: int = 60
    # The force, as the data.police.uk-shaped API under /v1/police-uk/ names it (docs/guarantee.md).
    force_id: str = "beatline"
    force_name: str = "Beatline Police"
    force_url: str | None = None
    force_telephone: str = "101"
    force_description: str = ""
    # Emergency guidance (docs/conversations.md): shown in the app, sent as the automatic reply.
    emergency_number: str = "999"
    non_emergency_number: str = "101"
    # SMS (docs/channels.md): the service (`sns`: SNS Publish to a phone number, what the AWS
    # template sets; `none`, the default: off), the origination number residents reply to
    # (two-way, the inbound topic) and a sender id.
    sms_service: str = "none"
    sms_origination_number: str | None = None
    sms_sender_id: str | None = None
    sms_inbound_topic: str = "beatline-local-sms-inbound"
    # The sms_sender function's queue (name: its event source; no URL: in-process locally).
    sms_queue_name: str = "beatline-local-sms"
    sms_queue_url: str | None = None
    # Only alerts at or above this severity go by SMS, unless the resident asks for more.
    sms_min_severity: str = "Severe"
    sms_segment_budget: int = 2  # segments one alert SMS may take (GSM-7: 306 characters; UCS-2: 134)
    sms_stop_keywords: tuple[str, ...] = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPIO", "DIWEDD")
    # Ceilings on alert texts (conditional counters): per alert and per UTC day, whole force.
    sms_per_alert_ceiling: int = 5000
    sms_per_day_ceiling: int = 20000
    # One-time codes texted, per number and per subscriber, per hour and per day.
    sms_codes_per_hour: int = 3
    sms_codes_per_day: int = 6
    # Bulk exports of history rows (docs/history.md, "Bulk export"): the worker's SQS queue (name:
    # its event source; no URL: in-process locally), the S3 bucket (none: a local folder), how
    # long a presigned link lasts, and how many exports one caller may start.
    export_queue_name: str = "beatline-local-exports"
    # The confidence pulse's delivery worker (docs/history.md "Residents' trust"): its SQS queue
    # (name: its event source; no URL: in-process locally).
    pulse_queue_name: str = "beatline-local-pulses"
    pulse_queue_url: str | None = None
    export_queue_url: str | None = None
    export_bucket: str | None = None
    export_dir: str = ".local/exports"
    export_link_seconds: int = 900
    export_rate_per_hour: int = 5
    export_rate_per_day: int = 20

    def table_name(self, short_name: str) -> str:
        return f"{self.table_prefix}{short_name}"


PHONE_NUMBER = re.compile(r"^[0-9](?:[0-9 ]{0,18}[0-9])?$")


def _phone(env: Mapping[str, str], name: str, default: str) -> str:
    """A number residents are told to call: digits and single spaces, 1..20 characters."""
    value = env.get(name, "").strip() or default
    if not PHONE_NUMBER.match(value) or "  " in value:
        raise SettingsError(f"{name} must be a phone number (digits and spaces), e.g. {default}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}")
    return value


# Rate limits read generically: BEATLINE_<SETTING> (at least 1), default from the dataclass field.
RATE_SETTINGS = (
    "subscriber_rate_per_hour", "subscriber_rate_per_day", "resident_read_rate_per_minute",
    "resident_read_rate_per_hour", "resident_erase_rate_per_minute", "conversation_rate_per_address_per_minute",
    "conversation_rate_per_address_per_hour", "conversation_rate_per_address_per_day",
    "public_lookup_rate_per_minute", "public_lookup_rate_per_hour",
)


def _rate_settings(env: Mapping[str, str]) -> dict[str, Any]:  # Any: the ints fill int fields only
    defaults: dict[str, Any] = {f.name: f.default for f in fields(Settings)}
    return {name: _int(env, "BEATLINE_" + name.upper(), int(defaults[name]), 1) for name in RATE_SETTINGS}


def _opt(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


TILE_URL = re.compile(r"^https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/[A-Za-z0-9._~/{}@-]*$")


def _check_tile_url(url: str) -> None:
    """A plain http(s) template with {z}, {x} and {y}: its origin goes into the page's CSP."""
    if url and (not TILE_URL.match(url) or not all(p in url for p in ("{z}", "{x}", "{y}"))):
        raise SettingsError("BEATLINE_MAP_TILE_URL must be http(s)://host[:port]/...{z}/{x}/{y}... (no {s} subdomains)")


# police.uk force ids are lower-case slugs; two would shadow this API's own path segments.
FORCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _check_force_id(force_id: str) -> None:
    if not FORCE_ID.match(force_id) or force_id in ("forces", "locate-neighbourhood"):
        raise SettingsError("BEATLINE_FORCE_ID must be a lower-case slug (a-z, 0-9, '-'), not 'forces'")


def _region(env: Mapping[str, str]) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-2"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    stage = env.get("BEATLINE_STAGE", "local")
    prefix = env.get("BEATLINE_TABLE_PREFIX", f"beatline-{stage}-")
    settings = Settings(
        stage=stage,
        region=_region(env),
        table_prefix=prefix,
        staff_issuer=env.get("BEATLINE_STAFF_ISSUER", "https://idp.beatline.local"),
        staff_audience=env.get("BEATLINE_STAFF_AUDIENCE", "beatline-api"),
        staff_algorithms=tuple(
            a.strip() for a in env.get("BEATLINE_STAFF_ALGORITHMS", "ES256").split(",") if a.strip()
        ),
        staff_jwks_url=_opt(env, "BEATLINE_STAFF_JWKS_URL"),
        staff_jwks_file=_opt(env, "BEATLINE_STAFF_JWKS_FILE"),
        resident_issuer=env.get("BEATLINE_RESIDENT_ISSUER", "https://beatline.local/residents"),
        resident_audience=env.get("BEATLINE_RESIDENT_AUDIENCE", "beatline-residents"),
        resident_key_file=_opt(env, "BEATLINE_RESIDENT_KEY_FILE"),
        resident_key_secret_arn=_opt(env, "BEATLINE_RESIDENT_KEY_SECRET_ARN"),
        resident_token_days=_int(env, "BEATLINE_RESIDENT_TOKEN_DAYS", 365, 1),
        pseudonym_key_file=_opt(env, "BEATLINE_PSEUDONYM_KEY_FILE"),
        pseudonym_key_secret_arn=_opt(env, "BEATLINE_PSEUDONYM_KEY_SECRET_ARN"),
        token_leeway_seconds=_int(env, "BEATLINE_TOKEN_LEEWAY_SECONDS", 30),
        contact_retention_days=_int(env, "BEATLINE_CONTACT_RETENTION_DAYS", 730, 1),
        contact_max_age_days=_int(env, "BEATLINE_CONTACT_MAX_AGE_DAYS", 30, 1),
        future_skew_seconds=_int(env, "BEATLINE_FUTURE_SKEW_SECONDS", 300),
        max_body_bytes=_int(env, "BEATLINE_MAX_BODY_BYTES", 16 * 1024, 1024),
        max_batch_body_bytes=_int(env, "BEATLINE_MAX_BATCH_BODY_BYTES", 1024 * 1024, 1024),
        batch_workers=_int(env, "BEATLINE_BATCH_WORKERS", 4, 1),
        dynamodb_connect_timeout_seconds=_int(env, "BEATLINE_DYNAMODB_CONNECT_TIMEOUT_SECONDS", 2, 1),
        dynamodb_read_timeout_seconds=_int(env, "BEATLINE_DYNAMODB_READ_TIMEOUT_SECONDS", 10, 1),
        fanout_queue_name=env.get("BEATLINE_FANOUT_QUEUE_NAME", f"beatline-{stage}-fanout"),
        fanout_queue_url=_opt(env, "BEATLINE_FANOUT_QUEUE_URL"),
        log_level=env.get("BEATLINE_LOG_LEVEL", "INFO").strip().upper(),
        subscriber_rate_per_minute=_int(env, "BEATLINE_SUBSCRIBER_RATE_PER_MINUTE", 10, 1),
        sns_platform_app_fcm_arn=_opt(env, "BEATLINE_SNS_FCM_APP_ARN"),
        sns_platform_app_apns_arn=_opt(env, "BEATLINE_SNS_APNS_APP_ARN"),
        vapid_private_key_file=_opt(env, "BEATLINE_VAPID_PRIVATE_KEY_FILE"),
        vapid_private_key_secret_arn=_opt(env, "BEATLINE_VAPID_KEY_SECRET_ARN"),
        vapid_subject=env.get("BEATLINE_VAPID_SUBJECT", "mailto:alerts@beatline.example"),
        email_from=_opt(env, "BEATLINE_EMAIL_FROM"),
        ses_configuration_set=_opt(env, "BEATLINE_SES_CONFIGURATION_SET"),
        email_events_topic=env.get("BEATLINE_EMAIL_EVENTS_TOPIC", f"beatline-{stage}-email-events"),
        email_reply_domain=_opt(env, "BEATLINE_EMAIL_REPLY_DOMAIN"),
        email_inbound_bucket=env.get("BEATLINE_EMAIL_INBOUND_BUCKET", f"beatline-{stage}-email-inbound"),
        email_inbound_topic=env.get("BEATLINE_EMAIL_INBOUND_TOPIC", f"beatline-{stage}-email-inbound"),
        alert_sender=env.get("BEATLINE_ALERT_SENDER", f"beatline@{stage}"),
        public_base_url=env.get("BEATLINE_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        fanout_async=env.get("BEATLINE_FANOUT_ASYNC", "") in ("1", "true", "yes"),
        fanout_threads=_int(env, "BEATLINE_FANOUT_THREADS", 8, 1),
        staff_token_max_lifetime_seconds=_int(env, "BEATLINE_STAFF_TOKEN_MAX_LIFETIME_SECONDS", 24 * 3600, 60),
        staff_rank_claim=env.get("BEATLINE_STAFF_RANK_CLAIM", "rank").strip() or None,
        staff_rank_group_prefix=_opt(env, "BEATLINE_STAFF_RANK_GROUP_PREFIX"),
        resident_write_rate_per_minute=_int(env, "BEATLINE_RESIDENT_WRITE_RATE_PER_MINUTE", 30, 1),
        resident_write_rate_per_hour=_int(env, "BEATLINE_RESIDENT_WRITE_RATE_PER_HOUR", 300, 1),
        resident_reply_rate_per_minute=_int(env, "BEATLINE_RESIDENT_REPLY_RATE_PER_MINUTE", 5, 1),
        resident_reply_rate_per_hour=_int(env, "BEATLINE_RESIDENT_REPLY_RATE_PER_HOUR", 30, 1),
        **_rate_settings(env),
        access_log_retention_days=_int(env, "BEATLINE_ACCESS_LOG_RETENTION_DAYS", 2190, 1),
        audit_archive_bucket=_opt(env, "BEATLINE_AUDIT_ARCHIVE_BUCKET"),
        dashboard_client_id=env.get("BEATLINE_DASHBOARD_CLIENT_ID", "beatline-dashboard").strip(),
        staff_client_ids=tuple(c.strip() for c in env.get("BEATLINE_STAFF_CLIENT_IDS", "").split(",") if c.strip()),
        dashboard_scope=env.get("BEATLINE_DASHBOARD_SCOPE", "openid").strip(),
        map_tile_url=env.get("BEATLINE_MAP_TILE_URL", "").strip(),
        map_tile_attribution=env.get("BEATLINE_MAP_TILE_ATTRIBUTION", "").strip()[:300],
        response_standard_hours=_int(env, "BEATLINE_RESPONSE_STANDARD_HOURS", 72, 1),
        claim_minutes=_int(env, "BEATLINE_CLAIM_MINUTES", 30, 1),
        staff_device_days=_int(env, "BEATLINE_STAFF_DEVICE_DAYS", 60, 1),
        force_id=env.get("BEATLINE_FORCE_ID", "beatline").strip(),
        force_name=env.get("BEATLINE_FORCE_NAME", "Beatline Police").strip()[:120],
        force_url=_opt(env, "BEATLINE_FORCE_URL"),
        force_telephone=env.get("BEATLINE_FORCE_TELEPHONE", "101").strip()[:32],
        force_description=env.get("BEATLINE_FORCE_DESCRIPTION", "").strip()[:2000],
        emergency_number=_phone(env, "BEATLINE_EMERGENCY_NUMBER", "999"),
        non_emergency_number=_phone(env, "BEATLINE_NON_EMERGENCY_NUMBER", "101"),
        export_queue_name=env.get("BEATLINE_EXPORT_QUEUE_NAME", f"beatline-{stage}-exports"),
        export_queue_url=_opt(env, "BEATLINE_EXPORT_QUEUE_URL"),
        pulse_queue_name=env.get("BEATLINE_PULSE_QUEUE_NAME", f"beatline-{stage}-pulses"),
        pulse_queue_url=_opt(env, "BEATLINE_PULSE_QUEUE_URL"),
        export_bucket=_opt(env, "BEATLINE_EXPORT_BUCKET"),
        export_dir=env.get("BEATLINE_EXPORT_DIR", ".local/exports").strip() or ".local/exports",
        export_link_seconds=_int(env, "BEATLINE_EXPORT_LINK_SECONDS", 900, 60),
        export_rate_per_hour=_int(env, "BEATLINE_EXPORT_RATE_PER_HOUR", 5, 1),
        export_rate_per_day=_int(env, "BEATLINE_EXPORT_RATE_PER_DAY", 20, 1),
    )
    settings = replace(settings, **_sms_settings(env, stage))
    _validate(settings)
    return settings


SMS_SERVICES = ("sns", "none")
SMS_INTS = {"sms_segment_budget": 2, "sms_per_alert_ceiling": 5000, "sms_per_day_ceiling": 20000,
            "sms_codes_per_hour": 3, "sms_codes_per_day": 6}


def _sms_settings(env: Mapping[str, str], stage: str) -> dict[str, Any]:
    """BEATLINE_SMS_*: the service, numbers, threshold, keywords, ceilings and code limits."""
    from chalicelib.domain.alerts import SEVERITY_RANK
    from chalicelib.domain.sms import DEFAULT_STOP_KEYWORDS, E164, MAX_SEGMENTS, parse_keywords

    values: dict[str, Any] = {name: _int(env, "BEATLINE_" + name.upper(), default, 1) for name, default in SMS_INTS.items()}
    if values["sms_segment_budget"] > MAX_SEGMENTS:
        raise SettingsError(f"BEATLINE_SMS_SEGMENT_BUDGET must be at most {MAX_SEGMENTS}")
    values["sms_service"] = env.get("BEATLINE_SMS_SERVICE", "none").strip().lower()
    if values["sms_service"] not in SMS_SERVICES:
        raise SettingsError(f"BEATLINE_SMS_SERVICE must be one of {', '.join(SMS_SERVICES)}")
    values["sms_min_severity"] = env.get("BEATLINE_SMS_MIN_SEVERITY", "Severe").strip()
    if values["sms_min_severity"] not in SEVERITY_RANK:
        raise SettingsError(f"BEATLINE_SMS_MIN_SEVERITY must be one of {', '.join(SEVERITY_RANK)}")
    try:
        values["sms_stop_keywords"] = parse_keywords(env.get("BEATLINE_SMS_STOP_KEYWORDS", "") or ",".join(DEFAULT_STOP_KEYWORDS))
    except ValueError as exc:
        raise SettingsError(f"BEATLINE_SMS_STOP_KEYWORDS: {exc}") from None
    values["sms_origination_number"] = _opt(env, "BEATLINE_SMS_ORIGINATION_NUMBER")
    if values["sms_origination_number"] and not E164.fullmatch(values["sms_origination_number"]):
        raise SettingsError("BEATLINE_SMS_ORIGINATION_NUMBER must be an E.164 number")
    values["sms_sender_id"] = _opt(env, "BEATLINE_SMS_SENDER_ID")
    values["sms_inbound_topic"] = env.get("BEATLINE_SMS_INBOUND_TOPIC", f"beatline-{stage}-sms-inbound").strip()
    values["sms_queue_name"] = env.get("BEATLINE_SMS_QUEUE_NAME", f"beatline-{stage}-sms").strip()
    values["sms_queue_url"] = _opt(env, "BEATLINE_SMS_QUEUE_URL")
    return values


def _validate(settings: Settings) -> None:
    """What no single variable's parser can check: values against each other and fixed lists."""
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError(f"BEATLINE_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    _check_tile_url(settings.map_tile_url)
    _check_force_id(settings.force_id)
    if len(settings.table_name("x")) < 3:
        raise SettingsError("table names must be 3+ characters; set BEATLINE_TABLE_PREFIX")


SETTINGS: Settings = load_settings()
