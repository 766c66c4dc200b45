"""Make the packaged zips cheaper to cold-start: prune unused AWS API models, ship bytecode.

1. botocore ships a JSON model for every AWS service (about 19 MB of the 27 MB dependency layer,
   already gzip-compressed, so zip cannot shrink them). The app talks to five services; botocore
   reads a service's model only when a client for it is created, so the others can go.
2. Lambda's /var/task and /opt are read-only: Python cannot cache bytecode there, so without
   .pyc files every cold start compiles every imported module again (measured: `import app`
   ~1.1 s from source vs ~0.55 s with bytecode). We compile with unchecked-hash pycs (valid
   whatever the extracted mtimes), for the runtime's Python minor version only.

tests/test_infra.py imports the packaged app from the slimmed zips and creates a client for each
kept service, and checks that every `client("...")` named in the code is kept.
"""

from __future__ import annotations

import compileall
import hashlib
import py_compile
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

# Every AWS service the Lambda code creates a client for (pynamodb: dynamodb).
KEEP_SERVICES: frozenset[str] = frozenset({"dynamodb", "sqs", "sns", "secretsmanager", "sts", "s3", "sesv2"})

SLIM_VERSION = 2  # bump when slim_zip's output changes, to invalidate cached results
_DATA = re.compile(r"(?:^|/)site-packages/(?:botocore|boto3)/data/([^/]+)/")


def dropped(name: str, keep: frozenset[str] = KEEP_SERVICES) -> bool:
    """Whether a zip entry is the API model of a service the app does not use."""
    match = _DATA.search(name)
    return bool(match) and match.group(1) not in keep


def slim_zip(path: Path, *, lambda_root: str, runtime: str, keep: frozenset[str] = KEEP_SERVICES,
             cache_dir: Path | None = None) -> None:
    """Rewrite a deployment/layer zip in place: unused API models out, bytecode in.

    lambda_root is where Lambda unpacks it (/var/task for code, /opt for layers), recorded in the
    bytecode so tracebacks show real paths. runtime is the template's, e.g. "python3.11".
    With cache_dir, the result is kept there under a hash of the input and reused (chalice caches
    the dependency layer the same way, so slimming it costs once per requirements change).
    """
    cached = None
    if cache_dir is not None:
        key = hashlib.sha256(path.read_bytes())
        key.update(f"{SLIM_VERSION}|{lambda_root}|{runtime}|{sys.version_info[:2]}|{sorted(keep)}".encode())
        cached = cache_dir / f"slim-{key.hexdigest()[:32]}.zip"
        if cached.exists():
            shutil.copyfile(cached, path)
            return
    with tempfile.TemporaryDirectory(prefix="beatline-slim-") as scratch:
        root = Path(scratch) / "root"
        with zipfile.ZipFile(path) as source:
            members = [m for m in source.infolist() if not dropped(m.filename, keep)]
            source.extractall(root, members=members)
        if runtime == f"python{sys.version_info.major}.{sys.version_info.minor}":
            compileall.compile_dir(
                root, ddir=lambda_root, quiet=2, workers=1,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        rebuilt = path.with_suffix(".slim.zip")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target:
            for file in sorted(p for p in root.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(file.relative_to(root).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (file.stat().st_mode & 0o777 | 0o644) << 16  # keep exec bits
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, file.read_bytes())
        shutil.move(rebuilt, path)
    if cached is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, cached)
