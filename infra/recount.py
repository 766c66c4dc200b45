"""One-off operations tool: check every derived figure against a recount of the records it comes
from, and repair the differences (migration to stream-derived counters, a batch sent to an
on-failure queue, the backfill of the open-wait gauge).

Kinds (`--kind`, repeatable; default all; docs/history.md "Recount and repair"):
  stats       statistics counters, from the contacts
  engagement  distinct-staff member and counter items (day, week, month), from the contacts
  figures     conversation figures a conversation still shows: opened, dismissed, answered and the
              first-response histogram, past_standard_now
  waits       the open-wait gauge (GET /v1/history/waiting), from the conversations waiting now
  trust       rating counts below the rating items left (erasure keeps counts, deletes items)

Not a request path: per team, Queries on the contacts' `by_team` index and the conversations'
team/status index, one Query per counter key and per rated conversation (the teams are those the
force-wide counters name, plus `--team`). `--repair` adds each difference (with its roll-ups)
under markers named by `--run-id` and the write's content, so running the same repair twice
changes nothing. Repair once the streams have settled, at a quiet time.

    BEATLINE_STAGE=dev .venv/bin/python -m infra.recount --from 2026-11-01 --to 2026-11-30 [--team north] [--kind waits] [--repair]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from datetime import date
from typing import Any

from chalicelib.domain.recount import KINDS


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="day_from", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="day_to", type=date.fromisoformat, required=True)
    parser.add_argument("--team", action="append", default=[], help="a team to recount besides those counted")
    parser.add_argument("--only-teams", action="store_true",
                        help="recount only the --team teams (their own items; no force-wide ones)")
    parser.add_argument("--kind", action="append", choices=KINDS, default=[], help="what to recount (default: all)")
    parser.add_argument("--repair", action="store_true", help="make the stored figures equal the recount")
    parser.add_argument("--run-id", default=None, help="names the repair's markers (default: a new one)")
    args = parser.parse_args(argv)
    if args.day_to < args.day_from:
        parser.error("--to is before --from")
    if args.only_teams and not args.team:
        parser.error("--only-teams needs --team")
    return args


def _report(drifts: list[Any], kinds: tuple[str, ...], seconds: float) -> None:
    for drift in drifts:
        print(f"{drift.kind} {drift.key} {drift.bucket} {drift.attribute}: counted {drift.counted}, "
              f"recount {drift.recounted}")
    per_kind = Counter(d.kind for d in drifts)
    summary = ", ".join(f"{kind} {per_kind.get(kind, 0)}" for kind in kinds)
    print(f"differ from the recount: {summary} ({seconds:.1f} s)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    from chalicelib.services import services
    from chalicelib.usecases import recount

    svc = services()
    kinds = tuple(args.kind) or KINDS
    started = time.monotonic()
    drifts = recount.check(svc, args.day_from, args.day_to, args.team, force=not args.only_teams, kinds=kinds)
    _report(drifts, kinds, time.monotonic() - started)
    if args.repair and drifts:
        moved = recount.repair(svc, drifts, args.run_id or uuid.uuid4().hex)
        print(f"repaired: {moved} items written (with their roll-ups)", file=sys.stderr)
    return 1 if drifts and not args.repair else 0


if __name__ == "__main__":
    raise SystemExit(main())
