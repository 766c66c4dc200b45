"""Cold-start import cost: `import app` vs importing chalice+boto3+pynamodb+jwt alone.

    python -m bench.import_cost [--runs 7]

Each measurement is a fresh interpreter with `-X importtime`; the figure is the sum of the
top-level imports' cumulative times, the fastest of the runs (the least disturbed by other load on
the machine; medians swing by 100+ ms on a busy 2-core box). The app's own cost is the difference.
Also lists the app's heaviest own imports and checks that the heavy libraries that a plain request
must not pay for (h3, pywebpush, lxml) are not imported by `import app`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pynamodb.models, not just the package: the bare `pynamodb` package imports almost nothing, and
# any PynamoDB user pays for models/attributes. The difference is then the app's own cost.
BASELINE = "import chalice, boto3, pynamodb.models, jwt"
APP = "import app"
LAZY = ("h3", "pywebpush", "lxml", "pydantic")
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def measure(code: str) -> tuple[float, dict[str, tuple[int, int]]]:
    """Total top-level cumulative ms, and {module: (self_us, cumulative_us)}."""
    env = {**os.environ, "BEATLINE_STAGE": "bench", "AWS_DEFAULT_REGION": "eu-west-2", "PYTHONDONTWRITEBYTECODE": "0"}
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    total_us = 0
    modules: dict[str, tuple[int, int]] = {}
    for line in done.stderr.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = int(match[1]), int(match[2]), match[3], match[4]
        modules[name] = (self_us, cumulative_us)
        if indent == "":
            total_us += cumulative_us
    return total_us / 1000, modules


def _fastest(seen: dict[str, tuple[int, int]], new: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    merged = dict(new)
    for name, times in seen.items():
        if name in merged:
            merged[name] = (min(times[0], merged[name][0]), min(times[1], merged[name][1]))
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args(argv)
    measure(APP)  # compile .pyc files once so every run measures imports, not compilation
    baseline_runs, app_runs = [], []
    app_modules: dict[str, tuple[int, int]] = {}
    baseline_modules: dict[str, tuple[int, int]] = {}
    for _ in range(args.runs):
        total, modules = measure(BASELINE)
        baseline_runs.append(total)
        baseline_modules = _fastest(baseline_modules, modules)
        total, modules = measure(APP)
        app_runs.append(total)
        app_modules = _fastest(app_modules, modules)
    baseline_ms = min(baseline_runs)
    app_ms = min(app_runs)
    extra = sorted(
        ((name, times) for name, times in app_modules.items() if name not in baseline_modules),
        key=lambda item: -item[1][0],
    )
    own_self_ms = sum(times[0] for _, times in extra) / 1000

    print(f"Import cost, fastest of {args.runs} fresh interpreters (python -X importtime); "
          f"median app {statistics.median(app_runs):.0f} ms, baseline {statistics.median(baseline_runs):.0f} ms\n")
    header = f"{'what':<46} {'ms':>8}"
    print(header)
    print("-" * len(header))
    print(f"{BASELINE:<46} {baseline_ms:8.1f}")
    print(f"{APP:<46} {app_ms:8.1f}")
    print(f"{'app own cost: self time of modules only it adds':<46} {own_self_ms:8.1f}")
    print(f"{'  (difference of the totals above; noisier)':<46} {app_ms - baseline_ms:8.1f}")
    print("\nHeaviest modules the app adds (self ms):")
    for name, (self_us, _) in extra[:10]:
        print(f"  {name:<40} {self_us / 1000:6.2f}")
    loaded_lazy = [name for name in LAZY if name in app_modules]
    print(f"\nHeavy libraries imported by `import app`: {', '.join(loaded_lazy) if loaded_lazy else 'none'} "
          f"(checked: {', '.join(LAZY)})")
    return 1 if loaded_lazy else 0


if __name__ == "__main__":
    sys.exit(main())
