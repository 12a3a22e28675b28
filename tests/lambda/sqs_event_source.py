#!/usr/bin/python3
"""A stand-in for Lambda's SQS event source mapping, for tests (issue 11, deliverable 3).

It does what the mapping does for a standard queue with function_response_types =
["ReportBatchItemFailures"] (AWS Lambda Developer Guide, "Using Lambda with Amazon SQS" and
"Implementing partial batch responses"):

  1. long-polls the queue (ReceiveMessage, up to --batch-size messages, all attributes);
  2. builds the SQS event exactly as the mapping does: {"Records": [{"messageId",
     "receiptHandle", "body", "attributes": {"ApproximateReceiveCount", "SentTimestamp",
     "SenderId", "ApproximateFirstReceiveTimestamp"}, "messageAttributes", "md5OfBody",
     "eventSource": "aws:sqs", "eventSourceARN", "awsRegion"}]};
  3. invokes the function through the Runtime API stand-in (tests/lambda/runtime_api_server.py:
     POST /control/enqueue, then GET /control/result);
  4. deletes the messages that did not fail: a response {"batchItemFailures": [{"itemIdentifier":
     id}, ...]} fails those ids; an empty or absent list fails none; a function error, a response
     that is not such an object, or an itemIdentifier that is empty or not in the batch fails
     the whole batch (as Lambda does). Failed messages are left alone: they reappear after the
     queue's visibility timeout.
  5. redrive is the queue's: local-aws-sqs 2.0.2 honours a queue's RedrivePolicy (a message
     received maxReceiveCount times moves to the dead-letter queue on the next receive, as SQS
     does; checked by tests/integration/sqs_event_source_test.sh), so nothing here moves
     messages.

Standard library and botocore (Debian's python3-botocore) only; credentials from the environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never on the command line.

    sqs_event_source.py --endpoint URL --region R --queue-url URL --runtime-api HOST:PORT
                        [--batch-size 10] [--wait 1] [--invoke-timeout 60]
                        [--until-idle N] [--stats FILE] [--events-log FILE]

It stops after N consecutive empty polls (--until-idle, default: run until SIGTERM) and writes
its counts as JSON to --stats: {"invocations", "delivered", "deleted", "failed",
"batch_failures", "max_receive_count"} (the highest ApproximateReceiveCount delivered);
--events-log appends each event it hands over as one JSON line (for tests that scan them).
"""

import argparse
import base64
import hashlib
import json
import signal
import sys
import urllib.error
import urllib.request
import uuid

import botocore.session

RECORD_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SenderId",
                     "ApproximateFirstReceiveTimestamp")


class Stop(Exception):
    pass


def sqs_client(endpoint, region):
    session = botocore.session.get_session()
    return session.create_client("sqs", region_name=region, endpoint_url=endpoint)


def message_attributes(msg):
    """The event's form of MessageAttributes: lower-camel names."""
    out = {}
    for name, a in (msg.get("MessageAttributes") or {}).items():
        v = {"stringListValues": [], "binaryListValues": [], "dataType": a.get("DataType")}
        if "StringValue" in a:
            v["stringValue"] = a["StringValue"]
        if "BinaryValue" in a:
            v["binaryValue"] = base64.b64encode(a["BinaryValue"]).decode()
        out[name] = v
    return out


def record(msg, arn, region):
    attrs = msg.get("Attributes", {})
    body = msg["Body"]
    return {
        "messageId": msg["MessageId"],
        "receiptHandle": msg["ReceiptHandle"],
        "body": body,
        "attributes": {k: attrs[k] for k in RECORD_ATTRIBUTES if k in attrs},
        "messageAttributes": message_attributes(msg),
        "md5OfBody": msg.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


def invoke(runtime_api, event, timeout):
    """Hands the event to the function; returns (kind, parsed body or None)."""
    req_id = str(uuid.uuid4())
    data = json.dumps(event).encode()
    req = urllib.request.Request(f"http://{runtime_api}/control/enqueue?id={req_id}", data=data,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()
    url = f"http://{runtime_api}/control/result?id={req_id}&timeout={timeout}"
    try:
        with urllib.request.urlopen(url, timeout=timeout + 10) as r:
            rec = json.loads(r.read())
    except urllib.error.HTTPError as e:
        if e.code == 504:
            return "timeout", None
        raise
    return rec.get("kind"), rec.get("body")


def failed_ids(kind, body, ids):
    """The message ids Lambda would leave on the queue for this outcome."""
    if kind != "response":
        return set(ids)
    if body is None:
        return set()
    if not isinstance(body, dict):
        return set(ids)
    failures = body.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(ids)
    out = set()
    for f in failures:
        item = f.get("itemIdentifier") if isinstance(f, dict) else None
        if not isinstance(item, str) or item not in ids:
            return set(ids)  # an invalid identifier fails the whole batch
        out.add(item)
    return out


def poll_once(sqs, args, arn, stats):
    """One receive and its invocation; returns how many messages came."""
    got = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=args.batch_size,
                              WaitTimeSeconds=args.wait, AttributeNames=["All"],
                              MessageAttributeNames=["All"]).get("Messages", [])
    # local-aws-sqs may return one message twice in one answer (when its visibility timeout
    # ends during the long poll); SQS does not, and a batch never holds a message twice: keep the
    # last copy, whose receipt handle is the current one.
    latest = {}
    for msg in got:
        latest[msg["MessageId"]] = msg
    batch = list(latest.values())
    if not batch:
        return 0
    event = {"Records": [record(m, arn, args.region) for m in batch]}
    if args.events_log:
        with open(args.events_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")
    kind, body = invoke(args.runtime_api, event, args.invoke_timeout)
    stats["invocations"] += 1
    stats["delivered"] += len(batch)
    ids = [m["MessageId"] for m in batch]
    for m in batch:
        count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "0"))
        stats["max_receive_count"] = max(stats["max_receive_count"], count)
    failed = failed_ids(kind, body, ids)
    if kind != "response" or (failed and failed == set(ids) and len(ids) > 1):
        stats["batch_failures"] += 1
    for m in batch:
        if m["MessageId"] in failed:
            stats["failed"] += 1
            continue
        sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=m["ReceiptHandle"])
        stats["deleted"] += 1
    return len(batch)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--queue-url", required=True)
    p.add_argument("--runtime-api", required=True)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--wait", type=int, default=1)
    p.add_argument("--invoke-timeout", type=int, default=60)
    p.add_argument("--until-idle", type=int, default=0)
    p.add_argument("--stats")
    p.add_argument("--events-log")
    args = p.parse_args()
    if not 1 <= args.batch_size <= 10:
        p.error("--batch-size is 1..10")

    def on_term(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    sqs = sqs_client(args.endpoint, args.region)
    arn = sqs.get_queue_attributes(QueueUrl=args.queue_url,
                                   AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stats = dict.fromkeys(("invocations", "delivered", "deleted", "failed", "batch_failures",
                           "max_receive_count"), 0)
    idle = 0
    try:
        while args.until_idle == 0 or idle < args.until_idle:
            idle = idle + 1 if poll_once(sqs, args, arn, stats) == 0 else 0
    except Stop:
        pass
    finally:
        if args.stats:
            with open(args.stats, "w", encoding="utf-8") as f:
                json.dump(stats, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
