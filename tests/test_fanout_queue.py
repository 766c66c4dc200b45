"""The SQS queue implementation (moto) and the local queue's retry behaviour."""

from __future__ import annotations

import boto3
from moto import mock_aws

from chalicelib.notify.queue import LocalQueue, SqsQueue, decode
from chalicelib.ports import FanoutMessage


def test_sqs_queue_sends_batches_of_ten():
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-2")
        url = sqs.create_queue(QueueName="fanout-test")["QueueUrl"]
        queue = SqsQueue(sqs, url)
        messages = [FanoutMessage(alert_id="a", revision=0, cells=[f"cell{i}"]) for i in range(23)]
        queue.enqueue(messages)
        assert queue.calls == 3
        received = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                break
            received += [decode(m["Body"]).cells[0] for m in batch]
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch])
        assert sorted(received) == sorted(f"cell{i}" for i in range(23))


class FlakySqs:
    """Reports the first entry of the first call as Failed (as SendMessageBatch may)."""

    def __init__(self) -> None:
        self.entries: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
        self.entries.append([e["Id"] for e in Entries])
        if len(self.entries) == 1:
            return {"Successful": [{"Id": e["Id"]} for e in Entries[1:]],
                    "Failed": [{"Id": Entries[0]["Id"], "SenderFault": False, "Code": "InternalError"}]}
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def test_sqs_queue_retries_only_failed_entries():
    client = FlakySqs()
    SqsQueue(client, "https://sqs.example/q").enqueue([FanoutMessage(alert_id="a", revision=0) for _ in range(3)])
    assert client.entries == [["0", "1", "2"], ["0"]]


def test_local_queue_runs_continuations_and_retries_failures():
    seen: list[str] = []
    outcomes = {"b": [False, True]}
    queue: LocalQueue

    def process(message: FanoutMessage) -> bool:
        seen.append(message.alert_id)
        if message.alert_id == "a":
            queue.enqueue([FanoutMessage(alert_id="c", revision=0)])  # a continuation
        return outcomes.get(message.alert_id, [True]).pop(0) if message.alert_id in outcomes else True

    queue = LocalQueue(process)
    queue.enqueue([FanoutMessage(alert_id="a", revision=0), FanoutMessage(alert_id="b", revision=0)])
    assert seen == ["a", "b", "c", "b"]


def test_local_queue_can_deliver_on_a_background_thread():
    import threading

    done = threading.Event()
    threads: list[str] = []

    def process(message: FanoutMessage) -> bool:
        threads.append(threading.current_thread().name)
        done.set()
        return True

    LocalQueue(process, asynchronous=True).enqueue([FanoutMessage(alert_id="a", revision=0)])
    assert done.wait(5)
    assert threads[0].startswith("fanout")


def test_each_message_type_round_trips_and_old_bodies_still_decode() -> None:
    """The queue carries alert fan-out work and answer pushes, each its own type; a body written
    by the release before (an answer as a `conversation` mode FanoutMessage, no `type`) still
    decodes as an answer push during a deploy, and an old alert body as alert work."""
    from chalicelib.notify.queue import decode, encode
    from chalicelib.ports import AnswerPush

    work = FanoutMessage(alert_id="a", revision=2, mode="audience", shard=3)
    answer = AnswerPush(conversation_id="c", message_id="m")
    assert decode(encode(work)) == work and decode(encode(answer)) == answer
    assert '"type":"answer"' in encode(answer) and '"type":"alert"' in encode(work)
    old_answer = '{"alert_id":"c","revision":0,"mode":"conversation","message":"m"}'
    assert decode(old_answer) == answer
    assert decode('{"alert_id":"a","revision":1,"cells":["x"]}') == FanoutMessage(alert_id="a", revision=1, cells=["x"])


def test_a_notice_push_is_its_own_message_type() -> None:
    """"You said, we did" and meeting reminders: kind, ref and a chunk of residents, tagged `notice`."""
    from chalicelib.notify.queue import decode, encode
    from chalicelib.ports import NoticePush

    notice = NoticePush(kind="priority_action", ref="p:a", subscribers=["s1", "s2"])
    assert '"type":"notice"' in encode(notice)
    assert decode(encode(notice)) == notice
    assert decode('{"type":"notice","kind":"meeting_reminder","ref":"m","subscribers":[]}') == NoticePush(
        kind="meeting_reminder", ref="m", subscribers=[])
