"""Loads a CloudWatch Logs log group for bench/cloudwatch.sh, through the
real API of the server (moto) with boto3: EVENTS default-format (v2) flow
records, one record per event, dealt round-robin over STREAMS streams named
as VPC flow logs name them (eni-…-all). Timestamps are spread over the last
SPAN seconds (ending a minute ago, so every event is inside CloudWatch's
acceptance window and before the ingest's end time); an event's timestamp is
its record's start × 1000, as AWS writes them. Each stream's events are put
in timestamp order, at most 10,000 and 1 MB per PutLogEvents call.

Usage: cwl_load.py <endpoint> <group> <events> <streams> [SPAN=3000]
Prints one JSON line: {"events", "bytes", "calls", "seconds", "streams": {name: events}}.
"""
import json
import sys
import time

import boto3

MAX_EVENTS, MAX_BYTES, OVERHEAD = 10_000, 1_048_576, 26   # PutLogEvents' limits


def main():
    endpoint, group = sys.argv[1], sys.argv[2]
    events, streams = int(sys.argv[3]), int(sys.argv[4])
    span = int(sys.argv[5]) if len(sys.argv) > 5 else 3000
    c = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="bench", aws_secret_access_key="bench")
    started = time.monotonic()
    c.create_log_group(logGroupName=group)
    last = int(time.time()) - 60
    first = last - span
    counts, calls, total_bytes = {}, 0, 0
    for s in range(streams):
        eni = f"eni-{0x0a1b2c3d4e5f0000 + s:016x}"
        name = f"{eni}-all"
        c.create_log_stream(logGroupName=group, logStreamName=name)
        n = events // streams + (1 if s < events % streams else 0)
        counts[name] = n
        batch, size = [], 0
        for k in range(n):
            i = k * streams + s                      # the event's number in the whole load
            start = first + span * k // max(n, 1)   # sorted within the stream
            action = "REJECT" if i % 7 == 0 else "ACCEPT"
            message = (f"2 123456789012 {eni} 10.0.{i % 200}.{i % 250} 198.51.{i % 100}.{i % 241} "
                       f"{1024 + i % 60000} 443 6 {1 + i % 40} {60 + i % 90000} {start} {start + 60} {action} OK")
            cost = len(message) + OVERHEAD
            if len(batch) == MAX_EVENTS or size + cost > MAX_BYTES:
                c.put_log_events(logGroupName=group, logStreamName=name, logEvents=batch)
                calls += 1
                batch, size = [], 0
            batch.append({"timestamp": start * 1000, "message": message})
            size += cost
            total_bytes += len(message)
        if batch:
            c.put_log_events(logGroupName=group, logStreamName=name, logEvents=batch)
            calls += 1
    print(json.dumps({"events": sum(counts.values()), "bytes": total_bytes, "calls": calls,
                      "seconds": round(time.monotonic() - started, 2), "streams": counts}))


if __name__ == "__main__":
    main()
