"""Lambda's DynamoDB event source mapping, imitated on DynamoDB Local (`make run`, tests, benches).

    python -m infra.local.streams [--interval 0.5]     # what `make run` starts beside chalice local

DynamoDB Local serves the `dynamodbstreams` API on its own endpoint for tables created with a
StreamSpecification (docs/pitfalls.md). `StreamPoller` reads every shard of a table's latest
stream in order and calls the SAME handler Lambda calls (app.py's `contact_counter` for the
contacts table, `conversation_counter` for the conversations table, `rating_counter` for the
neighbourhoods table: chalice event source handlers, `handler(event, context)`) with the event shape Lambda uses: `Records` of
`eventID`, `eventName`, `eventVersion`, `eventSource`, `awsRegion`, `dynamodb` (`Keys`,
`NewImage`, `OldImage`, `SequenceNumber`, `SizeBytes`, `StreamViewType`,
`ApproximateCreationDateTime` as epoch seconds), `eventSourceARN` and, for TTL deletions,
`userIdentity`. Like the event source mapping, it moves a shard's position past a batch only once
the handler returned; a handler that raises gets the same batch again on the next poll.

`settle()` polls every shard until none has a record left: tests call it (the `settle` fixture,
and the test client before it reads figures) so figures are deterministic without sleeps.
A new poller starts at TRIM_HORIZON (a restart after a kill): the records it reads again are
replays, which the handler's markers make change nothing.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """What a stream handler may read of Lambda's context."""

    function_name = "beatline-local-stream"
    memory_limit_in_mb = 512
    aws_request_id = "local-stream"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def lambda_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to the function."""
    body = dict(raw["dynamodb"])
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        body["ApproximateCreationDateTime"] = created.timestamp()
    record: dict[str, Any] = {
        "eventID": raw["eventID"], "eventName": raw["eventName"], "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb", "awsRegion": raw.get("awsRegion", region), "dynamodb": body,
        "eventSourceARN": stream_arn,
    }
    if raw.get("userIdentity"):
        record["userIdentity"] = raw["userIdentity"]
    return record


@dataclass
class StreamPoller:
    """One table's stream, read like an event source mapping (batch size, in order per shard)."""

    endpoint: str
    table_name: str
    handler: Handler
    region: str = "eu-west-2"
    batch_size: int = 100
    positions: dict[str, str] = field(default_factory=dict)  # shard -> last sequence number handled
    finished: set[str] = field(default_factory=set)  # closed shards read to their end
    max_attempts: int = 3  # then the batch is reported and skipped (Lambda's on-failure destination)
    failures: dict[str, int] = field(default_factory=dict)  # shard -> failed attempts of its batch
    skipped: list[dict[str, Any]] = field(default_factory=list)  # batches given up on
    delivered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        import boto3

        self.dynamodb = boto3.client("dynamodb", endpoint_url=self.endpoint, region_name=self.region)
        self.streams = boto3.client("dynamodbstreams", endpoint_url=self.endpoint, region_name=self.region)
        self._arn: str | None = None

    @property
    def stream_arn(self) -> str:
        if self._arn is None:
            table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
            if "LatestStreamArn" not in table:
                raise RuntimeError(f"{self.table_name} has no stream (ensure_tables enables it)")
            self._arn = str(table["LatestStreamArn"])
        return self._arn

    def _shards(self) -> list[str]:
        shards: list[str] = []
        start: str | None = None
        while True:
            args: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                args["ExclusiveStartShardId"] = start
            description = self.streams.describe_stream(**args)["StreamDescription"]
            shards += [s["ShardId"] for s in description.get("Shards", [])]
            start = description.get("LastEvaluatedShardId")
            if not start:
                return shards

    def _iterator(self, shard: str) -> str | None:
        args: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard}
        if shard in self.positions:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.positions[shard])
        else:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        iterator = self.streams.get_shard_iterator(**args).get("ShardIterator")
        return str(iterator) if iterator else None

    def _poll_shard(self, shard: str) -> int:
        """One batch of one shard to the handler; the number of records it got."""
        iterator = self._iterator(shard)
        if iterator is None:
            self.finished.add(shard)
            return 0
        answer = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
        records = answer.get("Records", [])
        if not records:
            if answer.get("NextShardIterator") is None:
                self.finished.add(shard)
            return 0
        event = {"Records": [lambda_record(r, self.stream_arn, self.region) for r in records]}
        try:
            self.handler(event, LambdaContext())
        except Exception:
            self.failures[shard] = self.failures.get(shard, 0) + 1
            if self.failures[shard] < self.max_attempts:
                raise  # the position stays: the same batch comes again
            self.skipped.append({"shard": shard, "first": records[0]["dynamodb"]["SequenceNumber"],
                                 "last": records[-1]["dynamodb"]["SequenceNumber"]})
        self.failures.pop(shard, None)
        self.positions[shard] = records[-1]["dynamodb"]["SequenceNumber"]
        self.delivered += len(records)
        return len(records)

    def poll_once(self) -> int:
        """One batch from every open shard; the number of records handled."""
        with self.lock:
            return sum(self._poll_shard(shard) for shard in self._shards() if shard not in self.finished)

    def settle(self, rounds: int = 10_000) -> int:
        """Poll until no shard has a record left; the number of records handled."""
        total = 0
        for _ in range(rounds):
            handled = self.poll_once()
            total += handled
            if not handled:
                return total
        raise RuntimeError("the stream never settled")

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Poll until `stop` is set (Lambda polls each shard about 4 times a second)."""
        run_all([self], stop, interval)


def _poll_logged(poller: StreamPoller) -> int:
    try:
        return poller.poll_once()
    except Exception as exc:
        print(f"stream poller ({poller.table_name}): batch failed, retrying: {exc!r}", flush=True)
        return 0


def run_all(pollers: list[StreamPoller], stop: threading.Event, interval: float = 0.5) -> None:
    """Poll every stream in turn until `stop` is set, resting `interval` when none had a record."""
    while not stop.is_set():
        if not sum(_poll_logged(poller) for poller in pollers):
            stop.wait(interval)


# The counter streams `make run` follows: (table, app.py's handler).
COUNTER_STREAMS = (("contacts", "contact_counter"), ("conversations", "conversation_counter"),
                   ("neighbourhoods", "rating_counter"))


def counter_poller(endpoint: str, table_name: str, handler_name: str, region: str = "eu-west-2") -> StreamPoller:
    """A counter stream's poller, calling app.py's handler `handler_name` (imported lazily: the
    settings must be in the environment first)."""
    import app

    return StreamPoller(endpoint=endpoint, table_name=table_name, handler=getattr(app, handler_name), region=region)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    import os

    from chalicelib.settings import SETTINGS
    from chalicelib.store.tables import ensure_tables

    ensure_tables(settings=SETTINGS)
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    region = SETTINGS.region or "eu-west-2"
    pollers = [counter_poller(endpoint, SETTINGS.table_name(table), handler, region)
               for table, handler in COUNTER_STREAMS]
    print(f"Stream pollers: {', '.join(p.table_name for p in pollers)} -> "
          f"{', '.join(handler for _, handler in COUNTER_STREAMS)} (every {args.interval} s)", flush=True)
    stop = threading.Event()
    try:
        run_all(pollers, stop, args.interval)
    except KeyboardInterrupt:
        stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
