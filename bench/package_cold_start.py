"""Cold-start import cost of the packaged app, as Lambda loads it (run `make package` first).

    python -m bench.package_cold_start [--stage dev] [--runs 5]

Unpacks build/<stage>/deployment.zip and layer-deployment.zip, then times `import app` in fresh
interpreters that see only those two directories (no site-packages) with bytecode writing off,
as on Lambda's read-only filesystem: once with the shipped .pyc files, once with them removed.
Prints sizes, a table of medians, and the slowest imports (-X importtime).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = (
    "import sys, time; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
    "t = time.perf_counter(); import app; print((time.perf_counter() - t) * 1000)\n"
)


def _unpack(build: Path, into: Path) -> tuple[Path, Path]:
    code, opt = into / "task", into / "opt"
    zipfile.ZipFile(build / "deployment.zip").extractall(code)
    zipfile.ZipFile(build / "layer-deployment.zip").extractall(opt)
    site = opt / "python" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    return code, site


def _dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _env(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "eu-west-2",
            **config["stages"][stage]["environment_variables"]}


def _time_imports(code: Path, site: Path, env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        done = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-S", "-c", SCRIPT, str(code), str(site)],
            cwd=code, env=env, capture_output=True, text=True, check=True,
        )
        times.append(float(done.stdout.strip()))
    return times


def _by_package(code: Path, site: Path, env: dict[str, str], top: int = 12) -> list[tuple[float, str]]:
    """-X importtime self-times summed per top-level package (botocore = all botocore.* modules)."""
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-S", "-X", "importtime", "-c", SCRIPT, str(code), str(site)],
        cwd=code, env=env, capture_output=True, text=True, check=True,
    )
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(own) / 1000
    return sorted(((ms, name) for name, ms in totals.items()), reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    build = ROOT / "build" / args.stage
    env = _env(args.stage)
    with tempfile.TemporaryDirectory(prefix="beatline-cold-") as scratch:
        code, site = _unpack(build, Path(scratch) / "pyc")
        source_code, source_site = _unpack(build, Path(scratch) / "source")
        for cache in [*source_code.rglob("__pycache__"), *source_site.rglob("__pycache__")]:
            shutil.rmtree(cache)
        print(f"{'artifact':<28}{'zipped MB':>10}{'unzipped MB':>13}")
        print(f"{'deployment.zip (app code)':<28}{(build / 'deployment.zip').stat().st_size / 1e6:>10.2f}"
              f"{_dir_mb(code):>13.2f}")
        print(f"{'layer-deployment.zip (deps)':<28}{(build / 'layer-deployment.zip').stat().st_size / 1e6:>10.2f}"
              f"{_dir_mb(site):>13.2f}")
        print()
        print(f"{'import app (fresh process)':<34}{'median ms':>10}{'min ms':>9}{'max ms':>9}")
        for label, (c, s) in (("with shipped bytecode", (code, site)), ("from source (no .pyc)", (source_code, source_site))):
            times = _time_imports(c, s, env, args.runs)
            print(f"{label:<34}{statistics.median(times):>10.0f}{min(times):>9.0f}{max(times):>9.0f}")
        print()
        print("import time by package (self time of all its modules, with bytecode):")
        for ms, name in _by_package(code, site, env):
            print(f"  {ms:>7.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
