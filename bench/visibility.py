"""Visibility: how long after a push is acknowledged its line shows in a
query. Pushes N lines one at a time (Loki JSON push, a stream of its own),
and after each acknowledgement polls query_range for the line's unique token
until it is there. Prints and writes p50, p99 and max in seconds.

usage: visibility.py URL OUT_JSON [N] [QUERY_URL]
(QUERY_URL: where to query, when pushes go elsewhere, e.g. an ingest node
and its indexer)"""
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid

url, out = sys.argv[1:3]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
query_url = sys.argv[4] if len(sys.argv) > 4 else url


def push(token):
    now_ns = time.time_ns()
    body = json.dumps({"streams": [{"stream": {"bench": "visibility"},
                                    "values": [[str(now_ns), f"visibility probe {token}"]]}]}).encode()
    req = urllib.request.Request(f"{url}/loki/api/v1/push", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204, r.status
    return now_ns


def visible(token, pushed_ns):
    q = urllib.parse.urlencode({
        "query": '{bench="visibility"} |= "%s"' % token,
        "start": str(pushed_ns - 60_000_000_000), "end": str(pushed_ns + 60_000_000_000), "limit": "1",
    })
    with urllib.request.urlopen(f"{query_url}/loki/api/v1/query_range?{q}", timeout=30) as r:
        return any(s["values"] for s in json.load(r)["data"]["result"])


delays = []
for _ in range(n):
    token = uuid.uuid4().hex
    pushed_ns = push(token)
    acked = time.perf_counter()
    while not visible(token, pushed_ns):
        if time.perf_counter() - acked > 30:
            sys.exit(f"line {token} not visible 30 s after its push was acknowledged")
        time.sleep(0.001)
    delays.append(time.perf_counter() - acked)

delays.sort()
result = {
    "probes": n,
    "p50_seconds": statistics.median(delays),
    "p99_seconds": delays[min(n - 1, int(0.99 * n))],
    "max_seconds": delays[-1],
}
json.dump(result, open(out, "w"), indent=2)
print(f"visibility: p50 {result['p50_seconds']*1000:.1f} ms, p99 {result['p99_seconds']*1000:.1f} ms, "
      f"max {result['max_seconds']*1000:.1f} ms over {n} probes", file=sys.stderr)
