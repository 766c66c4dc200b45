"""Copy the pinned browser libraries from web/node_modules into chalicelib/web/vendor/.

`make deps` runs it after `npm ci` (stamp: chalicelib/web/vendor/.installed), so `make run`,
`make test` and `make package` all serve and ship exactly the versions in web/package-lock.json.
The vendor directory is generated, not committed. Licence files are copied next to the code.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "web" / "node_modules"
VENDOR = ROOT / "chalicelib" / "web" / "vendor"

# destination name -> file inside web/node_modules (only what the pages load)
FILES = {
    "oidc-client-ts.min.js": "oidc-client-ts/dist/browser/oidc-client-ts.min.js",
    "oidc-client-ts.LICENSE.txt": "oidc-client-ts/LICENSE",
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
    "uPlot.LICENSE.txt": "uplot/LICENSE",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui.LICENSE.txt": "swagger-ui-dist/LICENSE",
    # the residents' app (/app/): map (SVG, no tiles needed) and the IndexedDB key-value store
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet.LICENSE.txt": "leaflet/LICENSE",
    "idb-keyval.umd.js": "idb-keyval/dist/umd.js",
    "idb-keyval.LICENSE.txt": "idb-keyval/LICENCE",
    # the team's app (/team/): ES modules (idb-keyval, the QR code, licence in its header) and the
    # polygon drawing plugin (loaded with the map, on demand)
    "idb-keyval.esm.js": "idb-keyval/dist/index.js",
    "qrcode-generator.esm.js": "qrcode-generator/dist/qrcode.mjs",
    "leaflet-geoman.min.js": "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
    "leaflet-geoman.css": "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
    "leaflet-geoman.LICENSE.txt": "@geoman-io/leaflet-geoman-free/LICENSE",
}
SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$|\n?/\*# sourceMappingURL=\S+ ?\*/\s*$")


def vendor(modules: Path = MODULES, target: Path = VENDOR) -> list[Path]:
    """Copy FILES (source-map comments dropped: the maps are not served, and a missing map is a
    console error in devtools)."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, source in FILES.items():
        origin = modules / source
        if not origin.is_file():
            raise SystemExit(f"{origin} is missing: run `npm ci` in web/ (make deps does)")
        destination = target / name
        if name.endswith((".js", ".css")):
            text = origin.read_text(encoding="utf-8")
            destination.write_text(SOURCE_MAP.sub("\n", text), encoding="utf-8")
        else:
            shutil.copyfile(origin, destination)
        written.append(destination)
    return written


if __name__ == "__main__":
    for path in vendor():
        print(path.relative_to(ROOT), file=sys.stderr)
