"""Resident tokens: Beatline signs them itself (ES256, its own key, issuer and audience), so they
can never pass as staff tokens and the staff IdP can never mint residents."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWKSet
from jwt.algorithms import ECAlgorithm

from chalicelib.auth.principal import RESIDENT_ROLES
from chalicelib.auth.tokens import IssuerPolicy, StaticJwks, key_thumbprint
from chalicelib.settings import Settings


class ResidentTokens:
    def __init__(self, private_pem: bytes, *, issuer: str, audience: str, lifetime: timedelta) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the resident token key must be an EC P-256 private key")
        self._key = key
        self.kid = "res-" + key_thumbprint(key.public_key())
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime

    def issue(self, subscriber_id: str, now: datetime) -> tuple[str, datetime]:
        issued = int(now.timestamp())
        expires = now + self.lifetime
        claims = {
            "iss": self.issuer, "aud": self.audience, "sub": subscriber_id, "roles": ["resident"],
            "iat": issued, "nbf": issued, "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid}), expires

    def policy(self) -> IssuerPolicy:
        jwk = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "alg": "ES256", "use": "sig"})
        return IssuerPolicy(
            issuer=self.issuer, audience=self.audience, algorithms=("ES256",),
            keys=StaticJwks(PyJWKSet.from_dict({"keys": [jwk]})), allowed_roles=RESIDENT_ROLES,
            kind="resident", max_lifetime_seconds=int(self.lifetime.total_seconds()),
        )


def resident_tokens_from_settings(settings: Settings) -> ResidentTokens | None:
    """None when no key is configured (then resident routes answer 401/503 and nothing is issued)."""
    if not (settings.resident_key_file or settings.resident_key_secret_arn):
        return None
    from chalicelib.secrets import load_text_secret

    pem = load_text_secret(file=settings.resident_key_file, secret_arn=settings.resident_key_secret_arn,
                           name="resident token key")
    return ResidentTokens(
        pem.encode(), issuer=settings.resident_issuer, audience=settings.resident_audience,
        lifetime=timedelta(days=settings.resident_token_days),
    )
