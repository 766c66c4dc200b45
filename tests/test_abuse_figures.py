"""Pure rules of a close as abuse (issue 17, item 2): where the figures move, and that the resident
cannot reopen it. The HTTP path is in tests/test_rate_limits.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import msgspec
import pytest

from chalicelib.domain import conversations as rules
from chalicelib.domain.errors import StateForbids

pytestmark = pytest.mark.no_database

OPENED = "2026-12-28T09:00:00Z"  # a Monday: ISO week 2026-W53, month 2026-12
CLOSED = "2027-01-04T10:00:00Z"  # another day, week, month and year


def _conversation(**changes: object) -> rules.Conversation:
    conv = rules.Conversation(
        id="c1", team="north", owner="s1", area_id="a1", alert_id=None, topic="noise", status="waiting",
        created_at=OPENED, last_message_at=OPENED, version=1, content_digest="d",
        expires_at=datetime(2029, 1, 1, tzinfo=UTC), waiting_since=OPENED)
    return replace(conv, **changes)  # type: ignore[arg-type]


def test_dismissal_moves_opened_to_dismissed_in_every_grain_of_the_opening_period():
    conv = _conversation()
    closed = rules.after_close(conv, rules.ABUSE, CLOSED)
    figures = rules.figure_keys(conv.team, CLOSED[:10], rules.figure_events(conv, closed, CLOSED))
    moved = rules.dismissal_keys(conv, figures)
    changed = {key: delta for key, delta in moved.items() if figures.get(key) != delta}
    # day, ISO week and month of the *opening*, force-wide and team partitions: opened -1, dismissed +1
    periods = {bucket.split("|")[0] for _, bucket in changed}
    assert periods == {"2026-12-28", "2026-W53", "2026-12"}
    assert sorted({(bucket.split("|")[2], delta) for (_, bucket), delta in changed.items()}) == [
        ("dismissed", 1), ("opened", -1)]
    assert len(changed) == 3 * 2 * 2
    assert all(moved[key] == delta for key, delta in figures.items())  # the close's own events stay


def test_read_back_the_bucket_leaves_the_dismissed_out_of_opened():
    conv = _conversation()
    counters = {f"2026-12-28|north|{event}": 0 for event in ("opened", "dismissed")}
    for _ in range(3):  # three opened the same day
        counters["2026-12-28|north|opened"] += 1
    for key, delta in rules.dismissal_keys(conv, {}).items():
        if key[0] == rules.figures_pk("north", "day"):
            counters[key[1]] = counters.get(key[1], 0) + delta
    (bucket,) = rules.figures_buckets(counters.items())
    assert (bucket.opened, bucket.dismissed_as_abuse) == (2, 1)
    assert msgspec.json.decode(msgspec.json.encode(bucket))["dismissed_as_abuse"] == 1


@pytest.mark.parametrize("outcome", ["abuse", "resolved", "no_further_action"])
def test_only_abuse_keeps_the_resident_out(outcome):
    closed = rules.after_close(_conversation(), outcome, CLOSED)
    if outcome == rules.ABUSE:
        with pytest.raises(StateForbids):
            rules.after_message(closed, "resident", "2027-01-05T00:00:00Z")
    else:
        assert rules.after_message(closed, "resident", "2027-01-05T00:00:00Z").status == "waiting"
    with pytest.raises(StateForbids):  # the team never writes on a closed conversation (as before)
        rules.after_message(closed, "team", "2027-01-05T00:00:00Z")


def test_abuse_is_a_close_outcome_not_a_contact_outcome():
    from chalicelib.domain.contact_schemas import OUTCOMES

    assert rules.ABUSE not in OUTCOMES
    assert msgspec.json.decode(b'{"outcome": "abuse"}', type=rules.CloseIn).outcome == "abuse"
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"outcome": "spam"}', type=rules.CloseIn)
