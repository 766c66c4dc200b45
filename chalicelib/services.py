"""The one bootstrap: every long-lived dependency of a warm Lambda, built from `Settings` by
`build_services` and replaceable in tests (keyword arguments, `services_override`).

Use cases get storage (`store`), queue (`fanout`), channels, the SNS endpoint registrar, secrets
(VAPID key) and the clock from `Services`; the adapters (chalicelib/store, chalicelib/notify) are
imported here, lazily where they are heavy, and bound to the settings here (`bind_store`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.auth.principal import RESIDENT_ROLES, STAFF_ROLES
from chalicelib.auth.tokens import IssuerPolicy, JwksFile, JwksUrl, KeySource, TokenVerifier
from chalicelib.clock import Clock, system_clock
from chalicelib.domain.contacts import ContactRules
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.pseudonyms import Pseudonymizer
from chalicelib.notify.egress import EgressGuard, Resolver, system_resolver
from chalicelib.ports import (
    Channel,
    ConfirmationSender,
    ConversationStore,
    EndpointRegistrar,
    ExportQueue,
    ExportSink,
    FanoutQueue,
    Mailbox,
    PulseQueue,
    QueueMessage,
    QueueUnavailable,
    Repositories,
    SmsQueue,
    SmsSender,
)
from chalicelib.secrets import load_secret, load_text_secret
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.auth.resident import ResidentTokens
    from chalicelib.domain.exports import ExportStep
    from chalicelib.domain.pulses import PulseStep
    from chalicelib.domain.shapes import Shape
    from chalicelib.domain.sms import SmsJob
    from chalicelib.notify.job_queue import Job, LocalJobQueue, SqsJobQueue
    from chalicelib.usecases.conversation_push import AnswerPusher
    from chalicelib.usecases.export_worker import ExportWorker
    from chalicelib.usecases.fanout import FanoutWorker
    from chalicelib.usecases.notice_push import NoticePusher
    from chalicelib.usecases.pulse_worker import PulseWorker
    from chalicelib.usecases.push import PushSender
    from chalicelib.usecases.push_worker import PushWorker
    from chalicelib.usecases.sms_alerts import AlertTexts, SmsJobs


def dynamodb_repositories() -> Repositories:
    from chalicelib.store import (
        access_log,
        alert_history,
        alerts,
        areas,
        contact_stream,
        contacts,
        conversation_stream,
        deliveries,
        engagement,
        health,
        history,
        meetings,
        priorities,
        ratelimit,
        rating_stream,
        recount,
        sms,
        staff,
        subscribers,
        team_queue,
        teams,
        trust,
        words,
    )
    from chalicelib.store.conversations import ConversationRepository

    return Repositories(
        contacts=contacts, areas=areas, alerts=alerts, deliveries=deliveries, subscribers=subscribers,
        words=words, access_log=access_log, alert_history=alert_history, engagement=engagement,
        history=history, ratelimit=ratelimit, health=health, conversations=ConversationRepository(),
        team_queue=team_queue, staff=staff,
        teams=teams, priorities=priorities, meetings=meetings, trust=trust, sms=sms, contact_stream=contact_stream,
        recount=recount,
        conversation_stream=conversation_stream, rating_stream=rating_stream,
    )


def _sns_endpoints(region: str | None) -> EndpointRegistrar:
    from chalicelib.notify.sns import SnsEndpoints

    return SnsEndpoints(region)


def _push_subscription_problem(subscription: dict[str, Any]) -> str | None:
    from chalicelib.notify.webpush import subscription_problem  # no pywebpush import

    return subscription_problem(subscription)


class _Unwired:
    """The queue of Services built by hand without one (build_services always wires one)."""

    def enqueue(self, messages: Sequence[QueueMessage]) -> None:
        raise QueueUnavailable("no fan-out queue wired")


class _UnwiredExports:
    def send(self, step: ExportStep) -> None:
        raise QueueUnavailable("no export queue wired")


class _UnwiredSms:
    def send(self, job: SmsJob) -> None:
        raise QueueUnavailable("no sms queue wired")


class _UnwiredPulses:
    def send(self, step: PulseStep) -> None:
        raise QueueUnavailable("no pulse queue wired")


def export_sink_from_settings(settings: Settings) -> ExportSink:
    """S3 when a bucket is configured (AWS), else the local folder."""
    if settings.export_bucket:
        import boto3

        from chalicelib.store.export_files import S3ExportSink

        return S3ExportSink(boto3.client("s3", region_name=settings.region), settings.export_bucket,
                            link_seconds=settings.export_link_seconds)
    from chalicelib.store.export_files import FolderExportSink

    return FolderExportSink(settings.export_dir)


@dataclass
class Services:
    settings: Settings
    clock: Clock
    contact_rules: ContactRules
    # Secret-backed parts are loaded on first use (`pseudonyms`, `cursors`, `resident_tokens`,
    # `verifier` below): the worker, housekeeping and the conversation clock never use them, so
    # those functions never read the pseudonym or resident key and their roles hold no grant on them.
    pseudonym_key_source: Callable[[], bytes]
    resident_tokens_source: Callable[[], ResidentTokens | None]
    verifier_source: Callable[[ResidentTokens | None], TokenVerifier]
    # `fanout` is the queue interface (SQS or in-process); channels are built on first use.
    fanout: FanoutQueue = field(default_factory=lambda: _Unwired())
    channels_override: Mapping[str, Channel] | None = None
    # Checks push endpoints (SSRF) at registration and, through the channels, at send time.
    push_guard: EgressGuard = field(default_factory=EgressGuard)
    _channels: Mapping[str, Channel] | None = field(default=None, repr=False)
    # (shape, H3 resolution) -> cells; injectable so tests can prove a refused shape is never covered.
    coverer: Callable[[Shape, int], set[str]] | None = None
    store: Repositories = field(default_factory=dynamodb_repositories)
    sns_endpoints: EndpointRegistrar = field(default_factory=lambda: _sns_endpoints(None))
    # Why a Web Push subscription cannot be encrypted to (None: usable).
    push_subscription_problem: Callable[[dict[str, Any]], str | None] = _push_subscription_problem
    _vapid_key: str | None = field(default=None, repr=False)
    # Contact channel type -> what sends its confirmation (docs/channels.md); built on first use.
    confirmation_senders_override: Mapping[str, ConfirmationSender] | None = None
    mailbox_override: Mailbox | None = None  # inbound email (S3); tests inject moto's
    _confirmation_senders: Mapping[str, ConfirmationSender] | None = field(default=None, repr=False)
    sms_sender_override: SmsSender | None = None

    @cached_property
    def sms_sender(self) -> SmsSender:
        """Texts (SNS Publish to a phone number; notify/sms.py), built on first use."""
        if self.sms_sender_override is not None:
            return self.sms_sender_override
        from chalicelib.notify.sms import build_sms_sender

        settings = self.settings
        return build_sms_sender(settings.sms_service, settings.region, origination_number=settings.sms_origination_number,
                                sender_id=settings.sms_sender_id)
    # Bulk exports: where jobs and files go (built on first use) and the export worker's queue.
    export_sink: ExportSink | None = None
    export_queue: ExportQueue = field(default_factory=lambda: _UnwiredExports())
    # Alert texts: the push worker queues one job per text here; the sms_sender function sends them.
    sms_queue: SmsQueue = field(default_factory=lambda: _UnwiredSms())
    pulse_queue: PulseQueue = field(default_factory=lambda: _UnwiredPulses())  # the pulse worker's steps

    @cached_property
    def exports(self) -> ExportSink:
        return self.export_sink if self.export_sink is not None else export_sink_from_settings(self.settings)

    @cached_property
    def pseudonyms(self) -> Pseudonymizer:
        return Pseudonymizer(self.pseudonym_key_source())

    @cached_property
    def cursors(self) -> CursorCodec:
        return CursorCodec(self.pseudonyms.subkey("cursor-aead"))

    @cached_property
    def resident_tokens(self) -> ResidentTokens | None:
        """Signs resident JWTs (None: no key configured)."""
        return self.resident_tokens_source()

    @cached_property
    def verifier(self) -> TokenVerifier:
        return self.verifier_source(self.resident_tokens)

    @cached_property
    def push_sender(self) -> PushSender:
        """The one sender every push path shares: channels (built on first send), clock, base URL."""
        from chalicelib.usecases.push import PushSender

        return PushSender(channels=self.push_channels, clock=self.clock, base_url=self.settings.public_base_url)

    def fanout_worker(self) -> FanoutWorker:
        """The alert fan-out use case on these services (its queue takes continuation messages)."""
        from chalicelib.usecases.fanout import FanoutWorker

        return FanoutWorker(sender=self.push_sender, queue=lambda: self.fanout,
                            threads=self.settings.fanout_threads, store=self.store)

    def answer_pusher(self) -> AnswerPusher:
        """The push of team answers in conversations."""
        from chalicelib.usecases.conversation_push import AnswerPusher

        return AnswerPusher(sender=self.push_sender, store=self.store)

    def notice_pusher(self) -> NoticePusher:
        """The push of notices ("you said, we did", meeting reminders)."""
        from chalicelib.usecases.notice_push import NoticePusher

        return NoticePusher(sender=self.push_sender, store=self.store)

    def export_worker(self, rows_per_part: int | None = None) -> ExportWorker:
        """The bulk export worker on these services (one step per queue message)."""
        from chalicelib.domain.exports import ROWS_PER_PART
        from chalicelib.usecases.export_worker import ExportWorker

        return ExportWorker(sink=self.exports, queue=lambda: self.export_queue, history_rows=self.store.history,
                            pseudonyms=lambda: self.pseudonyms, clock=self.clock,
                            rows_per_part=rows_per_part or ROWS_PER_PART)

    def pulse_worker(self, page_size: int | None = None, budget: int | None = None) -> PulseWorker:
        """The confidence pulse's delivery worker on these services (one step per queue message)."""
        from chalicelib.domain.pulses import ENTRIES_PER_STEP, INDEX_PAGE
        from chalicelib.usecases.pulse_worker import PulseWorker

        return PulseWorker(store=self.store, sample_key=lambda: self.pseudonyms.subkey("pulse-sample"),
                           cover=self.cover, pushes=lambda: self.fanout, queue=lambda: self.pulse_queue,
                           clock=self.clock, page_size=page_size or INDEX_PAGE, budget=budget or ENTRIES_PER_STEP)

    def push_worker(self) -> PushWorker:
        """The push queue's worker (dispatches by message type) and the release of held pushes."""
        from chalicelib.usecases.push_worker import PushWorker

        return PushWorker(alerts=self.fanout_worker(), answers=self.answer_pusher(), notices=self.notice_pusher(),
                          sender=self.push_sender, store=self.store)

    def vapid_public_key(self) -> str | None:
        """The browsers' `applicationServerKey` (None: Web Push not configured); read once."""
        if self._vapid_key is None:
            pem = self.vapid_private_key()
            if pem is None:
                return None
            from chalicelib.notify.webpush import vapid_public_key_b64  # pywebpush is not imported by this

            self._vapid_key = vapid_public_key_b64(pem)
        return self._vapid_key

    def vapid_private_key(self) -> str | None:
        settings = self.settings
        if not (settings.vapid_private_key_file or settings.vapid_private_key_secret_arn):
            return None
        return load_text_secret(file=settings.vapid_private_key_file,
                                secret_arn=settings.vapid_private_key_secret_arn, name="VAPID key")

    def cover(self, shape: Shape, resolution: int) -> set[str]:
        """The H3 cells that may overlap `shape` (callers check its cost first: check_cover_cost)."""
        if self.coverer is not None:
            return self.coverer(shape, resolution)
        from chalicelib.domain.geometry import covering_cells

        return covering_cells(shape, resolution)

    def confirmation_senders(self) -> Mapping[str, ConfirmationSender]:
        """type -> ConfirmationSender for contact channels (email, sms); a type missing here is not
        configured on this stage (adding such a channel is a 503)."""
        if self.confirmation_senders_override is not None:
            return self.confirmation_senders_override
        if self._confirmation_senders is None:
            from chalicelib.notify.wiring import build_confirmation_senders

            self._confirmation_senders = build_confirmation_senders(self.settings)
        return self._confirmation_senders

    def mailbox(self) -> Mailbox:
        """Inbound email as SES receiving stored it (S3; boto3 imported here only)."""
        if self.mailbox_override is not None:
            return self.mailbox_override
        from chalicelib.notify.inbound_mail import S3Mailbox

        return S3Mailbox.from_settings(self.settings)

    def push_channels(self) -> Mapping[str, Channel]:
        """type -> Channel; the real ones are imported only when the worker first needs them. The
        `sms` channel queues jobs for the sms_sender function (`sms_jobs`): the push worker sends no text."""
        if self.channels_override is not None:
            return self.channels_override if "sms" in self.channels_override else {
                **self.channels_override, "sms": self.sms_jobs}
        if self._channels is None:
            from chalicelib.notify.wiring import build_channels

            built = build_channels(self.settings, vapid_pem=self.vapid_private_key(), guard=self.push_guard)
            self._channels = {**built, "sms": self.sms_jobs}
        return self._channels

    @cached_property
    def sms_jobs(self) -> SmsJobs:
        """The push worker's `sms` channel: one job per text on `sms_queue` (usecases/sms_alerts.py)."""
        from chalicelib.usecases.sms_alerts import SmsJobs

        return SmsJobs(queue=lambda: self.sms_queue, settings=self.settings)

    @cached_property
    def alert_texts(self) -> AlertTexts:
        """The sms_sender function's use case: SMS rules (usecases/sms_alerts.py) in front of the SMS service."""
        from chalicelib.usecases.sms_alerts import AlertTexts

        return AlertTexts(store=self.store, sender=lambda: self.sms_sender, settings=self.settings, clock=self.clock)


