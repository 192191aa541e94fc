"""An independent client's check of a cluster kbench did not start: confluent-kafka (librdkafka)
with its own Avro serializer and schema registry client, as the seed's scripts used them.

It creates a topic (3 partitions, replication factor 3, min.insync.replicas 2), registers a schema
through the registry's Confluent-compatible API, produces COUNT Avro records with acks=all, reads
them all back through the registry, and checks every one arrived once and decoded to what was
sent. It waits for the cluster and the registry to answer first (up to --wait seconds), so it can
run right after `docker compose up -d`. Prints one JSON line; exits 0 only when all checks hold.
"""

import argparse
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Check",
        "namespace": "dev.kbench.compose",
        "fields": [
            {"name": "seq", "type": "long"},
            {"name": "note", "type": "string"},
        ],
    }
)


def wait_ready(bootstrap, registry, deadline):
    """Three brokers in the metadata and the registry answering, or an exception at the deadline."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    last = None
    while time.time() < deadline:
        try:
            brokers = admin.list_topics(timeout=5).brokers
            SchemaRegistryClient({"url": registry}).get_subjects()
            if len(brokers) == 3:
                return admin
            last = f"{len(brokers)} brokers"
        except Exception as e:  # not ready yet: any error until the deadline
            last = repr(e)
        time.sleep(1)
    raise RuntimeError(f"cluster not ready before the deadline: {last}")


def produce(bootstrap, serialize, topic, count):
    acked, errors = [], []

    def report(err, msg):
        (errors if err else acked).append(err or msg.offset())

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for seq in range(count):
        value = serialize({"seq": seq, "note": f"record {seq}"}, SerializationContext(topic, MessageField.VALUE))
        p.produce(topic, value=value, key=str(seq).encode(), on_delivery=report)
        p.poll(0)
    p.flush(60)
    return len(acked), [str(e) for e in errors]


def consume(bootstrap, deserialize, topic, count, deadline):
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    seen = []
    try:
        while len(seen) < count and time.time() < deadline:
            msg = c.poll(1.0)
            if msg is None or msg.error():
                continue
            seen.append(deserialize(msg.value(), SerializationContext(topic, MessageField.VALUE)))
    finally:
        c.close()
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", default="127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094")
    ap.add_argument("--registry", default="http://127.0.0.1:8081/apis/ccompat/v7")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--wait", type=float, default=240)
    a = ap.parse_args()
    started = time.time()
    admin = wait_ready(a.bootstrap, a.registry, started + a.wait)
    ready = time.time() - started
    topic = f"compose-check-{uuid.uuid4().hex[:8]}"
    spec = NewTopic(topic, num_partitions=3, replication_factor=3, config={"min.insync.replicas": "2"})
    admin.create_topics([spec])[topic].result(30)
    registry = SchemaRegistryClient({"url": a.registry})
    serialize = AvroSerializer(registry, SCHEMA)
    acked, errors = produce(a.bootstrap, serialize, topic, a.count)
    schema_id = registry.get_latest_version(f"{topic}-value").schema_id
    deserialize = AvroDeserializer(registry)
    seen = consume(a.bootstrap, deserialize, topic, a.count, time.time() + 60)
    seqs = sorted(r["seq"] for r in seen)
    ok = (
        acked == a.count
        and not errors
        and seqs == list(range(a.count))
        and all(r["note"] == f"record {r['seq']}" for r in seen)
    )
    print(
        json.dumps(
            {
                "ok": ok,
                "ready_seconds": round(ready, 1),
                "topic": topic,
                "schema_id": schema_id,
                "acked": acked,
                "errors": errors[:5],
                "consumed": len(seen),
                "distinct": len(set(seqs)),
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
