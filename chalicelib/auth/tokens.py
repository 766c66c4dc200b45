"""Bearer token verification with PyJWT.

Each accepted issuer has a policy: exact issuer, audience, pinned algorithms (never taken from the
token), a key source (JWKS) and the roles its tokens may carry, so a resident token can never act
as staff and a staff IdP can never mint residents.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import jwt
from jwt import PyJWK, PyJWKSet

from chalicelib.auth.identity import canonical_subject
from chalicelib.auth.principal import Principal
from chalicelib.domain.ranks import known_rank


def key_thumbprint(public_key: Any) -> str:
    """A stable `kid` for a public key: base64url of the first 12 bytes of SHA-256(SPKI DER)."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or not for us (-> 401)."""


class KeySource(Protocol):
    def key_for(self, kid: str | None, token: str) -> PyJWK: ...


class StaticJwks:
    """Keys known up front (tests; Beatline's own resident-token key)."""

    def __init__(self, jwks: PyJWKSet) -> None:
        self._jwks = jwks

    def key_for(self, kid: str | None, token: str) -> PyJWK:
        for key in self._jwks.keys:
            if key.key_id == kid:
                return key
        raise InvalidToken("unknown key id")


class JwksFile:
    """A JWKS on disk (the local identity provider). Re-read when the file changes."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._stamp: float | None = None
        self._static: StaticJwks | None = None
        self._lock = threading.Lock()

    def key_for(self, kid: str | None, token: str) -> PyJWK:
        with self._lock:
            try:
                stamp = os.stat(self._path).st_mtime
            except OSError as exc:
                raise InvalidToken("issuer keys unavailable") from exc
            if self._static is None or stamp != self._stamp:
                with open(self._path, encoding="utf-8") as handle:
                    self._static = StaticJwks(PyJWKSet.from_dict(json.load(handle)))
                self._stamp = stamp
            return self._static.key_for(kid, token)


class JwksUrl:
    """The IdP's published JWKS (Cognito or any OIDC provider), cached by PyJWKClient."""

    def __init__(self, url: str, lifespan_seconds: int = 3600) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=lifespan_seconds, timeout=5)

    def key_for(self, kid: str | None, token: str) -> PyJWK:
        try:
            return self._client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientError as exc:
            raise InvalidToken("unknown key id or JWKS unreachable") from exc


@dataclass(frozen=True)
class IssuerPolicy:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    keys: KeySource
    allowed_roles: frozenset[str]
    kind: Literal["staff", "resident"]
    # Longest lifetime (`exp` - `iat`) this issuer may give a token: a token signed for ten years
    # is refused even while its signature is good.
    max_lifetime_seconds: int = 24 * 3600
    # Staff issuers: only ACCESS tokens, never an ID token (which the dashboard also holds): an
    # RFC 9068 token (header `typ: at+jwt`, `aud` = `audience`) or Cognito's access-token shape
    # (`token_use: access`, no `aud`, `client_id` one of `client_ids`).
    access_tokens_only: bool = False
    # Client (app) ids whose access tokens are accepted. Required for Cognito's shape (its only
    # audience); when set, an RFC 9068 token's `client_id` must be one of them too.
    client_ids: frozenset[str] = frozenset()
    # Where this issuer puts a staff member's rank: a claim of its own (OIDC), and/or a group
    # (`cognito:groups` or `roles`) named with a prefix, e.g. `rank:inspector`. Values outside the
    # contract's list are no rank (never a refusal).
    rank_claim: str | None = "rank"
    rank_group_prefix: str | None = None

    def rank_of(self, claims: dict[str, Any], groups: list[Any]) -> str | None:
        if self.kind != "staff":
            return None
        if self.rank_claim and (rank := known_rank(claims.get(self.rank_claim))) is not None:
            return rank
        prefix = self.rank_group_prefix
        if not prefix:
            return None
        found = {known_rank(g.removeprefix(prefix)) for g in groups if isinstance(g, str) and g.startswith(prefix)}
        found.discard(None)
        return found.pop() if len(found) == 1 else None  # two different rank groups: unknown