def staff_key_source(settings: Settings) -> KeySource:
    if settings.staff_jwks_url:
        return JwksUrl(settings.staff_jwks_url)
    if settings.staff_jwks_file:
        return JwksFile(settings.staff_jwks_file)
    raise RuntimeError("set BEATLINE_STAFF_JWKS_URL (AWS) or BEATLINE_STAFF_JWKS_FILE (local)")


def build_services(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    staff_keys: KeySource | None = None,
    resident_policy: IssuerPolicy | None = None,
    pseudonym_key: bytes | None = None,
    resident_tokens: ResidentTokens | None = None,
    channels: Mapping[str, Channel] | None = None,
    fanout_queue: FanoutQueue | None = None,
    store: Repositories | None = None,
    sns_endpoints: EndpointRegistrar | None = None,
    push_resolver: Resolver = system_resolver,
    conversations: ConversationStore | None = None,
    coverer: Callable[[Shape, int], set[str]] | None = None,
    confirmation_senders: Mapping[str, ConfirmationSender] | None = None,
    sms_sender: SmsSender | None = None,
    export_sink: ExportSink | None = None,
    export_queue: ExportQueue | None = None,
    sms_queue: SmsQueue | None = None,
    pulse_queue: PulseQueue | None = None,
    mailbox: Mailbox | None = None,
) -> Services:
    staff_policy = IssuerPolicy(
        issuer=settings.staff_issuer,
        audience=settings.staff_audience,
        algorithms=settings.staff_algorithms,
        keys=staff_keys or staff_key_source(settings),
        allowed_roles=STAFF_ROLES,
        kind="staff",
        max_lifetime_seconds=settings.staff_token_max_lifetime_seconds,
        rank_claim=settings.staff_rank_claim,
        rank_group_prefix=settings.staff_rank_group_prefix,
        access_tokens_only=True,
        client_ids=frozenset(settings.staff_client_ids),
    )

    def load_resident_tokens() -> ResidentTokens | None:
        if resident_tokens is not None:
            return resident_tokens
        from chalicelib.auth.resident import resident_tokens_from_settings

        return resident_tokens_from_settings(settings)

    def build_verifier(tokens: ResidentTokens | None) -> TokenVerifier:
        policies = [staff_policy]
        policy = resident_policy if resident_policy is not None else (tokens.policy() if tokens is not None else None)
        if policy is not None:
            assert policy.allowed_roles <= RESIDENT_ROLES  # noqa: S101 - programming error
            policies.append(policy)
        return TokenVerifier(policies, leeway_seconds=settings.token_leeway_seconds)

    def load_pseudonym_key() -> bytes:
        return pseudonym_key or load_secret(
            file=settings.pseudonym_key_file, secret_arn=settings.pseudonym_key_secret_arn, name="pseudonym key")

    if store is None:  # the DynamoDB adapters: bound to this stage's tables (PynamoDB imported here only)
        from chalicelib.store.bootstrap import bind_store

        bind_store(settings)
        store = dynamodb_repositories()
    repositories = store
    if conversations is not None:  # one handle per store: svc.store.conversations
        repositories = replace(repositories, conversations=conversations)
    built = Services(
        settings=settings,
        clock=clock,
        pseudonym_key_source=load_pseudonym_key,
        resident_tokens_source=load_resident_tokens,
        verifier_source=build_verifier,
        contact_rules=ContactRules(
            max_age=timedelta(days=settings.contact_max_age_days),
            future_skew=timedelta(seconds=settings.future_skew_seconds),
            retention=timedelta(days=settings.contact_retention_days),
        ),
        channels_override=channels,
        confirmation_senders_override=confirmation_senders,
        mailbox_override=mailbox,
        push_guard=EgressGuard(resolver=push_resolver),
        coverer=coverer,
        store=repositories,
        sns_endpoints=sns_endpoints or _sns_endpoints(settings.region),
        sms_sender_override=sms_sender,
        export_sink=export_sink,
    )
    if fanout_queue is None:
        from chalicelib.notify.wiring import build_queue

        def process(message: QueueMessage) -> bool:
            return built.push_worker().process(message)

        fanout_queue = build_queue(settings, process)
    built.fanout = fanout_queue
    built.export_queue = export_queue or _export_queue(settings, built)
    built.sms_queue = sms_queue or _sms_queue(settings, built)
    built.pulse_queue = pulse_queue or _pulse_queue(settings, built)
    return built


