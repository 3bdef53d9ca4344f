//! Parser stages: `json`, `logfmt`, `regexp`, `pattern`, `unpack`. Each adds
//! the labels it extracts; a line it cannot parse gets `__error__`.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::Regex;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::label_set::{LabelSet, Origin};
use crate::QueryError;

use basin_model::sanitize_label_name as sanitize_label;

/// `| json`: every scalar, nested keys joined with `_`; arrays are skipped.
pub fn json_all(line: &str, labels: &mut LabelSet) {
    json_wanted(line, labels, None);
}

/// `| json` keeping only the labels named in `wanted` (all when None).
pub fn json_wanted(line: &str, labels: &mut LabelSet, wanted: Option<&[String]>) {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => {
            for (k, v) in &map {
                flatten(&sanitize_label(k), v, labels, wanted);
            }
        }
        Ok(_) => labels.set_error("JSONParserErr", "line is not a JSON object"),
        Err(e) => labels.set_error("JSONParserErr", e.to_string()),
    }
}

fn flatten(prefix: &str, v: &Value, labels: &mut LabelSet, wanted: Option<&[String]>) {
    let keep = || wanted.is_none_or(|w| w.iter().any(|n| n == prefix));
    match v {
        Value::Object(map) => {
            // No wanted name starts with this prefix: nothing below is kept.
            if wanted.is_some_and(|w| !w.iter().any(|n| n.starts_with(prefix))) {
                return;
            }
            for (k, v) in map {
                flatten(
                    &format!("{prefix}_{}", sanitize_label(k)),
                    v,
                    labels,
                    wanted,
                );
            }
        }
        Value::Array(_) | Value::Null => {}
        Value::String(s) if keep() => labels.add(prefix, s, Origin::Parsed),
        Value::Number(n) if keep() => labels.add(prefix, &n.to_string(), Origin::Parsed),
        Value::Bool(b) if keep() => {
            labels.add(prefix, if *b { "true" } else { "false" }, Origin::Parsed)
        }
        _ => {}
    }
}

/// One step of a JSON path: a key or an index.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Parses `a.b[0]["c d"]` into steps.
pub fn parse_json_path(path: &str) -> Result<Vec<PathStep>, QueryError> {
    let bad = || QueryError::Plan(format!("invalid JSON path {path:?}"));
    let mut steps = Vec::new();
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    let mut key = String::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                if !key.is_empty() {
                    steps.push(PathStep::Key(std::mem::take(&mut key)));
                }
                i += 1;
            }
            '[' => {
                if !key.is_empty() {
                    steps.push(PathStep::Key(std::mem::take(&mut key)));
                }
                let close = chars[i..].iter().position(|&c| c == ']').ok_or_else(bad)? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    steps.push(PathStep::Key(q.to_string()));
                } else {
                    steps.push(PathStep::Index(inner.parse().map_err(|_| bad())?));
                }
                i = close + 1;
            }
            c => {
                key.push(c);
                i += 1;
            }
        }
    }
    if !key.is_empty() {
        steps.push(PathStep::Key(key));
    }
    if steps.is_empty() {
        return Err(bad());
    }
    Ok(steps)
}

