"""When each wallet event becomes readable on Kafka: a consumer tailing the topic from its end.

Run as a process of its own (no GIL shared with the benchmark's load threads, which would delay
the stamps): it prints `ready` once it has the partitions' end offsets, stamps every message with
the wall clock when it is received, and on SIGTERM prints one JSON line, `[[occurred_at, lag_s,
produced_s], ...]` for the transfer events, where lag = received - the event's `occurred_at`
(stamped by the write's transaction after its lock, just before the commit: an upper bound of
commit to Kafka by the rest of that transaction, well under a millisecond), and produced = the
message's timestamp - `occurred_at`: when the relay handed the event to its producer (Kafka's
CreateTime, set by the producer at `produce()`, in whole milliseconds; null without one), which
splits the lag into the relay's pick-up and Kafka's path. Standard library and confluent-kafka only.

    python bench/kafka_arrivals.py BROKERS TOPIC      (bench/e2e_lag.py and bench/relays.py start it)
"""

from __future__ import annotations

import json
import signal
import sys
import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import TIMESTAMP_CREATE_TIME, Consumer, TopicPartition

TRANSFER_TYPES = {b"TRANSFER_OUT", b"TRANSFER_IN"}


def main() -> None:
    brokers, topic = sys.argv[1], sys.argv[2]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"bench-arrivals-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
        }
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    assignment = []
    for partition in sorted(partitions):
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        assignment.append(TopicPartition(topic, partition, high))
    consumer.assign(assignment)
    print("ready", flush=True)
    arrivals: list[tuple[float, float, float | None]] = []
    while not stopping:
        message = consumer.poll(0.1)
        if message is None or message.error() is not None:
            continue
        received = time.time()
        headers = dict(message.headers() or [])
        if headers.get("event_type") not in TRANSFER_TYPES:
            continue
        payload = json.loads(message.value() or b"{}")
        occurred = datetime.strptime(payload["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        occurred_at = occurred.replace(tzinfo=UTC).timestamp()
        kind, stamp_ms = message.timestamp()
        produced = stamp_ms / 1000 - occurred_at if kind == TIMESTAMP_CREATE_TIME else None
        arrivals.append((occurred_at, received - occurred_at, produced))
    consumer.close()
    print(json.dumps(arrivals), flush=True)


if __name__ == "__main__":
    main()