def _job_queue(settings: Settings, queue_url: str | None, job_type: type[Job], process: Callable[[Job], object],
               *, name: str, retries: int = 0) -> SqsJobQueue[Job] | LocalJobQueue[Job]:
    """SQS when the worker's queue URL is configured (AWS), else in-process (each job runs the use case)."""
    from chalicelib.notify.job_queue import LocalJobQueue, SqsJobQueue

    if queue_url:
        def client() -> Any:
            import boto3

            return boto3.client("sqs", region_name=settings.region)

        return SqsJobQueue(client, queue_url, what=f"{name} job")
    return LocalJobQueue(process, job_type, name=name, asynchronous=settings.fanout_async, retries=retries)


def _export_queue(settings: Settings, built: Services) -> ExportQueue:
    from chalicelib.domain.exports import ExportStep

    return _job_queue(settings, settings.export_queue_url, ExportStep,
                      lambda step: built.export_worker().run_step(step), name="exports")


def _sms_queue(settings: Settings, built: Services) -> SmsQueue:
    """An unfinished text (a transient failure) runs again locally, as SQS would redeliver it."""
    from chalicelib.domain.sms import SmsJob

    return _job_queue(settings, settings.sms_queue_url, SmsJob, lambda job: built.alert_texts.run(job),
                      name="sms", retries=3)


def _pulse_queue(settings: Settings, built: Services) -> PulseQueue:
    from chalicelib.domain.pulses import PulseStep

    return _job_queue(settings, settings.pulse_queue_url, PulseStep,
                      lambda step: built.pulse_worker().run_step(step), name="pulses")


_current: Services | None = None


def services() -> Services:
    """The process-wide services, built on first use from SETTINGS."""
    global _current
    if _current is None:
        from chalicelib.settings import SETTINGS

        _current = build_services(SETTINGS)
    return _current


def use_services(replacement: Services | None) -> None:
    """Install (or with None, forget) the services; tests inject clocks and keys this way."""
    global _current
    _current = replacement
