"""Secret material: a generated file locally, AWS Secrets Manager in a deployed stage."""

from __future__ import annotations

import base64


class SecretUnavailable(RuntimeError):
    pass


def load_secret(*, file: str | None, secret_arn: str | None, name: str) -> bytes:
    """The secret's bytes. Files and secrets hold base64 text (one line)."""
    if file:
        try:
            with open(file, encoding="ascii") as handle:
                return base64.b64decode(handle.read().strip())
        except (OSError, ValueError) as exc:
            raise SecretUnavailable(f"{name}: cannot read {file}") from exc
    if secret_arn:
        import boto3  # only in AWS, only on first use

        value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)
        return base64.b64decode(value["SecretString"].strip())
    raise SecretUnavailable(f"{name}: no key file or secret configured")


def load_text_secret(*, file: str | None, secret_arn: str | None, name: str) -> str:
    """A secret kept as text (PEM keys)."""
    if file:
        try:
            with open(file, encoding="ascii") as handle:
                return handle.read()
        except OSError as exc:
            raise SecretUnavailable(f"{name}: cannot read {file}") from exc
    if secret_arn:
        import boto3

        return str(boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
    raise SecretUnavailable(f"{name}: no key file or secret configured")
