"""CloudWatch Logs test data, put through the real API of the test server
(moto) with boto3.

Usage:
  cwl.py put <endpoint> <events.jsonl>
      each line {"group": .., "stream": .., "ts": <ms>, "message": ..};
      groups and streams are created when missing; each stream's events are
      put in timestamp order, at most 10,000 (and about 1 MB) per call, as
      PutLogEvents requires.
  cwl.py delete-stream <endpoint> <group> <stream>
Prints {"put": <events>} or {"deleted": <stream>}.
"""
import json
import sys
from collections import defaultdict

import boto3


def client(endpoint):
    return boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def ensure(c, group, stream, known):
    if group not in known:
        try:
            c.create_log_group(logGroupName=group)
        except c.exceptions.ResourceAlreadyExistsException:
            pass
        known[group] = set()
    if stream not in known[group]:
        try:
            c.create_log_stream(logGroupName=group, logStreamName=stream)
        except c.exceptions.ResourceAlreadyExistsException:
            pass
        known[group].add(stream)


def put(endpoint, path):
    c = client(endpoint)
    by_stream = defaultdict(list)
    with open(path) as f:
        for line in f:
            if line.strip():
                e = json.loads(line)
                by_stream[(e["group"], e["stream"])].append((e["ts"], e["message"]))
    known = {}
    total = 0
    for (group, stream), events in by_stream.items():
        ensure(c, group, stream, known)
        events.sort(key=lambda e: e[0])
        batch, size = [], 0
        for ts, message in events:
            if len(batch) == 10000 or size + len(message) + 26 > 1_000_000:
                c.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
                batch, size = [], 0
            batch.append({"timestamp": ts, "message": message})
            size += len(message) + 26
        if batch:
            c.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
        total += len(events)
    print(json.dumps({"put": total}))


def main():
    command, endpoint = sys.argv[1], sys.argv[2]
    if command == "put":
        put(endpoint, sys.argv[3])
    elif command == "delete-stream":
        client(endpoint).delete_log_stream(logGroupName=sys.argv[3], logStreamName=sys.argv[4])
        print(json.dumps({"deleted": sys.argv[4]}))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
