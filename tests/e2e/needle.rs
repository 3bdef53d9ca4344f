//! A needle in 1,000,000 lines: the block index lets the query read only the
//! blocks whose token filter admits the needle, and the answer's stats say so.

use serde_json::Value;

use crate::common::{now_ns, proto_body, ProtoEntry, Server};

#[test]
fn needle_query_reads_only_admitted_blocks() {
    const LINES: usize = 1_000_000;
    const NEEDLE_AT: usize = 654_321;
    let mut server = Server::start("");
    let base = now_ns() - 1_800_000_000_000;
    let lines: Vec<String> = (0..LINES)
        .map(|i| {
            let id = if i == NEEDLE_AT {
                "needle_4242".to_string()
            } else {
                format!("req_{i}")
            };
            format!(
                "level=info request_id={id} user=u{} msg=\"handled request\"",
                i % 1000
            )
        })
        .collect();
    for (chunk_no, chunk) in lines.chunks(20_000).enumerate() {
        let entries: Vec<ProtoEntry<'_>> = chunk
            .iter()
            .enumerate()
            .map(|(j, l)| {
                (
                    base + ((chunk_no * 20_000 + j) as i64) * 1_000,
                    l.as_str(),
                    vec![],
                )
            })
            .collect();
        let (status, text) = server.push_raw(
            None,
            &proto_body(vec![(r#"{job="needle"}"#, entries)]),
            &[("Content-Type", "application/x-protobuf")],
        );
        assert_eq!(status, 204, "{text}");
    }
    // Restart so every line is in parts, where the block index applies.
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    server.spawn();

    let (status, body, text) = server.query_raw(
        None,
        &[
            ("query", r#"{job="needle"} |= "request_id=needle_4242 ""#),
            ("start", &(base - 1).to_string()),
            ("end", &now_ns().to_string()),
            ("limit", "10"),
        ],
        &[],
    );
    assert_eq!(status, 200, "{text}");
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{text}");
    assert_eq!(result[0]["values"].as_array().unwrap().len(), 1);
    assert!(result[0]["values"][0][1]
        .as_str()
        .unwrap()
        .contains("needle_4242"));

    let stats: &Value = &body["data"]["stats"]["basin"];
    let total = stats["blocksTotal"].as_u64().unwrap();
    let read = stats["blocksRead"].as_u64().unwrap();
    let pruned = stats["blocksPrunedByTokens"].as_u64().unwrap();
    assert!(total >= (LINES / 8192) as u64, "{stats}");
    // The needle's block, plus at most a couple of bloom false positives.
    assert!(
        (1..=3).contains(&read),
        "read {read} of {total} blocks: {stats}"
    );
    assert_eq!(read + pruned, total, "{stats}");
    assert!(stats["rowsRead"].as_u64().unwrap() <= 3 * 8192, "{stats}");
}
