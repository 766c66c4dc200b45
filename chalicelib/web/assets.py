"""Static assets with content-hashed names, and the HTML pages that reference them.

Sources live in `src/` (ours) and `vendor/` (copied from pinned npm packages by
`infra/web_assets.py`). Every asset is served as `/assets/<stem>.<hash><ext>` with a one-year
immutable cache lifetime: a changed file gets a new name, so a page never mixes old and new code.
Pages (`pages/*.html`) are templates: `{{asset:NAME}}` becomes the hashed URL and `{{base}}` the
path prefix (API Gateway's `/<stage>` on an execute-api URL, empty behind a custom domain).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ASSET_DIRS = (HERE / "src", HERE / "vendor")
PAGES_DIR = HERE / "pages"
HASH_LENGTH = 12
ASSET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
PLACEHOLDER = re.compile(r"\{\{(asset:[A-Za-z0-9_.-]+|base|var:[a-z_]+)\}\}")

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
# Served as bytes (base64 through API Gateway): app.py adds these to the API's binary media types.
BINARY_TYPES = ("image/png", "font/woff2")


@dataclass(frozen=True)
class Asset:
    name: str  # the source name, e.g. dashboard.js
    hashed: str  # e.g. dashboard.0123456789ab.js
    content_type: str
    body: bytes

    @property
    def binary(self) -> bool:
        return self.content_type in BINARY_TYPES


def hashed_name(name: str, body: bytes) -> str:
    stem, dot, ext = name.rpartition(".")
    digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


def _load(directories: tuple[Path, ...]) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            content_type = CONTENT_TYPES.get(path.suffix)
            if content_type is None or not path.is_file():
                continue
            body = path.read_bytes()
            assets[path.name] = Asset(path.name, hashed_name(path.name, body), content_type, body)
    return assets


@dataclass(frozen=True)
class Manifest:
    by_name: dict[str, Asset]
    by_hashed: dict[str, Asset]

    def url(self, name: str, base: str = "") -> str:
        asset = self.by_name.get(name)
        if asset is None:
            raise KeyError(f"no asset {name!r} (run `make deps` to vendor the web libraries)")
        return f"{base}/assets/{asset.hashed}"

    def lookup(self, hashed: str) -> Asset | None:
        return self.by_hashed.get(hashed) if ASSET_NAME.match(hashed) else None


@lru_cache(maxsize=1)
def manifest() -> Manifest:
    """Read once per process (a Lambda container keeps it)."""
    assets = _load(ASSET_DIRS)
    return Manifest(by_name=assets, by_hashed={a.hashed: a for a in assets.values()})


@lru_cache(maxsize=16)
def _template(file: str) -> str:
    return (PAGES_DIR / file).read_text(encoding="utf-8")


def render_page(page: str, base: str, values: dict[str, str] | None = None) -> str:
    """A page with its asset URLs, path prefix and `{{var:NAME}}` values filled in (the caller
    escapes values for the file's language)."""
    return render_file(f"{page}.html", base, values)


def render_file(file: str, base: str, values: dict[str, str] | None = None) -> str:
    """Any template in pages/ (the service worker is one: it names the hashed assets it caches)."""
    files = manifest()
    given = values or {}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "base":
            return base
        if name.startswith("var:"):
            return given[name.removeprefix("var:")]
        return files.url(name.removeprefix("asset:"), base)

    return PLACEHOLDER.sub(fill, _template(file))


def asset_urls(file: str, base: str) -> list[str]:
    """The hashed URLs a template names (what the service worker precaches)."""
    files = manifest()
    return [files.url(m.group(1).removeprefix("asset:"), base) for m in PLACEHOLDER.finditer(_template(file))
            if m.group(1).startswith("asset:")]


def base_path(context: dict[str, object] | None) -> str:
    """The prefix in front of the route (`/dev` when called as execute-api/.../dev/dashboard)."""
    if not isinstance(context, dict):
        return ""
    path, resource = context.get("path"), context.get("resourcePath")
    if not isinstance(path, str) or not isinstance(resource, str):
        return ""
    path = path.rstrip("/") or "/"
    resource = resource.rstrip("/") or "/"
    prefix = path[: -len(resource)] if resource != "/" and path.endswith(resource) else ""
    return prefix if re.fullmatch(r"(/[A-Za-z0-9_-]{1,64})?", prefix) else ""


HOST_PORT = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, or "" when it is not a plain http(s) origin (nothing from a
    setting can smuggle a `;` or a space, i.e. another directive, into the policy)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not HOST_PORT.match(parts.netloc):
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def import_map(specifiers: dict[str, str], base: str) -> str:
    """An import map (JSON) from module specifiers to hashed asset URLs. A specifier starting with
    `./` stands for `<base>/assets/<name>`, so our modules import each other by plain relative
    names (`./api.js`) and the map sends the browser to the content-hashed file; any other
    specifier is bare (`idb-keyval`). `<` is escaped: the map sits in a script element."""
    files = manifest()
    imports = {(f"{base}/assets/{spec[2:]}" if spec.startswith("./") else spec): files.url(name, base)
               for spec, name in specifiers.items()}
    return json.dumps({"imports": imports}, sort_keys=True).replace("<", "\\u003c")


def script_hash(text: str) -> str:
    """The CSP source that admits exactly this inline script (the import map) and nothing else."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(issuer: str, tiles: str = "", scripts: tuple[str, ...] = ()) -> str:
    """No inline script or style anywhere (but for `scripts`: hash sources of inline non-executable
    data such as an import map); API calls to this origin and to the staff issuer only
    (discovery, token endpoint); forms may post only here and to the issuer (sign-in). `tiles`: the
    map tile URL template (residents' app), whose origin alone is added to img-src."""
    issuer_origin = origin_of(issuer)
    connect = " ".join(filter(None, ["'self'", issuer_origin]))
    form = " ".join(filter(None, ["'self'", issuer_origin]))
    images = " ".join(filter(None, ["'self' data:", origin_of(tiles.replace("{", "").replace("}", "")) if tiles else ""]))
    script = " ".join(["'self'", *scripts])
    return (
        f"default-src 'self'; script-src {script}; style-src 'self'; img-src {images}; "
        f"font-src 'self'; connect-src {connect}; frame-src 'none'; object-src 'none'; "
        f"frame-ancestors 'none'; base-uri 'none'; form-action {form}"
    )
