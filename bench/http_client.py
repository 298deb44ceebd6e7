"""The HTTP load generator of Part 2, run as its own process (no eventlet):

    python -m bench.http_client --url URL --body-file F --requests N --concurrency C
        [--token-file T] [--expect 201] [--warmup W]

C threads, each with one keep-alive http.client connection, send the same POST
until N requests have been answered (after W unmeasured warm-up requests).
Prints one JSON object: elapsed seconds, status counts and latencies in ms.
http.client rather than requests: a lighter client leaves more of the second
core to the server, so the figures are the server's, not the client's.
"""

import argparse
import http.client
import itertools
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


def run(url, body, headers, total, concurrency, timeout=30):
    parts = urlsplit(url)
    counter = itertools.count()
    lock = threading.Lock()
    statuses, latencies, errors = {}, [], []

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        mine = []
        try:
            while next(counter) < total:
                started = time.perf_counter()
                try:
                    conn.request("POST", parts.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                    if resp.will_close:
                        conn.close()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    status = f"error {type(exc).__name__}"
                    with lock:
                        errors.append(str(exc)[:200])
                mine.append((time.perf_counter() - started, status))
        finally:
            conn.close()
        with lock:
            for latency, status in mine:
                latencies.append(latency)
                statuses[str(status)] = statuses.get(str(status), 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"elapsed_s": elapsed, "statuses": statuses, "errors": errors[:5],
            "latencies_ms": [round(x * 1000, 3) for x in latencies]}


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench.http_client")
    p.add_argument("--url", required=True)
    p.add_argument("--body-file", required=True)
    p.add_argument("--token-file")
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--concurrency", type=int, required=True)
    p.add_argument("--warmup", type=int, default=0)
    args = p.parse_args(argv)

    with open(args.body_file, "rb") as f:
        body = f.read()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if args.token_file:
        with open(args.token_file) as f:
            headers["Authorization"] = f"Bearer {f.read().strip()}"
    if args.warmup:
        run(args.url, body, headers, args.warmup, args.concurrency)
    result = run(args.url, body, headers, args.requests, args.concurrency)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
