"""Web Push end to end against a real protocol peer.

A local HTTP server plays the push service (RFC 8030); the test holds the browser's keys, so it
decrypts what arrived (RFC 8291 aes128gcm, with http_ece) and verifies the VAPID JWT with the
application server's public key (RFC 8292, with PyJWT), as a browser and a push service would.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.clock import to_rfc3339
from chalicelib.notify.egress import EgressGuard, EgressPolicy
from chalicelib.notify.payloads import push_payload
from chalicelib.notify.webpush import (
    VapidSigner,
    WebPushChannel,
    generate_vapid_private_pem,
    push_topic,
    push_urgency,
    vapid_public_key_b64,
)
from chalicelib.ports import SendOutcome
from tests.alert_samples import ALERT_ID, notification
from tests.push_dns import StaticResolver

SUBJECT = "mailto:alerts@beatline.example"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """A push service: records each request (header names lower-cased), answers with the status set for its path (201)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.received: list[dict] = []
        self.status_by_path: dict[str, int] = {}
        self.location_by_path: dict[str, str] = {}
        self.connections = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                service.connections += 1
                super().setup()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                service.received.append({"path": self.path, "headers": headers, "body": body})
                self.send_response(service.status_by_path.get(self.path, 201))
                self.send_header("Location", service.location_by_path.get(self.path, f"/message/{len(service.received)}"))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # the handshake happens at accept; a failed one never reaches the handler
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.origin = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """The user agent's side of a subscription: its ECDH key pair and auth secret."""

    def __init__(self, endpoint: str) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        self.subscription = {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def target(self) -> dict:
        return {"type": "webpush", "subscription": self.subscription}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"))


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def service(push_service: PushService) -> PushService:
    push_service.received.clear()
    push_service.status_by_path.clear()
    push_service.location_by_path.clear()
    push_service.connections = 0
    return push_service


@pytest.fixture(scope="module")
def vapid_pem() -> str:
    return generate_vapid_private_pem()


@pytest.fixture(scope="module")
def channel(vapid_pem: str) -> WebPushChannel:
    return WebPushChannel(vapid_pem, SUBJECT, allow_insecure_endpoints=True)


def verify_vapid(authorization: str, origin: str, vapid_pem: str) -> dict:
    """RFC 8292 §3: `vapid t=<JWT>, k=<key>`; the JWT verifies with k, aud is the push origin."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == vapid_public_key_b64(vapid_pem)
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(fields["k"]))
    assert jwt.get_unverified_header(fields["t"])["alg"] == "ES256"
    return jwt.decode(fields["t"], public_key, algorithms=["ES256"], audience=origin,
                      options={"require": ["exp", "aud", "sub"]})


def test_push_arrives_encrypted_signed_and_mapped_from_cap(service, channel, vapid_pem) -> None:
    browser = Browser(f"{service.origin}/push/sub-1")
    now = datetime.now(UTC)
    note = notification(severity="Severe", expires_at=to_rfc3339(now + timedelta(hours=2)))
    assert channel.send(browser.target(), note) is SendOutcome.SENT

    (request,) = service.received
    headers = request["headers"]
    assert request["path"] == "/push/sub-1"
    assert headers["content-encoding"] == "aes128gcm"
    assert 7190 <= int(headers["ttl"]) <= 7200
    assert headers["urgency"] == "high"
    assert headers["topic"] == ALERT_ID.replace("-", "")
    assert len(request["body"]) <= 4096

    assert browser.decrypt(request["body"]) == push_payload(note)

    claims = verify_vapid(headers["authorization"], service.origin, vapid_pem)
    assert claims["sub"] == SUBJECT
    assert now.timestamp() < claims["exp"] <= (now + timedelta(hours=24)).timestamp()


def test_update_and_cancel_share_the_alerts_topic(service, channel) -> None:
    browser = Browser(f"{service.origin}/push/sub-2")
    for msg_type in ("Alert", "Update", "Cancel"):
        assert channel.send(browser.target(), notification(msg_type=msg_type, expires_at=_in(hours=1))) is SendOutcome.SENT
    topics = {request["headers"]["topic"] for request in service.received}
    assert topics == {ALERT_ID.replace("-", "")}
    assert [browser.decrypt(r["body"])["msgType"] for r in service.received] == ["Alert", "Update", "Cancel"]


def test_each_push_origin_gets_its_own_audience(service, channel, vapid_pem) -> None:
    # Same server under two origins: pywebpush's webpush() would keep the first `aud` in a
    # reused claims dict; each JWT must name the origin it is sent to.
    origins = [service.origin, f"http://localhost:{service.port}"]
    for origin in origins:
        assert channel.send(Browser(f"{origin}/push/sub-3").target(), notification(expires_at=_in(hours=1))) is SendOutcome.SENT
    audiences = [verify_vapid(r["headers"]["authorization"], origin, vapid_pem)["aud"]
                 for r, origin in zip(service.received, origins, strict=True)]
    assert audiences == origins


def _in(**delta: float) -> str:
    return to_rfc3339(datetime.now(UTC) + timedelta(**delta))


@pytest.mark.parametrize(("severity", "urgency"), [
    ("Extreme", "high"), ("Severe", "high"), ("Moderate", "normal"), ("Minor", "low"), ("Unknown", "low")])
def test_urgency_follows_severity(service, channel, severity: str, urgency: str) -> None:
    assert push_urgency(severity) == urgency
    channel.send(Browser(f"{service.origin}/push/u").target(), notification(severity=severity, expires_at=_in(hours=1)))
    assert service.received[-1]["headers"]["urgency"] == urgency


def test_expired_alert_is_sent_with_ttl_zero(service, channel) -> None:
    channel.send(Browser(f"{service.origin}/push/late").target(), notification(expires_at=_in(minutes=-5)))
    assert service.received[-1]["headers"]["ttl"] == "0"


@pytest.mark.parametrize(("status", "outcome"), [
    (201, SendOutcome.SENT), (202, SendOutcome.SENT), (410, SendOutcome.GONE), (404, SendOutcome.GONE),
    (429, SendOutcome.RETRY), (500, SendOutcome.RETRY), (503, SendOutcome.RETRY),
    (400, SendOutcome.FAILED), (413, SendOutcome.FAILED), (403, SendOutcome.FAILED)])
def test_push_service_answers_map_to_outcomes(service, channel, status: int, outcome: SendOutcome) -> None:
    service.status_by_path["/push/answer"] = status
    browser = Browser(f"{service.origin}/push/answer")
    assert channel.send(browser.target(), notification(expires_at=_in(hours=1))) is outcome
    assert len(service.received) == 1


def test_unreachable_push_service_is_retry(channel) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = channel.send(Browser(f"http://127.0.0.1:{port}/push/x").target(), notification(expires_at=_in(hours=1)))
    assert outcome is SendOutcome.RETRY


def test_unusable_subscriptions_are_gone_without_a_request(service, channel, vapid_pem) -> None:
    good = Browser(f"{service.origin}/push/keys")
    bad_key = {**good.subscription, "keys": {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": good.subscription["keys"]["auth"]}}
    short_auth = {**good.subscription, "keys": {**good.subscription["keys"], "auth": b64url(b"123")}}
    for subscription in (bad_key, short_auth, {"endpoint": good.subscription["endpoint"]}, {"keys": {}}):
        assert channel.send({"type": "webpush", "subscription": subscription}, notification()) is SendOutcome.GONE
    strict = WebPushChannel(vapid_pem, SUBJECT)  # production setting: no plain-http endpoints, no IP literals
    assert strict.send(good.target(), notification()) is SendOutcome.GONE
    assert service.received == []


def test_message_that_cannot_fit_fails_without_a_request(service, channel) -> None:
    browser = Browser(f"{service.origin}/push/big")
    assert channel.send(browser.target(), notification(extra={"blob": "x" * 5000})) is SendOutcome.FAILED
    assert service.received == []


@pytest.mark.parametrize(("endpoint", "allowed"), [
    ("https://fcm.googleapis.com/fcm/send/abc", True), ("https://updates.push.services.mozilla.com/wpush/v2/x", True),
    ("http://fcm.googleapis.com/fcm/send/abc", False), ("https://169.254.169.254/latest/meta-data", False),
    ("https://10.0.0.7/push", False), ("https://[::1]/push", False), ("https://localhost/push", False),
    ("ftp://push.example/x", False), ("https://push.example:99999/x", False), ("not a url", False)])
def test_endpoint_check_refuses_non_public_targets(endpoint: str, allowed: bool) -> None:
    public = StaticResolver({"fcm.googleapis.com": ["142.250.180.10"], "updates.push.services.mozilla.com": ["34.117.65.55"]})
    assert (EgressGuard(resolver=public).problem(endpoint) is None) is allowed


def test_topic_is_at_most_32_url_safe_characters() -> None:
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert push_topic(ALERT_ID) == ALERT_ID.replace("-", "")
    assert push_topic("alert-42") == "alert-42"
    for alert_id in ("x" * 33, "alert 42/with spaces", "\u00e9t\u00e9"):
        topic = push_topic(alert_id)
        assert len(topic) <= 32 and set(topic) <= alphabet
        assert topic == push_topic(alert_id) != push_topic(alert_id + "!")


def test_vapid_tokens_are_reused_per_origin_and_renewed_before_expiry(vapid_pem) -> None:
    now = [datetime(2026, 11, 24, 9, 0, tzinfo=UTC)]
    signer = VapidSigner(vapid_pem, SUBJECT, lambda: now[0])
    first = signer.headers("https://push.example")
    assert signer.headers("https://push.example") is first
    assert signer.headers("https://other.example") != first
    now[0] += timedelta(hours=10, minutes=30)
    assert signer.headers("https://push.example") is first  # 1.5 h left: still good
    now[0] += timedelta(minutes=45)
    renewed = signer.headers("https://push.example")
    assert renewed != first
    token = renewed["Authorization"].split("t=")[1].split(",")[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] == int((now[0] + timedelta(hours=12)).timestamp())


def test_application_server_key_is_the_uncompressed_public_point(vapid_pem) -> None:
    key = b64url_decode(vapid_public_key_b64(vapid_pem))
    assert len(key) == 65 and key[0] == 4
    private = serialization.load_pem_private_key(vapid_pem.encode(), password=None)
    assert key == private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    other_curve = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(ValueError, match="P-256"):
        vapid_public_key_b64(other_curve)


def test_served_application_server_key_is_the_vapid_public_key(client, keys_dir):
    from chalicelib.notify.webpush import vapid_public_key_b64

    response = client.http.get("/v1/public/webpush-key")
    assert response.status_code == 200, response.body
    expected = vapid_public_key_b64((keys_dir / "vapid-es256.pem").read_text())
    assert response.json_body == {"application_server_key": expected}


# --- SSRF at send time: the guard resolves again, the socket goes to the vetted address, no redirects.

def named_channel(vapid_pem: str, table: dict[str, list[str]], policy: EgressPolicy, **kwargs) -> tuple[WebPushChannel, StaticResolver]:
    resolver = StaticResolver(table, suffix="")
    return WebPushChannel(vapid_pem, SUBJECT, guard=EgressGuard(policy, resolver=resolver), **kwargs), resolver


LOOPBACK_HTTP = EgressPolicy(schemes=frozenset({"http"}), ports=None, allow_loopback=True)  # a test-only policy
PUBLIC_HTTP = EgressPolicy(schemes=frozenset({"http"}), ports=None)  # production's address rules, plain http


def test_send_dials_the_vetted_address_and_names_the_push_service(service, vapid_pem) -> None:
    # `push.example` exists only in the injected table: a second resolution anywhere would fail.
    channel, resolver = named_channel(vapid_pem, {"push.example": ["127.0.0.1"]}, LOOPBACK_HTTP)
    browser = Browser(f"http://push.example:{service.port}/push/named")
    assert channel.send(browser.target(), notification(expires_at=_in(hours=1))) is SendOutcome.SENT
    (request,) = service.received
    assert request["headers"]["host"] == f"push.example:{service.port}"
    assert resolver.calls == [("push.example", service.port)]  # resolved once, at send time
    verify_vapid(request["headers"]["authorization"], f"http://push.example:{service.port}", vapid_pem)
    assert browser.decrypt(request["body"])["msgType"] == "Alert"


@pytest.mark.parametrize("rebound", [["127.0.0.1"], ["169.254.169.254"], ["10.0.0.5"], ["93.184.215.14", "127.0.0.1"],
                                     ["::ffff:127.0.0.1"], ["64:ff9b::7f00:1"]])
def test_dns_rebinding_between_registration_and_send_is_refused_without_connecting(service, vapid_pem, rebound) -> None:
    channel, resolver = named_channel(vapid_pem, {"push.example": ["93.184.215.14"]}, PUBLIC_HTTP)
    endpoint = f"http://push.example:{service.port}/push/rebind"
    assert channel.guard.check(endpoint).addresses == ("93.184.215.14",)  # what registration saw
    resolver.table["push.example"] = rebound  # the attacker's DNS answers differently now
    assert channel.send(Browser(endpoint).target(), notification(expires_at=_in(hours=1))) is SendOutcome.FAILED
    assert service.connections == 0 and service.received == []


def test_a_name_that_stops_resolving_is_retried_later_without_connecting(service, vapid_pem) -> None:
    channel, _ = named_channel(vapid_pem, {}, LOOPBACK_HTTP)
    outcome = channel.send(Browser(f"http://gone.example:{service.port}/push/x").target(), notification(expires_at=_in(hours=1)))
    assert outcome is SendOutcome.RETRY
    assert service.connections == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(service, vapid_pem, status: int) -> None:
    target = PushService()  # where the redirect points: it must see nothing
    try:
        channel, _ = named_channel(vapid_pem, {"push.example": ["127.0.0.1"]}, LOOPBACK_HTTP)
        service.status_by_path["/push/moved"] = status
        service.location_by_path["/push/moved"] = f"{target.origin}/latest/meta-data/"
        browser = Browser(f"http://push.example:{service.port}/push/moved")
        assert channel.send(browser.target(), notification(expires_at=_in(hours=1))) is SendOutcome.FAILED
        assert len(service.received) == 1
        assert target.connections == 0 and target.received == []
    finally:
        target.close()


def test_insecure_escape_hatch_still_refuses_everything_but_loopback(service, vapid_pem, channel) -> None:
    for endpoint in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/push", "http://[fd00:ec2::254]/",
                     "http://[::ffff:169.254.169.254]/", "http://2852039166/"):
        assert channel.send(Browser(endpoint).target(), notification(expires_at=_in(hours=1))) is SendOutcome.FAILED, endpoint
    with pytest.raises(ValueError, match="not both"):
        WebPushChannel(vapid_pem, SUBJECT, guard=EgressGuard(), allow_insecure_endpoints=True)


def _tls_files(tmp_path, name: str) -> tuple[str, ssl.SSLContext]:
    """A test CA (its PEM path) and a server context whose certificate names `name`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    def cert(subject: str, key, issuer_name, issuer_key, *, ca: bool) -> x509.Certificate:
        now = datetime.now(UTC)
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Beatline test CA")])
    ca_cert = cert("Beatline test CA", ca_key, ca_name, ca_key, ca=True)
    leaf = cert(name, leaf_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "leaf.key").write_bytes(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    return str(tmp_path / "ca.pem"), context


def test_tls_goes_to_the_vetted_address_with_sni_and_certificate_checked_for_the_name(tmp_path, vapid_pem) -> None:
    ca_file, context = _tls_files(tmp_path, "push.example")
    server_names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    tls_service = PushService(tls=context)
    try:
        table = {"push.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]}
        https_loopback = EgressPolicy(ports=None, allow_loopback=True)
        channel, _ = named_channel(vapid_pem, table, https_loopback, ca_certs=ca_file)
        good = Browser(f"https://push.example:{tls_service.port}/push/tls")
        assert channel.send(good.target(), notification(expires_at=_in(hours=1))) is SendOutcome.SENT
        assert server_names == ["push.example"]
        assert tls_service.received[0]["headers"]["host"] == f"push.example:{tls_service.port}"
        # Same address, another name: the certificate does not name it, so nothing is sent.
        wrong = Browser(f"https://other.example:{tls_service.port}/push/tls")
        assert channel.send(wrong.target(), notification(expires_at=_in(hours=1))) is SendOutcome.RETRY
        assert len(tls_service.received) == 1
        # Without the test CA (the default trust store) the same server is not trusted either.
        untrusted, _ = named_channel(vapid_pem, table, https_loopback)
        assert untrusted.send(good.target(), notification(expires_at=_in(hours=1))) is SendOutcome.RETRY
        assert len(tls_service.received) == 1
    finally:
        tls_service.close()
