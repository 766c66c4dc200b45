"""Where bulk exports are kept (ports.ExportSink): an S3 bucket in AWS, a folder locally.

S3: objects encrypted at rest (the bucket's default, SSE-S3), no public access, expired by the
bucket's lifecycle rule (infra/template.py); readers get presigned GET URLs that expire in minutes.
Local: files under a folder (`.local/exports` by default), named exactly like the S3 keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.ports import StoredFile

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # boto3-stubs (dev only)


class S3ExportSink:
    def __init__(self, client: S3Client, bucket: str, *, link_seconds: int = 900) -> None:
        self._client = client
        self._bucket = bucket
        self._link_seconds = link_seconds

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def files(self, prefix: str) -> list[StoredFile]:
        found: list[StoredFile] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            found += [StoredFile(item["Key"], int(item["Size"])) for item in page.get("Contents", [])]
        return sorted(found, key=lambda f: f.key)

    def link(self, key: str) -> str:
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._link_seconds)

    def location(self, prefix: str) -> str:
        return f"s3://{self._bucket}/{prefix}"


class FolderExportSink:
    """Local development: the same keys as files under `root`."""

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):  # keys are built from checked ids; belt and braces
            raise ValueError(f"export key outside the export folder: {key!r}")
        return path

    def put(self, key: str, body: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(body)
        partial.replace(path)  # readers never see half a file

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def files(self, prefix: str) -> list[StoredFile]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted((StoredFile(path.relative_to(self._root).as_posix(), path.stat().st_size)
                       for path in base.rglob("*") if path.is_file() and not path.name.endswith(".partial")),
                      key=lambda f: f.key)

    def link(self, key: str) -> str:
        return self._path(key).as_uri()

    def location(self, prefix: str) -> str:
        return str(self._path(prefix)) + "/"