/// `| json a="x.y"`: only the given paths; a missing path gives "".
pub fn json_paths(line: &str, paths: &[(String, Vec<PathStep>)], labels: &mut LabelSet) {
    // Most lines are objects: their values are only scanned, and just the
    // ones a path reaches are decoded.
    if let Ok(root) = serde_json::from_str::<HashMap<Cow<'_, str>, &RawValue>>(line) {
        for (label, path) in paths {
            let value = match path.split_first() {
                Some((PathStep::Key(k), rest)) => {
                    root.get(k.as_str()).and_then(|raw| follow(raw, rest))
                }
                _ => None,
            };
            let value = match value {
                Some(Value::String(s)) => s,
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            labels.add(label, &value, Origin::Parsed);
        }
        return;
    }
    let root = match serde_json::from_str::<Value>(line) {
        Ok(v) => v,
        Err(e) => {
            labels.set_error("JSONParserErr", e.to_string());
            return;
        }
    };
    for (label, path) in paths {
        let mut cur = Some(&root);
        for step in path {
            cur = match (cur, step) {
                (Some(Value::Object(m)), PathStep::Key(k)) => m.get(k),
                (Some(Value::Array(a)), PathStep::Index(i)) => a.get(*i),
                _ => None,
            };
        }
        let value = match cur {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        labels.add(label, &value, Origin::Parsed);
    }
}

/// The value at `path` below `raw`, decoding only what the path crosses.
fn follow(raw: &RawValue, path: &[PathStep]) -> Option<Value> {
    let Some((step, rest)) = path.split_first() else {
        return serde_json::from_str::<Value>(raw.get()).ok();
    };
    let next = match step {
        PathStep::Key(k) => serde_json::from_str::<HashMap<Cow<'_, str>, &RawValue>>(raw.get())
            .ok()?
            .get(k.as_str())
            .copied(),
        PathStep::Index(i) => serde_json::from_str::<Vec<&RawValue>>(raw.get())
            .ok()?
            .get(*i)
            .copied(),
    }?;
    follow(next, rest)
}

/// `| unpack`: a JSON object of strings; `_entry` becomes the line.
pub fn unpack(line: &mut String, labels: &mut LabelSet) {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => {
            let mut entry = None;
            for (k, v) in map {
                if let Value::String(s) = v {
                    if k == "_entry" {
                        entry = Some(s);
                    } else {
                        labels.add(&sanitize_label(&k), &s, Origin::Parsed);
                    }
                }
            }
            if let Some(e) = entry {
                *line = e;
            }
        }
        Ok(_) => labels.set_error("JSONParserErr", "line is not a JSON object"),
        Err(e) => labels.set_error("JSONParserErr", e.to_string()),
    }
}

/// `| logfmt`: `key=value key2="quoted value"` pairs.
pub fn logfmt(
    line: &str,
    strict: bool,
    keep_empty: bool,
    only: &[(String, String)],
    wanted: Option<&[String]>,
    labels: &mut LabelSet,
) {
    let pairs = match parse_logfmt(line, strict) {
        Ok(p) => p,
        Err(e) => {
            labels.set_error("LogfmtParserErr", e);
            return;
        }
    };
    if only.is_empty() {
        for (k, v) in pairs {
            if v.is_none() && !keep_empty {
                continue;
            }
            let v = v.unwrap_or_default();
            if v.is_empty() && !keep_empty {
                continue;
            }
            let name = sanitize_label(k);
            if wanted.is_some_and(|w| !w.contains(&name)) {
                continue;
            }
            labels.add(&name, &v, Origin::Parsed);
        }
    } else {
        for (label, key) in only {
            if let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == key) {
                labels.add(label, v.as_deref().unwrap_or(""), Origin::Parsed);
            }
        }
    }
}

/// A logfmt key and its value (None: a key without `=`).
type LogfmtPair<'a> = (&'a str, Option<Cow<'a, str>>);

/// Parses logfmt; `None` values are keys without `=`. Strict mode refuses
/// malformed input instead of skipping it. Keys and values borrow from the
/// line; only quoted values with escapes are copied.
fn parse_logfmt(line: &str, strict: bool) -> Result<Vec<LogfmtPair<'_>>, String> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Error positions count characters, as they always have.
    let pos = |at: usize| line[..at.min(line.len())].chars().count() + 1;
    let is_space = |at: usize| {
        let c = line[at..].chars().next().unwrap_or(' ');
        (c.is_whitespace(), c.len_utf8())
    };
    while i < bytes.len() {
        loop {
            if i >= bytes.len() {
                break;
            }
            let (space, len) = is_space(i);
            if !space {
                break;
            }
            i += len;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() {
            let (space, len) = is_space(i);
            if space || bytes[i] == b'=' || bytes[i] == b'"' {
                break;
            }
            i += len;
        }
        let key = &line[start..i];
        if key.is_empty() {
            let c = line[i..].chars().next().unwrap_or(' ');
            if strict {
                return Err(format!(
                    "logfmt syntax error at pos {}: unexpected '{c}'",
                    pos(i)
                ));
            }
            // Skip the stray character and go on.
            i += c.len_utf8();
            continue;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            out.push((key, None));
            continue;
        }
        i += 1;
        if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            let vstart = i;
            let mut owned: Option<String> = None;
            let mut closed = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if i + 1 < bytes.len() => {
                        let value = owned.get_or_insert_with(|| line[vstart..i].to_string());
                        let c = line[i + 1..].chars().next().unwrap_or('\\');
                        value.push(match c {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            c => c,
                        });
                        i += 1 + c.len_utf8();
                    }
                    b'"' => {
                        closed = true;
                        break;
                    }
                    _ => {
                        let c = line[i..].chars().next().unwrap_or(' ');
                        if let Some(value) = owned.as_mut() {
                            value.push(c);
                        }
                        i += c.len_utf8();
                    }
                }
            }
            let value = match owned {
                Some(v) => Cow::Owned(v),
                None => Cow::Borrowed(&line[vstart..i]),
            };
            if closed {
                i += 1;
            } else if strict {
                return Err(format!(
                    "logfmt syntax error at pos {}: unterminated quoted value",
                    pos(i)
                ));
            }
            out.push((key, Some(value)));
        } else {
            let vstart = i;
            while i < bytes.len() {
                let (space, len) = is_space(i);
                if space {
                    break;
                }
                if bytes[i] == b'"' && strict {
                    return Err(format!(
                        "logfmt syntax error at pos {}: unexpected '\"'",
                        pos(i)
                    ));
                }
                i += len;
            }
            out.push((key, Some(Cow::Borrowed(&line[vstart..i]))));
        }
    }
    Ok(out)
}

