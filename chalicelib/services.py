"""The long-lived dependencies of a warm Lambda, built once and replaceable in tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from chalicelib.auth.principal import RESIDENT_ROLES, STAFF_ROLES
from chalicelib.auth.tokens import IssuerPolicy, JwksFile, JwksUrl, KeySource, TokenVerifier
from chalicelib.clock import Clock, system_clock
from chalicelib.domain.contacts import ContactRules
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.pseudonyms import Pseudonymizer
from chalicelib.notify.egress import EgressGuard, Resolver, system_resolver
from chalicelib.secrets import load_secret
from chalicelib.settings import Settings


@dataclass
class Services:
    settings: Settings
    clock: Clock
    verifier: TokenVerifier
    pseudonyms: Pseudonymizer
    cursors: CursorCodec
    contact_rules: ContactRules
    # Residents' alerts. `resident_tokens` signs resident JWTs (None: no key configured);
    # `fanout` is the queue interface (SQS or in-process); channels are built on first use.
    resident_tokens: Any = None
    fanout: Any = None
    channels_override: Mapping[str, Any] | None = None
    # Checks push endpoints (SSRF) at registration and, through the channels, at send time.
    push_guard: EgressGuard = field(default_factory=EgressGuard)
    _channels: Mapping[str, Any] | None = field(default=None, repr=False)
    # (shape, H3 resolution) -> cells; injectable so tests can prove a refused shape is never covered.
    coverer: Callable[[Any, int], set[str]] | None = None

    def cover(self, shape: Any, resolution: int) -> set[str]:
        """The H3 cells that may overlap `shape` (callers check its cost first: check_cover_cost)."""
        if self.coverer is not None:
            return self.coverer(shape, resolution)
        from chalicelib.domain.geometry import covering_cells

        return covering_cells(shape, resolution)

    def push_channels(self) -> Mapping[str, Any]:
        """type -> Channel; the real ones are imported only when the worker first needs them."""
        if self.channels_override is not None:
            return self.channels_override
        if self._channels is None:
            from chalicelib.notify.wiring import build_channels

            self._channels = build_channels(self.settings, guard=self.push_guard)
        return self._channels


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
    resident_tokens: Any = None,
    channels: Mapping[str, Any] | None = None,
    fanout_queue: Any = None,
    push_resolver: Resolver = system_resolver,
    coverer: Callable[[Any, int], set[str]] | None = None,
) -> Services:
    policies = [
        IssuerPolicy(
            issuer=settings.staff_issuer,
            audience=settings.staff_audience,
            algorithms=settings.staff_algorithms,
            keys=staff_keys or staff_key_source(settings),
            allowed_roles=STAFF_ROLES,
            kind="staff",
            max_lifetime_seconds=settings.staff_token_max_lifetime_seconds,
        )
    ]
    if resident_tokens is None:
        from chalicelib.auth.resident import resident_tokens_from_settings

        resident_tokens = resident_tokens_from_settings(settings)
    if resident_policy is None and resident_tokens is not None:
        resident_policy = resident_tokens.policy()
    if resident_policy is not None:
        assert resident_policy.allowed_roles <= RESIDENT_ROLES  # noqa: S101 - programming error
        policies.append(resident_policy)
    key = pseudonym_key or load_secret(
        file=settings.pseudonym_key_file,
        secret_arn=settings.pseudonym_key_secret_arn,
        name="pseudonym key",
    )
    pseudonyms = Pseudonymizer(key)
    from chalicelib.store.bootstrap import bind_store

    bind_store(settings)
    built = Services(
        settings=settings,
        clock=clock,
        verifier=TokenVerifier(policies, leeway_seconds=settings.token_leeway_seconds),
        pseudonyms=pseudonyms,
        cursors=CursorCodec(pseudonyms.subkey("cursor-aead")),
        contact_rules=ContactRules(
            max_age=timedelta(days=settings.contact_max_age_days),
            future_skew=timedelta(seconds=settings.future_skew_seconds),
            retention=timedelta(days=settings.contact_retention_days),
        ),
        resident_tokens=resident_tokens,
        channels_override=channels,
        push_guard=EgressGuard(resolver=push_resolver),
        coverer=coverer,
    )
    if fanout_queue is None:
        from chalicelib.notify.wiring import build_queue

        fanout_queue = build_queue(settings, lambda: built)
    built.fanout = fanout_queue
    return built


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
