"""First-visit transfer of the team's app (/team/), gzipped: the page, what it names (styles, the
OIDC library, the entry module), every module of its import map but the lazy map code, the
service worker and the manifest (the worker precaches exactly these). Prints a table.

    python -m bench.team_transfer

Through chalice.test.Client (no storage needed). gzip level 6, as a CDN or API Gateway would send.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys


def main() -> int:
    os.environ.setdefault("BEATLINE_STAGE", "test")
    from chalice.test import Client

    import app

    rows: list[tuple[str, int, int]] = []
    lazy: list[tuple[str, int, int]] = []
    with Client(app.app, project_dir=".") as client:
        def fetch(url: str) -> bytes:
            response = client.http.get(url)
            assert response.status_code == 200, url
            return bytes(response.body)

        page = fetch("/team/")
        rows.append(("/team/", len(page), len(gzip.compress(page, 6))))
        html = page.decode()
        imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>', html, re.S).group(1))["imports"]
        named = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
        urls = list(dict.fromkeys([*named, *(u for k, u in imports.items() if not k.startswith("lazy/")),
                                   "/team/sw.js", "/team/manifest.webmanifest"]))
        for url in urls:
            body = fetch(url)
            rows.append((url, len(body), len(gzip.compress(body, 6))))
        for key, url in imports.items():
            if key.startswith("lazy/"):
                body = fetch(url)
                lazy.append((url, len(body), len(gzip.compress(body, 6))))
    print(f"{'file':60} {'bytes':>9} {'gzipped':>9}")
    for url, raw, packed in rows:
        print(f"{url:60} {raw:9d} {packed:9d}")
    print(f"{'first visit (no map library)':60} {sum(r[1] for r in rows):9d} {sum(r[2] for r in rows):9d}")
    print(f"{'map on first use (Leaflet + Geoman, lazy)':60} {sum(r[1] for r in lazy):9d} {sum(r[2] for r in lazy):9d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