/// `| regexp`: named groups become labels.
pub fn regexp(line: &str, re: &Regex, labels: &mut LabelSet) {
    if let Some(caps) = re.captures(line) {
        for name in re.capture_names().flatten() {
            if let Some(m) = caps.name(name) {
                labels.add(&sanitize_label(name), m.as_str(), Origin::Parsed);
            }
        }
    }
}

/// Compiles a `regexp` stage's expression; it needs a named group.
pub fn compile_regexp_stage(re: &str) -> Result<Regex, QueryError> {
    let compiled = crate::filter_line::compile_regex(re)?;
    if compiled.capture_names().flatten().next().is_none() {
        return Err(QueryError::Plan(format!(
            "regexp {re:?} has no named capture group such as (?P<name>...)"
        )));
    }
    Ok(compiled)
}

/// A compiled `pattern` expression.
#[derive(Debug, Clone)]
pub struct Pattern {
    nodes: Vec<PatternNode>,
}

#[derive(Debug, Clone, PartialEq)]
enum PatternNode {
    Literal(String),
    /// A capture; `None` is `<_>`.
    Capture(Option<String>),
}

impl Pattern {
    /// Parses `<ip> - <_> [<ts>] "<method> <path>"`.
    pub fn new(pattern: &str) -> Result<Self, QueryError> {
        let bad = |msg: &str| QueryError::Plan(format!("invalid pattern {pattern:?}: {msg}"));
        let mut nodes = Vec::new();
        let mut rest = pattern;
        let mut literal = String::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<') {
                if let Some(end) = after.find('>') {
                    let name = &after[..end];
                    let is_name = !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !name.starts_with(|c: char| c.is_ascii_digit());
                    if is_name {
                        if !literal.is_empty() {
                            nodes.push(PatternNode::Literal(std::mem::take(&mut literal)));
                        }
                        if matches!(nodes.last(), Some(PatternNode::Capture(_))) {
                            return Err(bad("two captures must be separated by literal text"));
                        }
                        nodes.push(PatternNode::Capture(
                            (name != "_").then(|| name.to_string()),
                        ));
                        rest = &after[end + 1..];
                        continue;
                    }
                }
            }
            let c = rest.chars().next().unwrap_or(' ');
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !literal.is_empty() {
            nodes.push(PatternNode::Literal(literal));
        }
        if !nodes
            .iter()
            .any(|n| matches!(n, PatternNode::Capture(Some(_))))
        {
            return Err(bad("at least one named capture such as <name> is needed"));
        }
        Ok(Self { nodes })
    }

    /// Captures of `line`, or `None` when it does not match.
    pub fn captures<'a>(&self, line: &'a str) -> Option<Vec<(&str, &'a str)>> {
        let mut out = Vec::new();
        let mut rest = line;
        let mut i = 0;
        while i < self.nodes.len() {
            match &self.nodes[i] {
                PatternNode::Literal(l) => {
                    rest = rest.strip_prefix(l.as_str())?;
                    i += 1;
                }
                PatternNode::Capture(name) => {
                    let (value, after) = match self.nodes.get(i + 1) {
                        Some(PatternNode::Literal(l)) => {
                            let at = rest.find(l.as_str())?;
                            (&rest[..at], &rest[at + l.len()..])
                        }
                        _ => (rest, ""),
                    };
                    if let Some(n) = name {
                        out.push((n.as_str(), value));
                    }
                    rest = after;
                    i += 2;
                }
            }
        }
        Some(out)
    }
}

