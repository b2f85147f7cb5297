"""Load generator for bench/firehose.sh: CLIENTS threads, each with one
keep-alive HTTP/1.1 connection, POST Firehose delivery requests of direct
flow-log records (`{"message":"<line>"}` + newline per line, base64 in
`records[].data`, gzip Content-Encoding, as Firehose sends them) to the sink
for SECONDS, one request at a time per client.

The records are built and deflated once per run. Each request's body is
one gzip member, as Firehose sends: the shared records first
(`{"records":[…],"timestamp":…,"requestId":"`, deflated once and ended with
a sync flush on a byte boundary), then the request's own id and the closing
`"}` deflated on their own, and the CRC of the whole continued from the
shared part's. JSON does not care where `requestId` stands. So a request
costs the generator a few dozen microseconds of Python, not a gzip of its
MiB: its own CPU time is printed so that it can be seen not to be the
bottleneck.

With RATE (records/s offered over all clients, turned into requests/s),
each client waits for its next slot instead of sending at once: latency at a given offered load, not at
saturation (where it is just clients / throughput).

Usage:
  firehose_load.py load <host:port> <key> <seconds> <clients> <request bytes> [RATE]
  firehose_load.py sample <folder> <lines> <files>     (the same lines, for ingest dir)
Prints one JSON line (load): requests, statuses, records, lines, bytes,
seconds, latency percentiles of the 200s (ms), and the generator's CPU s.
"""
import base64
import gzip
import http.client
import json
import os
import random
import struct
import sys
import threading
import time
import uuid
import zlib

MAX_RECORDS = 10_000          # Firehose's most records per request


def flow_lines(n, seed=7):
    """n default-format (v2) records, varied like real traffic."""
    rnd = random.Random(seed)
    start = 1716595200
    out = []
    for i in range(n):
        t = start + rnd.randrange(3600)
        out.append(
            f"2 123456789012 eni-{rnd.randrange(1 << 32):08x} 10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)} "
            f"198.51.{rnd.randrange(256)}.{rnd.randrange(256)} {rnd.randrange(1024, 65536)} {rnd.choice((443, 80, 53, 22))} "
            f"{rnd.choice((6, 17))} {rnd.randrange(1, 500)} {rnd.randrange(40, 1_000_000)} {t} {t + 60} "
            f"{rnd.choice(('ACCEPT', 'ACCEPT', 'ACCEPT', 'REJECT'))} OK")
    return out


def records_part(request_bytes):
    """(the shared part of the body, lines, records): as many lines as make
    a body of about request_bytes, packed into at most 10,000 records
    (several lines a record when they do not fit)."""
    per_line = len(base64.b64encode(json.dumps({"message": flow_lines(1)[0]}).encode() + b"\n")) + 11
    n = max(1, request_bytes // per_line)
    lines = flow_lines(n)
    per_record = -(-n // MAX_RECORDS)
    records = []
    for k in range(0, n, per_record):
        data = "".join(json.dumps({"message": l}) + "\n" for l in lines[k:k + per_record])
        records.append('{"data":"' + base64.b64encode(data.encode()).decode() + '"}')
    fixed = ('{"records":[' + ",".join(records) + '],"timestamp":1716595200000,"requestId":"').encode()
    return fixed, n, len(records)


class Member:
    """One gzip member per request around the shared, pre-deflated part."""

    HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

    def __init__(self, fixed):
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.deflated = c.compress(fixed) + c.flush(zlib.Z_SYNC_FLUSH)
        self.crc, self.size = zlib.crc32(fixed), len(fixed)

    def body(self, rid):
        end = rid.encode() + b'"}'
        c = zlib.compressobj(1, zlib.DEFLATED, -15)
        trailer = struct.pack("<II", zlib.crc32(end, self.crc), (self.size + len(end)) & 0xFFFFFFFF)
        return b"".join((self.HEADER, self.deflated, c.compress(end), c.flush(), trailer))


def load(addr, key, seconds, clients, request_bytes, rate=None):
    fixed, lines, records = records_part(request_bytes)
    member = Member(fixed)
    rate = rate / lines if rate else None       # records/s -> requests/s
    sample = member.body(str(uuid.uuid4()))
    assert json.loads(gzip.decompress(sample))["records"], "the member does not decode"
    host, port = addr.rsplit(":", 1)
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    latencies, statuses, failures = [], {}, []

    def client(n):
        conn = http.client.HTTPConnection(host, int(port), timeout=200)
        mine, counts = [], {}
        # Paced: client n sends at start + (n + k * clients) / rate.
        slot = time.monotonic() + (n / rate if rate else 0)
        while time.monotonic() < deadline:
            if rate:
                wait = slot - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                slot += clients / rate
                if time.monotonic() >= deadline:
                    break
            rid = str(uuid.uuid4())
            body = member.body(rid)
            headers = {
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "X-Amz-Firehose-Protocol-Version": "1.0",
                "X-Amz-Firehose-Request-Id": rid,
                "X-Amz-Firehose-Source-Arn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/bench",
                "X-Amz-Firehose-Access-Key": key,
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except OSError as e:
                with lock:
                    failures.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=200)
                continue
            took = time.perf_counter() - t0
            counts[resp.status] = counts.get(resp.status, 0) + 1
            if resp.status == 200:
                mine.append(took)
        conn.close()
        with lock:
            latencies.extend(mine)
            for k, v in counts.items():
                statuses[k] = statuses.get(k, 0) + v

    cpu0, t0 = time.process_time(), time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else None
    ok = statuses.get(200, 0)
    json.dump({
        "request_body_bytes": member.size + 38, "request_gzip_bytes": len(sample), "lines_per_request": lines,
        "records_per_request": records, "clients": clients, "rate_rps": rate, "seconds": wall,
        "requests": sum(statuses.values()), "statuses": statuses, "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "ok": ok, "lines_ok": ok * lines, "records_ok": ok * records,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": latencies[-1] * 1000 if latencies else None,
        "generator_cpu_s": cpu,
    }, sys.stdout)
    print()


def sample(folder, n, files):
    """The same kind of lines as plain gzip objects, for `ingest dir`."""
    os.makedirs(folder, exist_ok=True)
    lines = flow_lines(n)
    header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
    per = -(-n // files)
    for f in range(files):
        chunk = lines[f * per:(f + 1) * per]
        with gzip.open(os.path.join(folder, f"part-{f:03}.log.gz"), "wt", compresslevel=6) as out:
            out.write(header + "\n".join(chunk) + "\n")
    print(json.dumps({"lines": n, "files": files}))


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
             float(sys.argv[7]) if len(sys.argv) > 7 else None)
    elif sys.argv[1] == "sample":
        sample(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
