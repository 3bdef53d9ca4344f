//! After SIGTERM the data directory holds Parquet parts that an independent
//! reader (pyarrow) opens, with every pushed row and its line intact: in
//! `_line` with `line_encoding: plain`, rebuilt from the skeleton dictionary
//! and variable columns with the default `templates` (the reader below is
//! the reference for that format, docs/storage.md describes it).

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::json;

use crate::common::{json_body, now_ns, part_files, Server};

const READER: &str = r#"
import datetime, json, re, sys
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

def footer_value(path, pointer):
    # Basin's footer values lie in the file's body: "offset length".
    offset, length = map(int, pointer.split())
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)

def skeletons(packed):
    raw = zstandard.ZstdDecompressor().decompress(packed, max_output_size=1 << 30)
    out, at = [], 0
    while at < len(raw):
        n, shift = 0, 0
        while True:
            b = raw[at]
            at += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append(raw[at : at + n].decode())
        at += n
    return out

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

def render(code, ns):
    # A time mark: the row's time in layout `code`, truncated to its precision.
    t = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    frac = ns % 10**9
    date, clock = t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S")
    if code in (0x13, 0x14, 0x15):
        digits = {0x13: 3, 0x14: 6, 0x15: 9}[code]
        return "%sT%s.%s" % (date, clock, ("%09d" % frac)[:digits]) + "Z"
    if code == 0x16:
        return "%sT%sZ" % (date, clock)
    if code in (0x17, 0x18):
        return "%s %s%s%03d" % (date, clock, "," if code == 0x17 else ".", frac // 10**6)
    if code == 0x19:
        return "%02d/%s/%04d:%s +0000" % (t.day, MONTHS[t.month - 1], t.year, clock)
    return "%s %2d %s" % (MONTHS[t.month - 1], t.day, clock)

def join(skeleton, values, ns):
    out, n = [], 0
    for piece in re.split("(\x11|\x12.)", skeleton):
        if piece == "\x11":
            out.append(values[n] if n < len(values) else "")
            n += 1
        elif piece.startswith("\x12"):
            out.append(render(ord(piece[1]), ns))
        else:
            out.append(piece)
    return "".join(out)

rows, templated, timed = [], 0, 0
for path in sys.argv[1:]:
    part = pq.ParquetFile(path)
    footer = part.metadata.metadata
    pointer = footer.get(b"basin.templates")
    tpl = skeletons(footer_value(path, pointer.decode())) if pointer else []
    version = int(footer[b"basin.format_version"])
    for block in range(part.num_row_groups):
        table = part.read_row_group(block)
        # Parts keep times in the coarsest unit that holds them (s, ms, us or ns).
        times = table.column("_time").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_pylist()
        block_rows = table.drop_columns(["_time"]).to_pylist()
        # From format 8 a block's variables are grouped by skeleton number,
        # in row order within a group.
        order = range(len(block_rows))
        if version >= 8:
            order = sorted(order, key=lambda r: block_rows[r].get("_tpl") or 0)
        position = [0] * len(block_rows)
        for at, r in enumerate(order):
            position[r] = at
        for r, (ts, row) in enumerate(zip(times, block_rows)):
            line = row["_line"]
            if row.get("_tpl"):
                # _v0.._v22 hold a variable each, _v23 the rest joined by 0x11.
                held = block_rows[position[r]]
                columns = [held.get("_v%d" % i) or "" for i in range(24)]
                values = columns[:23] + columns[23].split("\x11")
                line = join(tpl[row["_tpl"] - 1], values, ts)
                templated += 1
                timed += "\x12" in tpl[row["_tpl"] - 1]
            fields = {k: v for k, v in row.items() if not k.startswith("_") and v is not None}
            rows.append([ts, row["_stream"], line, fields])
print(json.dumps({"rows": rows, "templated": templated, "timed": timed}))
"#;

#[test]
fn sigterm_flushes_to_parquet_that_pyarrow_reads() {
    let (templated, timed) = flush_and_read("");
    assert!(templated > 0, "no templated line in the parts");
    // Five lines in eight show their own time.
    assert_eq!(timed, 3 * 3000 * 5 / 8, "lines with their time marked");
}

#[test]
fn plain_line_encoding_keeps_whole_lines_in_parquet() {
    let (templated, _) = flush_and_read("line_encoding: plain\n");
    assert_eq!(templated, 0);
}

/// Times as lines show them (chrono formats).
const TIME_FORMATS: [&str; 5] = [
    "%Y-%m-%dT%H:%M:%S%.3fZ",
    "%Y-%m-%d %H:%M:%S,%3f",
    "[%d/%b/%Y:%H:%M:%S +0000]",
    "<14>%b %e %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.9fZ",
];

/// Pushes lines, stops the server with SIGTERM, checks pyarrow reads every
/// row back; returns how many lines it rebuilt from templates, and of
/// those how many with a time mark.
fn flush_and_read(config: &str) -> (u64, u64) {
    let mut server = Server::start(&format!(
        "flush_interval: 1h\nmax_entries_limit_per_query: 20000\n{config}"
    ));
    let ts = now_ns() - 10_000_000_000;
    let mut pushed: BTreeMap<String, (i64, String, Option<String>)> = BTreeMap::new();
    for (s, svc) in ["api", "web", "db"].iter().enumerate() {
        let values: Vec<_> = (0..3000)
            .map(|i| {
                // Some lines with more variables than there are columns.
                let many: String = match i % 500 {
                    0 => (0..30).map(|k| format!(" n{k}")).collect(),
                    _ => String::new(),
                };
                // Some lines show their own time, in each layout Basin marks.
                let shown = match i % 8 {
                    1..=5 => {
                        chrono::DateTime::from_timestamp_nanos(ts + i)
                            .format(TIME_FORMATS[i as usize % 8 - 1])
                            .to_string()
                            + " "
                    }
                    _ => String::new(),
                };
                let line = format!(
                    "{shown}{svc} request {i} took {}ms ünïcode \"quoted\"{many}",
                    i % 97
                );
                let trace = (i % 2 == 0).then(|| format!("trace-{s}-{i}"));
                pushed.insert(
                    line.clone(),
                    (ts + i, format!(r#"{{job="{svc}"}}"#), trace.clone()),
                );
                match trace {
                    Some(t) => json!([(ts + i).to_string(), line, {"trace_id": t}]),
                    None => json!([(ts + i).to_string(), line]),
                }
            })
            .collect();
        server.push_json(None, &json_body(json!({"job": svc}), values));
    }
    assert!(
        part_files(&server.data_dir()).is_empty(),
        "flushed before SIGTERM"
    );
    let (code, took) = server.terminate();
    assert_eq!(code, Some(0), "exit code after SIGTERM:\n{}", server.log());
    assert!(took.as_secs() < 10, "took {took:?} to stop");

    let files = part_files(&server.data_dir());
    assert!(!files.is_empty());
    let out = Command::new("python3")
        .arg("-c")
        .arg(READER)
        .args(&files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyarrow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = read["rows"].as_array().unwrap();
    assert_eq!(rows.len(), pushed.len());
    for row in rows {
        let line = row[2].as_str().unwrap();
        let (ts, labels, trace) = pushed
            .get(line)
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        assert_eq!(row[0].as_i64().unwrap(), *ts);
        assert_eq!(row[1].as_str().unwrap(), labels);
        assert_eq!(
            row[3].get("trace_id").and_then(|v| v.as_str()),
            trace.as_deref()
        );
    }
    // The WAL no longer needs to hold any of it, and a restart sees it all once.
    server.spawn();
    assert_eq!(
        server.lines(None, r#"{job=~"api|web|db"}"#).len(),
        pushed.len()
    );
    (
        read["templated"].as_u64().unwrap(),
        read["timed"].as_u64().unwrap(),
    )
}
