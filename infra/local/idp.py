"""The local identity provider: an ES256 key pair made on first run, published as a JWKS file
that the verifier reads like any issuer's, and a command that prints a token for a role.

    python -m infra.local.idp token --role officer --sub pc-101 --team north
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from chalicelib.auth.tokens import key_thumbprint
from chalicelib.domain.ranks import RANKS

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KEYS_DIR = ROOT / ".local" / "keys"
STAFF_PRIVATE = "staff-es256.pem"
STAFF_JWKS = "staff-jwks.json"
PSEUDONYM_KEY = "pseudonym.key"
RESIDENT_PRIVATE = "resident-es256.pem"
VAPID_PRIVATE = "vapid-es256.pem"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _new_ec_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_jwk(private_pem: bytes, kid: str) -> dict[str, Any]:
    key = serialization.load_pem_private_key(private_pem, password=None)
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))  # type: ignore[arg-type]
    jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
    return jwk


def key_id(private_pem: bytes) -> str:
    return key_thumbprint(serialization.load_pem_private_key(private_pem, password=None).public_key())


def ensure_keys(keys_dir: Path = DEFAULT_KEYS_DIR) -> Path:
    """Create any missing local key (idempotent). Nothing here is ever committed."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    staff = keys_dir / STAFF_PRIVATE
    if not staff.exists():
        _write_private(staff, _new_ec_pem())
    jwks_path = keys_dir / STAFF_JWKS
    pem = staff.read_bytes()
    if not jwks_path.exists():
        jwks_path.write_text(json.dumps({"keys": [public_jwk(pem, key_id(pem))]}, indent=2))
    for name in (RESIDENT_PRIVATE, VAPID_PRIVATE):
        if not (keys_dir / name).exists():
            _write_private(keys_dir / name, _new_ec_pem())
    if not (keys_dir / PSEUDONYM_KEY).exists():
        _write_private(keys_dir / PSEUDONYM_KEY, base64.b64encode(secrets.token_bytes(32)) + b"\n")
    return keys_dir


def issue_token(
    *,
    private_pem: bytes,
    issuer: str,
    audience: str,
    sub: str,
    roles: list[str],
    team: str | None = None,
    force: str | None = None,
    rank: str | None = None,
    ttl_seconds: int = 8 * 3600,
    now: int | None = None,
    extra: dict[str, Any] | None = None,
    client_id: str = "beatline-cli",
) -> str:
    """An RFC 9068 access token (header `typ: at+jwt`, `client_id`, `jti`), as the local OIDC
    provider issues them (staff issuers accept access tokens only)."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": sub, "roles": roles, "client_id": client_id,
        "iat": issued, "nbf": issued, "exp": issued + ttl_seconds, "jti": secrets.token_hex(12),
    }
    if team:
        claims["team"] = team
    if force:
        claims["force"] = force
    if rank:
        claims["rank"] = rank
    claims.update(extra or {})
    return jwt.encode(claims, private_pem, algorithm="ES256", headers={"kid": key_id(private_pem), "typ": "at+jwt"})


def local_stage_env() -> dict[str, str]:
    """The `local` stage's environment from .chalice/config.json (so tokens match the server)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"]["local"].get("environment_variables", {}))
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token", help="print a bearer token for the local stack")
    token.add_argument("--role", default="officer", choices=["officer", "supervisor", "analyst", "admin", "leader"])
    token.add_argument("--sub", default="pc-101")
    token.add_argument("--team", default="north")
    token.add_argument("--force", default="local-force")
    token.add_argument("--rank", default="", choices=["", *RANKS], help="the `rank` claim (none if empty)")
    token.add_argument("--hours", type=int, default=8)
    sub.add_parser("keys", help="create the local keys if missing")
    args = parser.parse_args(argv)
    keys_dir = ensure_keys()
    if args.command == "keys":
        print(keys_dir)
        return 0
    env = local_stage_env()
    print(
        issue_token(
            private_pem=(keys_dir / STAFF_PRIVATE).read_bytes(),
            issuer=env.get("BEATLINE_STAFF_ISSUER", "http://127.0.0.1:8002"),
            audience=env.get("BEATLINE_STAFF_AUDIENCE", "beatline-api"),
            sub=args.sub,
            roles=[args.role],
            team=args.team or None,
            force=args.force,
            rank=args.rank or None,
            ttl_seconds=args.hours * 3600,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