AccessShape = Literal["plain", "rfc9068", "cognito"]
ACCESS_USE = "access"  # Cognito's `token_use` of an access token (`id` for an ID token)
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 section 2.1


def access_shape(policy: IssuerPolicy, header: dict[str, Any], claims: dict[str, Any]) -> AccessShape:
    """Which access-token shape a token claims to be (checked again on the verified claims: the
    header is signed too). An ID token (`typ: JWT`, `token_use: id`, or neither) is none."""
    if not policy.access_tokens_only:
        return "plain"
    typ = header.get("typ")
    if isinstance(typ, str) and typ.strip().lower() in ACCESS_TOKEN_TYPES:
        return "rfc9068"
    if claims.get("token_use") == ACCESS_USE:
        return "cognito"
    raise InvalidToken("not an access token")


def _audiences(claims: dict[str, Any]) -> list[Any]:
    aud = claims.get("aud")
    return aud if isinstance(aud, list) else [aud]


def access_problem(policy: IssuerPolicy, shape: AccessShape, claims: dict[str, Any]) -> str | None:
    """The verified claims against the shape: `token_use`, when present, says access; the client
    is one of ours where the shape needs it (Cognito's access tokens carry no `aud`)."""
    if shape == "plain":
        return None
    if claims.get("token_use", ACCESS_USE) != ACCESS_USE:
        return "not an access token"
    client_id = claims.get("client_id")
    if shape == "cognito":
        if client_id not in policy.client_ids:
            return "client not accepted"
        if "aud" in claims and policy.audience not in _audiences(claims):
            return "audience not accepted"
    elif policy.client_ids and client_id not in policy.client_ids:
        return "client not accepted"
    return None


RESERVED_SUBJECT_PREFIX = "system:"  # domain.contacts.SYSTEM_PREFIX: authors that are no person
MAX_SCOPE_CLAIM = 128  # characters of a `team` or `force` claim
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
COGNITO_ACCESS_CLAIMS = ["exp", "iat", "iss", "sub", "client_id", "token_use"]  # no `aud` in Cognito's
NUMERIC_DATE_CLAIMS = ("exp", "iat", "nbf")
MAX_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z: beyond it datetime overflows


def numeric_date_problem(claims: dict[str, Any]) -> str | None:
    """RFC 7519 NumericDate: a JSON number of seconds. PyJWT would take `int("1e9")`-able strings,
    booleans (`true` is 1) and floats, and overflows on `1e400`; only plain finite numbers pass here."""
    for name in NUMERIC_DATE_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name} is not a number"
        if not math.isfinite(value) or not 0 <= value <= MAX_NUMERIC_DATE:
            return f"{name} is out of range"
    return None


def lifetime_problem(claims: dict[str, Any], max_lifetime_seconds: int) -> str | None:
    """`iat` is required, so the lifetime is exactly `exp - iat` (never measured from now)."""
    lifetime = claims["exp"] - claims["iat"]
    if lifetime <= 0:
        return "expires before it was issued"
    if lifetime > max_lifetime_seconds:
        return "lifetime longer than the issuer's policy allows"
    return None


