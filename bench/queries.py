"""The query suite of bench/run: each query runs once to warm up, then five
times; the median is reported, and the answer is checked against one worked
out independently from corpus.tsv (no Basin involved). Baselines (rg over the
raw corpus, zstd -dc | rg) are timed the same way.

usage: queries.py URL CORPUS_DIR ZSTD_FILE OUT_JSON"""
import json
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict

url, corpus, zst, out = sys.argv[1:5]
meta = json.load(open(f"{corpus}/needles.json"))
streams = [line.rstrip("\n") for line in open(f"{corpus}/streams.txt")]
BASE = 1_767_225_600  # corpus start, seconds
# The loghub corpus (gen-corpus --corpus loghub) has no JSON services; its
# queries on one service pick a text log with levels in its headers.
LOGHUB = meta.get("corpus") == "loghub"
JSON_SERVICES = [] if LOGHUB else ["api", "auth", "billing", "cart", "checkout", "orders", "payments", "users"]
ONE_SERVICE = "hdfs" if LOGHUB else "api"


def labels_of(text):
    return dict(p.split("=", 1) for p in text.strip("{}").replace('"', "").split(", "))


stream_labels = [labels_of(s) for s in streams]

# Expected answers, from the corpus itself.
word = label_word = status5xx = 0
prod_by_service = Counter()
lines_by_service = Counter()
latencies = defaultdict(list)
users = Counter()
for raw in open(f"{corpus}/corpus.tsv", encoding="utf-8"):
    ts, stream, line = raw.rstrip("\n").split("\t", 2)
    lab = stream_labels[int(stream)]
    has_error = "error" in line
    word += has_error
    lines_by_service[lab["service"]] += 1
    if lab["service"] == ONE_SERVICE and lab["env"] == "prod" and has_error:
        label_word += 1
    if lab["env"] == "prod":
        prod_by_service[lab["service"]] += 1
    if lab["service"] in JSON_SERVICES:
        rec = json.loads(line.replace("\\\\", "\\"))
        if rec["http"]["status"] >= 500:
            status5xx += 1
        latencies[rec["http"]["route"]].append(rec["latency_ms"])
        users[rec["user_id"]] += 1


def quantile(q, values):
    v = sorted(values)
    rank = q * (len(v) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] * (1 - (rank - lo)) + v[hi] * (rank - lo)


def get(path, **params):
    q = urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(f"{url}{path}?{q}", timeout=600) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        sys.exit(f"{path} {params}: {e.code} {e.read().decode(errors='replace')}")


first_seconds = {}


def timed(fn, runs=5, name=None):
    t0 = time.perf_counter()
    fn()  # warm-up; its time is the cold one (caches empty)
    if name:
        first_seconds[name] = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), answer


json_sel = '{service=~"%s"}' % "|".join(JSON_SERVICES)
day = {"time": str(BASE + 86_400)}
needle = meta["needles"][0]["token"]
results = {}


def scalar(answer):
    r = answer["data"]["result"]
    return float(r[0]["value"][1]) if r else 0.0


