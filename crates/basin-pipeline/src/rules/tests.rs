//! Rules from YAML to changed batches. The query engine's selector is
//! replaced by a small stand-in: `{a="b", ...}` optionally followed by one
//! `|= "text"` filter.

use basin_model::{Entry, Labels, PushBatch, StreamBatch, TenantId};

use super::*;

struct Stand {
    labels: Labels,
    contains: Option<String>,
}

impl Selector for Stand {
    fn matches_stream(&self, stream: &Labels) -> bool {
        self.labels
            .pairs()
            .iter()
            .all(|(k, v)| stream.get(k) == Some(v.as_str()))
    }

    fn matches_entry(&self, s: &Labels, entry: &Entry) -> bool {
        self.matches_stream(s)
            && self
                .contains
                .as_ref()
                .is_none_or(|c| entry.line.contains(c))
    }
}

fn stand(text: &str) -> Result<Box<dyn Selector>, String> {
    let (sel, filter) = match text.split_once(" |= ") {
        Some((s, f)) => (s, Some(f.trim_matches('"').to_string())),
        None => (text, None),
    };
    let labels = Labels::parse(sel).map_err(|e| e.to_string())?;
    Ok(Box::new(Stand {
        labels,
        contains: filter,
    }))
}

fn rules(yaml: &str) -> Result<Rules, RuleError> {
    let configs: Vec<RuleConfig> = serde_yaml::from_str(yaml).unwrap();
    Rules::new(
        &configs,
        &[("ORDER".to_string(), r"ord-\d+".to_string())],
        &stand,
    )
}

fn batch(labels: &str, lines: &[&str]) -> PushBatch {
    PushBatch {
        tenant: TenantId::default_tenant(),
        streams: vec![StreamBatch {
            labels: Labels::parse(labels).unwrap(),
            entries: lines.iter().map(|l| Entry::new(1, *l)).collect(),
        }],
    }
}

fn field<'a>(e: &'a Entry, name: &str) -> Option<&'a str> {
    e.fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn grok_with_the_standard_library_and_custom_patterns() {
    let r = rules(
        r#"
- match: '{job="web"}'
  steps:
    - grok: '%{IPORHOST:client} %{USER:ident} %{USER:auth} \[%{HTTPDATE:when}\] "%{WORD:method} %{NOTSPACE:path} HTTP/%{NUMBER:http.version}" %{NUMBER:status:int}'
    - grok: 'order %{ORDER:order_id}'
"#,
    )
    .unwrap();
    let mut b = batch(
        r#"{job="web"}"#,
        &[
            r#"10.1.2.3 - bob [01/May/2024:12:00:00 +0000] "POST /pay HTTP/1.1" 502 17 order ord-42"#,
        ],
    );
    r.apply(&mut b);
    let e = &b.streams[0].entries[0];
    assert_eq!(field(e, "client"), Some("10.1.2.3"));
    assert_eq!(field(e, "auth"), Some("bob"));
    assert_eq!(field(e, "method"), Some("POST"));
    assert_eq!(field(e, "status"), Some("502"));
    assert_eq!(field(e, "http_version"), Some("1.1"));
    assert_eq!(field(e, "order_id"), Some("ord-42"));
    // Other streams are untouched.
    let mut other = batch(r#"{job="db"}"#, &["10.1.2.3 - - x"]);
    r.apply(&mut other);
    assert!(other.streams[0].entries[0].fields.is_empty());
}

#[test]
fn parsing_and_field_steps() {
    let r = rules(
        r#"
- match: '{job="app"}'
  steps:
    - regex: 'user=(?P<user>\w+)'
    - json: payload
    - logfmt:
    - rename: {user: user_name}
    - drop_fields: [secret]
- match: '{job="app"}'
  steps:
    - keep_fields: [user_name, a, b_c, x]
"#,
    )
    .unwrap();
    let mut b = batch(r#"{job="app"}"#, &["x=1 user=ann secret=s"]);
    b.streams[0].entries[0]
        .fields
        .push(("payload".into(), r#"{"a":1,"b":{"c":"d"}}"#.into()));
    r.apply(&mut b);
    let mut fields = b.streams[0].entries[0].fields.clone();
    fields.sort();
    let want: Vec<(String, String)> = [("a", "1"), ("b_c", "d"), ("user_name", "ann"), ("x", "1")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(fields, want);
}

#[test]
fn drop_sample_mask_and_set_labels() {
    let r = rules(
        r#"
- match: '{job="web"}'
  steps:
    - drop: '|= "/health"'
    - mask: [email, {pattern: 'pin=\d+', replacement: 'pin=<pin>'}]
    - sample: 2
    - set_labels: {team: shop, job: frontend}
"#,
    )
    .unwrap();
    let mut b = batch(
        r#"{job="web", env="prod"}"#,
        &[
            "GET /health",
            "mail ann@example.com pin=1234",
            "line 2",
            "line 3",
            "GET /health",
            "line 4",
        ],
    );
    assert_eq!(r.apply(&mut b), 4, "two health checks and two sampled out");
    let s = &b.streams[0];
    assert_eq!(
        s.labels.to_string(),
        r#"{env="prod", job="frontend", team="shop"}"#
    );
    let lines: Vec<&str> = s.entries.iter().map(|e| e.line.as_str()).collect();
    assert_eq!(lines, ["mail <email> pin=<pin>", "line 3"]);
}

#[test]
fn errors_name_the_rule_and_step() {
    let err = |yaml: &str| rules(yaml).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err("- match: '{job=\"a\"}'\n  steps: [{grok: '%{NOPE:x}'}]")
            .starts_with("pipelines[0].steps[0]: grok"),
        "{}",
        err("- match: '{job=\"a\"}'\n  steps: [{grok: '%{NOPE:x}'}]")
    );
    assert!(err("- match: '{job=\"a\"}'\n  steps: [{regex: '\\w+'}]").contains("no named group"));
    assert!(err("- match: '{job=\"a\"}'\n  steps: [{sample: 0}]").contains("at least 1"));
    assert!(
        err("- match: '{job=\"a\"}'\n  steps: [{set_labels: {'a-b': x}}]")
            .contains("not a valid label name")
    );
    assert!(err("- match: '{job=\"a\"}'\n  steps: [{mask: [nope]}]").contains("nope"));
    assert!(err("- match: 'job'\n  steps: []").starts_with("pipelines[0].match"));
    let parse = |yaml: &str| {
        serde_yaml::from_str::<Vec<RuleConfig>>(yaml)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(parse("- match: '{a=\"b\"}'\n  steps: [{frobnicate: 1}]").contains("frobnicate"));
    assert!(
        parse("- match: '{a=\"b\"}'\n  steps: [{grok: x, regex: y}]").contains("this one has 2")
    );
}