class TokenVerifier:
    """Verifies bearer tokens; remembers tokens it has verified for a short while.

    An officer's app sends the same token on every request, and a warm Lambda would otherwise
    repeat the ECDSA verification and three JSON/base64 parses each time (~0.5 ms of CPU, a third
    of the handler's own cost on a create). A verified token (the exact string, signature included)
    is kept for at most `cache_seconds` and never past its `exp` (+ leeway); that bounds how long a
    key removed from the issuer's JWKS keeps working, as API Gateway's authorizer cache would.
    """

    def __init__(
        self,
        policies: Sequence[IssuerPolicy],
        leeway_seconds: int = 30,
        *,
        cache_seconds: int = 300,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._policies = {p.issuer: p for p in policies}
        self._leeway = leeway_seconds
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._clock = clock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        now = self._clock()
        with self._cache_lock:
            hit = self._verified.get(token)
            if hit is not None:
                principal, valid_until = hit
                if now < valid_until:
                    self._verified.move_to_end(token)
                    return principal
                del self._verified[token]
        principal, expires = self._verify_uncached(token)
        if self._cache_seconds > 0:
            valid_until = min(now + self._cache_seconds, expires + self._leeway)
            with self._cache_lock:
                self._verified[token] = (principal, valid_until)
                while len(self._verified) > self._cache_size:
                    self._verified.popitem(last=False)
        return principal

    def _policy_for(self, header: dict[str, Any], unverified: dict[str, Any]) -> IssuerPolicy:
        """The issuer's policy, by the unverified `iss` (routing only), and its pinned algorithms."""
        issuer = unverified.get("iss")
        policy = self._policies.get(issuer) if isinstance(issuer, str) else None
        if policy is None:
            raise InvalidToken("unknown issuer")
        if header.get("alg") not in policy.algorithms:
            raise InvalidToken("algorithm not allowed for this issuer")
        return policy

    def _verify_uncached(self, token: str) -> tuple[Principal, float]:
        try:
            # One unverified parse for routing (issuer, alg, kid); the claims are trusted only
            # after the verified decode below.
            unverified_token = jwt.api_jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        header, unverified = unverified_token["header"], unverified_token["payload"]
        policy = self._policy_for(header, unverified)
        problem = numeric_date_problem(unverified)  # only ever refuses: safe before the signature check
        if problem:
            raise InvalidToken(problem)
        shape = access_shape(policy, header, unverified)
        key = policy.keys.key_for(header.get("kid"), token)
        cognito = shape == "cognito"
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(policy.algorithms),
                audience=None if cognito else policy.audience,
                issuer=policy.issuer,
                leeway=self._leeway,
                options={"require": COGNITO_ACCESS_CLAIMS if cognito else REQUIRED_CLAIMS, "verify_aud": not cognito},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        problem = access_problem(policy, access_shape(policy, header, claims), claims) or lifetime_problem(
            claims, policy.max_lifetime_seconds)
        if problem:
            raise InvalidToken(problem)
        return self._principal(policy, claims), float(claims["exp"])

    @staticmethod
    def _principal(policy: IssuerPolicy, claims: dict[str, Any]) -> Principal:
        sub = _subject(policy, claims["sub"])
        raw_roles = _role_claim(claims)
        team, force = _scope_claim(claims, "team"), _scope_claim(claims, "force")
        return Principal(
            sub=sub,
            roles=frozenset(r for r in raw_roles if isinstance(r, str)) & policy.allowed_roles,
            kind=policy.kind,
            team=team,
            force=force,
            rank=policy.rank_of(claims, raw_roles),
        )


def _subject(policy: IssuerPolicy, sub: Any) -> str:
    """`sub` as one spelling of one person (see auth/identity.py), never a reserved author."""
    if not isinstance(sub, str) or not sub or len(sub) > 128:
        raise InvalidToken("bad subject")
    if sub != sub.strip() or any(unicodedata.category(c) in ("Cc", "Cf") for c in sub):
        raise InvalidToken("bad subject")  # a second spelling of someone (see auth/identity.py)
    if policy.kind == "staff" and canonical_subject(sub).startswith(RESERVED_SUBJECT_PREFIX):
        raise InvalidToken("reserved subject")  # Beatline's own non-person authors (`system:...`)
    return sub


def _role_claim(claims: dict[str, Any]) -> list[Any]:
    raw_roles = claims.get("roles", claims.get("cognito:groups", []))
    if isinstance(raw_roles, str):
        raw_roles = [raw_roles]
    if not isinstance(raw_roles, list):
        raise InvalidToken("bad roles claim")
    return raw_roles


def _scope_claim(claims: dict[str, Any], name: str) -> str | None:
    """`team` or `force`: a short string or nothing. Team ids become DynamoDB key parts: an
    outsized claim must not reach the store."""
    value = claims.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_SCOPE_CLAIM):
        raise InvalidToken(f"bad {name} claim")
    return value or None
