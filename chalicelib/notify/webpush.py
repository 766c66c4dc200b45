"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291).

Target: `{"type": "webpush", "subscription": {"endpoint": ..., "keys": {"p256dh": ..., "auth": ...}}}`
(the browser's PushSubscription as the subscriber registered it).

CAP is mapped onto the push protocol so the push service does the right thing for a phone that
is offline: `TTL` = seconds until the alert expires, `Urgency` from the CAP severity, and
`Topic` from the alert id, so an Update or Cancel replaces a push still queued for the device.

pywebpush (and requests/aiohttp, which it imports) cost ~260 ms to import: they are imported
when a WebPushChannel is created, which only the fan-out worker does. Importing this module
costs the standard library and `cryptography` (already loaded by PyJWT).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib.clock import Clock, system_clock
from chalicelib.notify.channels import SendOutcome
from chalicelib.notify.egress import (
    DestinationUnresolved,
    EgressGuard,
    EgressPolicy,
    UnsafeAddress,
)
from chalicelib.notify.payloads import PushNotification, push_key, push_severity, ttl_seconds, webpush_body
from chalicelib.ports import DestinationRefused

if TYPE_CHECKING:
    from chalicelib.notify.guarded_http import SlowHosts

URGENCY_BY_SEVERITY = {"Extreme": "high", "Severe": "high", "Moderate": "normal", "Minor": "low", "Unknown": "low"}
VAPID_TOKEN_LIFETIME = timedelta(hours=12)  # RFC 8292 allows <= 24 h; 12 h leaves room for clock skew
VAPID_RENEW_BEFORE = timedelta(hours=1)
DEFAULT_TIMEOUT = (3.05, 5.0)  # connect, each read (seconds): within the whole send's deadline
DEFAULT_SEND_DEADLINE = 5.0  # seconds for a whole send, whatever the push service does
_TOPIC_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_private_key(vapid_private_pem: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(vapid_private_pem.encode("ascii"), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("a VAPID key must be an EC P-256 private key")
    return key


def generate_vapid_private_pem() -> str:
    """A new VAPID key (EC P-256, PKCS#8 PEM), for local set-up and tests."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def vapid_public_key_b64(vapid_private_pem: str) -> str:
    """The browser's `applicationServerKey`: the uncompressed P-256 point, base64url, no padding."""
    from cryptography.hazmat.primitives import serialization

    public = _load_private_key(vapid_private_pem).public_key()
    return _b64url(public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


def push_topic(alert_id: str) -> str:
    """RFC 8030 Topic (<= 32 characters of the URL-safe base64 alphabet) for an alert.

    A UUID gives its 32 hex digits; other ids that already fit are used as they are; anything
    else becomes a 32-character digest. The same alert always maps to the same topic.
    """
    try:
        return uuid.UUID(alert_id).hex
    except ValueError:
        pass
    if 0 < len(alert_id) <= 32 and set(alert_id) <= _TOPIC_ALPHABET:
        return alert_id
    return _b64url(hashlib.sha256(alert_id.encode("utf-8")).digest()[:24])


def push_urgency(severity: str) -> str:
    """RFC 8030 Urgency for a CAP severity."""
    return URGENCY_BY_SEVERITY.get(severity, "low")


def push_origin(endpoint: str) -> str:
    """The endpoint's origin (VAPID `aud`): scheme://host[:port], default port omitted."""
    parts = urlsplit(endpoint)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port is None or (scheme, port) in (("https", 443), ("http", 80)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def subscription_problem(subscription: Any) -> str | None:
    """Why a PushSubscription cannot be encrypted to (None if its keys are usable)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(subscription, dict) or not isinstance(subscription.get("endpoint"), str):
        return "no endpoint"
    keys = subscription.get("keys")
    if not isinstance(keys, dict) or not isinstance(keys.get("p256dh"), str) or not isinstance(keys.get("auth"), str):
        return "no p256dh/auth keys"
    try:
        p256dh = _b64url_decode(keys["p256dh"])
        auth = _b64url_decode(keys["auth"])
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        return "p256dh is not a P-256 public key"
    if len(p256dh) != 65 or len(auth) != 16:
        return "p256dh must be 65 bytes and auth 16 bytes"
    return None


class VapidSigner:
    """VAPID `Authorization` headers, one JWT per push-service origin, reused until near expiry.

    Claims are built afresh for every origin: pywebpush's `webpush()` writes `aud` into the
    claims dict it is given, so a shared dict would carry the first origin's `aud` to others.
    """

    def __init__(self, vapid_private_pem: str, subject: str, clock: Clock) -> None:
        from py_vapid import Vapid02

        self._vapid = Vapid02(private_key=_load_private_key(vapid_private_pem))
        self._subject = subject
        self._clock = clock
        self._cache: dict[str, tuple[datetime, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def headers(self, origin: str) -> dict[str, str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(origin)
            if cached and cached[0] - now > VAPID_RENEW_BEFORE:
                return cached[1]
            expires = now + VAPID_TOKEN_LIFETIME
            claims = {"sub": self._subject, "aud": origin, "exp": int(expires.timestamp())}
            headers: dict[str, str] = self._vapid.sign(claims)
            self._cache[origin] = (expires, headers)
            return headers


def classify_status(status: int) -> SendOutcome:
    """RFC 8030 answers: 2xx accepted; 404/410 the subscription is gone; 429/5xx transient.

    Other 4xx (400 malformed, 413 too large, 401/403 VAPID refused) cannot be fixed by
    resending the same message: FAILED. 401/403 are not GONE: they also follow our own key or
    clock problems, which must not erase every subscriber. A 3xx is never followed (a push
    service does not redirect; following one would let the endpoint pick another target): FAILED.
    """
    if 200 <= status < 300:
        return SendOutcome.SENT
    if status in (404, 410):
        return SendOutcome.GONE
    if status == 429 or status >= 500 or status in (408, 425):
        return SendOutcome.RETRY
    return SendOutcome.FAILED


class WebPushChannel:
    """Channel for `{"type": "webpush", "subscription": {...}}` targets, via pywebpush.

    Requests go through a guarded session (chalicelib/notify/guarded_http.py): the endpoint is
    resolved and checked again at send time and the connection goes to the vetted address; no
    redirects. Refused at send time, nothing is connected: a name resolving to a refused address
    is FAILED (no retry; the subscription is kept, as a DNS answer can be wrong for a while), an
    endpoint the policy refuses by its form (scheme, port, IP literal, userinfo: stored before
    the check existed) is GONE, a name that does not resolve is RETRY (bounded by the worker's
    attempts and the alert's expiry).
    `allow_insecure_endpoints` (tests, benches) is EgressPolicy.local_testing(): plain http, any
    port and loopback addresses, never private, link-local or metadata addresses.
    """

    def __init__(self, vapid_private_pem: str, vapid_subject: str, *, clock: Clock = system_clock,
                 guard: EgressGuard | None = None, ca_certs: str | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 deadline: float = DEFAULT_SEND_DEADLINE, slow_hosts: SlowHosts | None = None,
                 allow_insecure_endpoints: bool = False) -> None:
        import requests
        from pywebpush import WebPusher

        from chalicelib.notify.guarded_http import SendDeadlineExceeded, SlowHosts, guarded_session

        if guard is not None and allow_insecure_endpoints:
            raise ValueError("pass a guard with its own policy, or allow_insecure_endpoints, not both")
        if guard is None:
            guard = EgressGuard(EgressPolicy.local_testing() if allow_insecure_endpoints else EgressPolicy())
        self._pusher_class = WebPusher
        self._request_errors = (requests.exceptions.RequestException,)
        self._deadline_errors = (SendDeadlineExceeded,)
        # Origins that ran into the deadline: their next sends are deferred to a retry unsent.
        self.slow_hosts = slow_hosts if slow_hosts is not None else SlowHosts()
        self._signer = VapidSigner(vapid_private_pem, vapid_subject, clock)
        self._clock = clock
        self.guard = guard
        # One pooled session: keep-alive connections to the few push services serve every send.
        self._session = guarded_session(guard, ca_certs=ca_certs, deadline=deadline)
        self._timeout = timeout

    def headers_for(self, notification: PushNotification) -> dict[str, str]:
        """Urgency and Topic (TTL is passed to pywebpush separately)."""
        return {"Urgency": push_urgency(push_severity(notification)), "Topic": push_topic(push_key(notification))}

    def send(self, target: dict[str, Any], notification: PushNotification) -> SendOutcome:
        subscription = target.get("subscription", target)
        if subscription_problem(subscription) is not None:
            return SendOutcome.GONE
        endpoint = subscription["endpoint"]
        refused = self._precheck(endpoint)
        if refused is not None:
            return refused
        try:
            body = webpush_body(notification)
        except ValueError:
            return SendOutcome.FAILED  # cannot fit a push message: no retry will change that
        origin = push_origin(endpoint)
        if self.slow_hosts.is_slow(origin):
            return SendOutcome.RETRY  # deferred: this host ran into the deadline just now
        headers = {**self.headers_for(notification), **self._signer.headers(origin)}
        ttl = ttl_seconds(notification.expires_at, self._clock())
        pusher = self._pusher_class(subscription, requests_session=self._session)
        try:
            response = pusher.send(body, headers, ttl=ttl, content_encoding="aes128gcm", timeout=self._timeout)
        except self._deadline_errors:
            self.slow_hosts.strike(origin)
            return SendOutcome.RETRY
        except DestinationUnresolved:
            return SendOutcome.RETRY
        except UnsafeAddress:
            return SendOutcome.FAILED
        except DestinationRefused:
            return SendOutcome.GONE
        except self._request_errors:
            return SendOutcome.RETRY
        return classify_status(response.status_code)

    def _precheck(self, endpoint: str) -> SendOutcome | None:
        """Refusals that need no DNS, before any signing or encryption (the transport checks again, resolving)."""
        try:
            self.guard.precheck(endpoint)
        except UnsafeAddress:
            return SendOutcome.FAILED
        except DestinationRefused:
            return SendOutcome.GONE  # its form can never be sent to (stored before the check existed)
        return None