checks = {
    "needle token": (
        lambda: get("/loki/api/v1/query_range", query='{env=~".+"} |= "%s"' % needle,
                    start=str(BASE - 1), end=str(BASE + 86_400), limit="10"),
        lambda a: sum(len(s["values"]) for s in a["data"]["result"]) == 1,
    ),
    "common word count": (
        lambda: get("/loki/api/v1/query", query='sum(count_over_time({env=~".+"} |= "error" [25h]))', **day),
        lambda a: scalar(a) == word,
    ),
    "regex without literal prefix": (
        lambda: get("/loki/api/v1/query", query='sum(count_over_time({env=~".+"} |~ "[0-9]{4}ms" [25h]))', **day),
        None,
    ),
    "label filter + word": (
        lambda: get("/loki/api/v1/query", query='sum(count_over_time({service="%s", env="prod"} |= "error" [25h]))' % ONE_SERVICE, **day),
        lambda a: scalar(a) == label_word,
    ),
    "| json | status >= 500": (
        lambda: get("/loki/api/v1/query", query="sum(count_over_time(%s | json | http_status >= 500 [25h]))" % json_sel, **day),
        lambda a: scalar(a) == status5xx,
    ),
    "sum by (service) over 24h, step 5m": (
        lambda: get("/loki/api/v1/query_range", query='sum by (service) (count_over_time({env="prod"}[5m]))',
                    start=str(BASE), end=str(BASE + 86_400), step="300"),
        lambda a: {s["metric"]["service"]: sum(float(v[1]) for v in s["values"]) for s in a["data"]["result"]}
        == {k: float(v) for k, v in prod_by_service.items()},
    ),
    "quantile_over_time unwrap by route": (
        lambda: get("/loki/api/v1/query", query="quantile_over_time(0.99, %s | json | unwrap latency_ms [25h]) by (http_route)" % json_sel, **day),
        lambda a: all(abs(float(s["value"][1]) - quantile(0.99, latencies[s["metric"]["http_route"]])) < 1e-6
                      for s in a["data"]["result"]) and len(a["data"]["result"]) == len(latencies),
    ),
    "topk high-cardinality field": (
        lambda: get("/loki/api/v1/query", query="topk(10, sum by (user_id) (count_over_time(%s | json [25h])))" % json_sel, **day),
        lambda a: sorted(float(s["value"][1]) for s in a["data"]["result"]) == sorted(float(c) for _, c in users.most_common(10)),
    ),
    "label values": (
        lambda: get("/loki/api/v1/label/service/values", start=str(BASE), end=str(BASE + 86_400)),
        lambda a: len(a["data"]) == len(lines_by_service),
    ),
    # Grafana's log volume histogram, levels detected in the lines at query time.
    "volume by level, one service, 24h step 5m": (
        lambda: get("/loki/api/v1/query_range",
                    query='sum by (level, detected_level) (count_over_time({service="%s"} | drop __error__ [5m]))' % ONE_SERVICE,
                    start=str(BASE), end=str(BASE + 86_400), step="300"),
        lambda a: all("detected_level" in s["metric"] for s in a["data"]["result"])
        and len(a["data"]["result"]) > 1
        and sum(float(v[1]) for s in a["data"]["result"] for v in s["values"]) == lines_by_service[ONE_SERVICE],
    ),
}
if LOGHUB:
    for name in ["| json | status >= 500", "quantile_over_time unwrap by route", "topk high-cardinality field"]:
        del checks[name]
for name, (run, check) in checks.items():
    seconds, answer = timed(run, name=name)
    ok = check(answer) if check else None
    results[name] = {"median_seconds": seconds, "first_seconds": first_seconds[name], "correct": ok}
    print(f"{name}: {seconds*1000:.1f} ms, correct={ok}", file=sys.stderr)

# The regex count, checked against rg over the same entries.
rg_regex = int(subprocess.run(["rg", "-c", "[0-9]{4}ms", f"{corpus}/corpus.tsv"], capture_output=True, text=True).stdout or 0)
answer = checks["regex without literal prefix"][0]()
results["regex without literal prefix"]["correct"] = scalar(answer) == rg_regex


def baseline(cmd, shell=False):
    def run():
        return subprocess.run(cmd, shell=shell, capture_output=True, text=True).stdout
    seconds, _ = timed(run)
    return seconds


raw = f"{corpus}/raw.log"
results["baselines"] = {
    "rg -F needle": baseline(["rg", "-F", "-c", needle, raw]),
    "rg -c word": baseline(["rg", "-c", "error", raw]),
    "rg -c regex": baseline(["rg", "-c", "[0-9]{4}ms", raw]),
    "zstd -dc | rg -F needle": baseline(f"zstd -dc {zst} | rg -F -c {needle}", shell=True),
    "zstd -dc | rg -c word": baseline(f"zstd -dc {zst} | rg -c error", shell=True),
    "zstd -dc | rg -c regex": baseline(f"zstd -dc {zst} | rg -c '[0-9]{{4}}ms'", shell=True),
}
json.dump(results, open(out, "w"), indent=2)