/// `| pattern`: named captures become labels; a line that does not match
/// gets none.
pub fn pattern(line: &str, p: &Pattern, labels: &mut LabelSet) {
    if let Some(caps) = p.captures(line) {
        for (name, value) in caps {
            labels.add(name, value, Origin::Parsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use basin_model::Labels;

    use super::*;

    fn set() -> LabelSet {
        LabelSet::new(&Labels::parse(r#"{app="api"}"#).unwrap(), &[])
    }

    #[test]
    fn json_flattens_and_reports_errors() {
        let mut l = set();
        json_all(
            r#"{"a":{"b":1,"c.d":"x"},"arr":[1],"ok":true,"n":null,"app":"dup"}"#,
            &mut l,
        );
        assert_eq!(
            l.to_string(),
            r#"{a_b="1", a_c_d="x", app="api", app_extracted="dup", ok="true"}"#
        );
        let mut l = set();
        json_all("not json", &mut l);
        assert_eq!(l.get("__error__"), Some("JSONParserErr"));
        let mut l = set();
        let paths = vec![
            ("first".to_string(), parse_json_path("servers[0]").unwrap()),
            (
                "ua".to_string(),
                parse_json_path(r#"req.headers["User-Agent"]"#).unwrap(),
            ),
            ("none".to_string(), parse_json_path("x.y").unwrap()),
        ];
        json_paths(
            r#"{"servers":["a","b"],"req":{"headers":{"User-Agent":"curl"}}}"#,
            &paths,
            &mut l,
        );
        assert_eq!(l.get("first"), Some("a"));
        assert_eq!(l.get("ua"), Some("curl"));
        assert_eq!(l.get("none"), Some(""));
    }

    #[test]
    fn logfmt_modes() {
        let mut l = set();
        logfmt(
            r#"level=info msg="hello world" empty= flag status=200"#,
            false,
            false,
            &[],
            None,
            &mut l,
        );
        assert_eq!(
            l.to_string(),
            r#"{app="api", level="info", msg="hello world", status="200"}"#
        );
        let mut l = set();
        logfmt("a=1 flag empty=", false, true, &[], None, &mut l);
        assert_eq!(l.to_string(), r#"{a="1", app="api", empty="", flag=""}"#);
        let mut l = set();
        logfmt(r#"a="unterminated"#, true, false, &[], None, &mut l);
        assert_eq!(l.get("__error__"), Some("LogfmtParserErr"));
        let mut l = set();
        logfmt(
            "a=1 b=2",
            false,
            false,
            &[("x".into(), "b".into())],
            None,
            &mut l,
        );
        assert_eq!(l.to_string(), r#"{app="api", x="2"}"#);
        // Escapes, multibyte text, stray quotes and positions in characters.
        let mut l = set();
        logfmt(
            r#"msg="é \"q\"\tx" ünï=ça k=v"#,
            false,
            false,
            &[],
            None,
            &mut l,
        );
        assert_eq!(l.get("msg"), Some("é \"q\"\tx"));
        assert_eq!(l.get("k"), Some("v"));
        let mut l = set();
        logfmt(r#"é=1 "x k=2"#, false, false, &[], None, &mut l);
        assert_eq!(l.get("k"), Some("2"));
        let mut l = set();
        logfmt(r#"é=1 "x"#, true, false, &[], None, &mut l);
        assert_eq!(l.get("__error__"), Some("LogfmtParserErr"));
        assert_eq!(
            parse_logfmt(r#"é=1 "x"#, true).expect_err("strict"),
            "logfmt syntax error at pos 5: unexpected '\"'"
        );
    }

    #[test]
    fn patterns() {
        let p = Pattern::new(r#"<ip> - <_> "<method> <path> <_>" <status>"#).unwrap();
        let caps = p
            .captures(r#"10.0.0.1 - - "GET /api HTTP/1.1" 200"#)
            .unwrap();
        assert_eq!(
            caps,
            [
                ("ip", "10.0.0.1"),
                ("method", "GET"),
                ("path", "/api"),
                ("status", "200")
            ]
        );
        assert!(p.captures("nothing like it").is_none());
        assert!(Pattern::new("<a><b>").is_err());
        assert!(Pattern::new("<_> only").is_err());
    }

    #[test]
    fn regexp_named_groups() {
        let re = compile_regexp_stage(r"(?P<method>\w+) (?P<path>\S+)").unwrap();
        let mut l = set();
        regexp("GET /x", &re, &mut l);
        assert_eq!(l.get("method"), Some("GET"));
        assert!(compile_regexp_stage(r"(\w+)").is_err());
    }
}
