"""One-off operations tool: check the statistics counters against a recount of the contacts, and
repair them (migration to stream-derived counters, or after a batch went to the on-failure queue).

Not a request path: per team, one Query on the contacts' `by_team` index per page of the days
asked (the teams are those the force-wide `team` counters name, plus `--team`), and one Query per
counter key. `--repair` adds each difference (with its week and month roll-ups) under markers
named by `--run-id`, so running the same repair twice changes nothing. Repair once the stream
has settled: a batch applied meanwhile would be counted by both.

    BEATLINE_STAGE=dev .venv/bin/python -m infra.recount --from 2026-11-01 --to 2026-11-30 [--team north] [--repair]
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import date


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="day_from", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="day_to", type=date.fromisoformat, required=True)
    parser.add_argument("--team", action="append", default=[], help="a team to recount besides those counted")
    parser.add_argument("--repair", action="store_true", help="make the counters equal the recount")
    parser.add_argument("--run-id", default=None, help="names the repair's markers (default: a new one)")
    args = parser.parse_args(argv)
    from chalicelib.services import services
    from chalicelib.usecases import counters

    svc = services()
    drifts = counters.check(svc, args.day_from, args.day_to, args.team)
    for drift in drifts:
        print(f"{drift.key} {drift.bucket}: counted {drift.counted}, recount {drift.recounted}")
    print(f"{len(drifts)} day counters differ from the recount", file=sys.stderr)
    if args.repair and drifts:
        moved = counters.repair(svc, drifts, args.run_id or uuid.uuid4().hex)
        print(f"repaired: {moved} counter items moved (day, week and month)", file=sys.stderr)
    return 1 if drifts and not args.repair else 0


if __name__ == "__main__":
    raise SystemExit(main())
