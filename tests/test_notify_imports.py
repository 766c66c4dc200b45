"""Cold start: a plain request must not pay for the push libraries (PITFALLS: pywebpush ~260 ms)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.alert_samples import ROOT

PROBE = """
import json, sys
import app
import chalicelib.domain.cap, chalicelib.domain.atom
import chalicelib.notify.channels, chalicelib.notify.payloads, chalicelib.notify.sns, chalicelib.notify.webpush
print(json.dumps(sorted(m for m in ("pywebpush", "py_vapid", "http_ece", "aiohttp", "requests", "lxml", "feedparser", "moto")
                        if m in sys.modules)))
"""


def test_app_and_channel_modules_do_not_import_push_libraries() -> None:
    # A fresh interpreter with the test environment (settings are read at import).
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,  # noqa: S603 - fixed probe
                            check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
