"""The complexity gate (`make lint`, `make unit`, `make test`): every function of the shipped code
(chalicelib/, app.py, infra/) has a cyclomatic complexity of at most 10 as radon counts it, which,
unlike ruff's C901, counts each `and`/`or` (and comprehension condition) as a branch.

Tests and benchmarks are not gated: radon counts every `assert ... and ...` as a branch, and a test
that checks a whole journey in one function is clearer than one split to please the counter.
"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[1]
GATED = ("chalicelib", "infra", "app.py")
LIMIT = 10


def offenders(root: Path = ROOT) -> list[str]:
    found = []
    for target in GATED:
        path = root / target
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "node_modules" not in p.parts)
        for file in files:
            for block in cc_visit(file.read_text()):
                if block.complexity > LIMIT:
                    found.append(f"{file.relative_to(root)}:{block.lineno} {block.fullname} {block.complexity}")
    return found


def main() -> int:
    found = offenders()
    for line in found:
        print(f"complexity above {LIMIT}: {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
