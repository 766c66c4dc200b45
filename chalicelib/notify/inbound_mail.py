"""Inbound email as SES receiving stored it in S3 (the receipt rule's S3 action, which also
publishes a notification naming the object to SNS: app.py `email_replies`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.settings import Settings

MAX_BYTES = 1_000_000  # a reply is text; anything larger is not read


class S3Mailbox:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Mailbox:
        import boto3

        return cls(boto3.client("s3", region_name=settings.region), settings.email_inbound_bucket)

    def take(self, bucket: str, key: str) -> bytes:
        """The message (at most MAX_BYTES), then the object is deleted. Only this stage's bucket."""
        if bucket != self._bucket:
            raise ValueError("not this stage's inbound bucket")
        body = self._client.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_BYTES)
        self._client.delete_object(Bucket=bucket, Key=key)
        return bytes(body)
