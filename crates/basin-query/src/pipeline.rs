//! A compiled log pipeline: runs every stage of a query on one line.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use basin_logql::{
    LabelFormatOp, LabelSel, LineFilterOp, LineFilterValue, MatchOp, ParserStage, Stage,
};
use basin_model::level::{level_from_value, DETECTED_LEVEL_LABEL, LEVEL_FIELD, UNKNOWN_LEVEL};
use basin_model::{Entry, Labels};
use regex::Regex;

use crate::filter_line::{compile_regex, required_text, LineFilters};
use crate::label_set::{LabelSet, Origin};
use crate::pipe_label_filter::CompiledFilter;
use crate::pipe_parse::{self, PathStep, Pattern};
use crate::template::{Context, Template};
use crate::QueryError;

/// The label a line's pattern id is filtered by.
pub const PATTERN_ID_LABEL: &str = "pattern_id";

/// A line after the pipeline.
#[derive(Debug, Clone)]
pub struct Row {
    /// The line, possibly rewritten by `line_format`.
    pub line: String,
    /// Its labels.
    pub labels: LabelSet,
    /// Whether fields were already detected in the line (done once at most).
    detected: bool,
    /// The entry's pattern id (0: not mined), offered as `pattern_id`.
    pattern_id: u64,
}

impl Row {
    /// Adds the fields auto-detection finds in the line, and the entry's
    /// `pattern_id`, when one of `names` is missing, so `| status >= 500`
    /// works on lines stored unparsed (`auto_parse: off`) and
    /// `| pattern_id="12"` on every mined line. Stream labels and stored fields win over
    /// detected ones; detection runs at most once per row. A missing
    /// `detected_level` is the row's `level`, normalised, or `unknown`.
    pub fn detect_missing<'a>(&mut self, ts: i64, names: impl IntoIterator<Item = &'a str>) {
        let names: Vec<&str> = names.into_iter().collect();
        self.detect(ts, &names, false);
    }

    /// Like [`Row::detect_missing`], but adds `names` alone: series grouped
    /// by them must not split by every other field the line holds.
    pub fn detect_named(&mut self, ts: i64, names: &[&str]) {
        self.detect(ts, names, true);
    }

    fn detect(&mut self, ts: i64, names: &[&str], named_only: bool) {
        let wants_level = names.contains(&DETECTED_LEVEL_LABEL)
            && self.labels.get(DETECTED_LEVEL_LABEL).is_none();
        let had_level = self.labels.get(LEVEL_FIELD).is_some();
        let mut wanted: Vec<&str> = names.to_vec();
        if wants_level {
            wanted.push(LEVEL_FIELD);
        }
        self.detect_fields(ts, &wanted, named_only);
        if wants_level {
            let level = detected_level(self.labels.get(LEVEL_FIELD));
            self.labels
                .set(DETECTED_LEVEL_LABEL, level, Origin::Metadata);
            if named_only && !had_level && !names.contains(&LEVEL_FIELD) {
                self.labels.remove(LEVEL_FIELD);
            }
        }
    }

    fn detect_fields(&mut self, ts: i64, names: &[&str], named_only: bool) {
        if self.detected {
            return;
        }
        // `__error__` and friends are the pipeline's own, never in a line.
        let missing = |labels: &LabelSet, n: &str| !n.starts_with("__") && labels.get(n).is_none();
        if !names.iter().any(|n| missing(&self.labels, n)) {
            return;
        }
        // A row given its named fields alone may still need the others.
        self.detected = !named_only;
        let wanted = |n: &str| !named_only || names.contains(&n);
        if self.pattern_id != 0
            && missing(&self.labels, PATTERN_ID_LABEL)
            && wanted(PATTERN_ID_LABEL)
        {
            let id = self.pattern_id.to_string();
            self.labels.set(PATTERN_ID_LABEL, id, Origin::Parsed);
            if !names.iter().any(|n| missing(&self.labels, n)) {
                return;
            }
        }
        let now = chrono::DateTime::from_timestamp_nanos(ts);
        for (name, value) in basin_pipeline::auto::extract(&self.line, now) {
            if self.labels.get(&name).is_none() && wanted(&name) {
                self.labels.set(&name, value, Origin::Parsed);
            }
        }
    }
}

/// What Loki's `detected_level` says of a line whose `level` is `level`:
/// the level normalised, a value no spelling knows lowercased, or `unknown`.
pub fn detected_level(level: Option<&str>) -> String {
    let level = level.map(str::trim).unwrap_or_default();
    match level_from_value(level) {
        Some(l) => l.to_string(),
        None if level.is_empty() => UNKNOWN_LEVEL.to_string(),
        None => level.to_ascii_lowercase(),
    }
}

struct Sel {
    name: String,
    op: Option<(MatchOp, String)>,
    re: Option<Regex>,
}

impl Sel {
    fn new(s: &LabelSel) -> Result<Self, QueryError> {
        let re = match &s.matcher {
            Some((MatchOp::Re | MatchOp::NotRe, v)) => Some(compile_regex(&format!("^(?s:{v})$"))?),
            _ => None,
        };
        Ok(Self {
            name: s.name.clone(),
            op: s.matcher.clone(),
            re,
        })
    }

    fn applies(&self, name: &str, value: &str) -> bool {
        if name != self.name {
            return false;
        }
        match &self.op {
            None => true,
            Some((MatchOp::Eq, v)) => value == v,
            Some((MatchOp::Neq, v)) => value != v,
            Some((MatchOp::Re, _)) => self.re.as_ref().is_some_and(|re| re.is_match(value)),
            Some((MatchOp::NotRe, _)) => !self.re.as_ref().is_some_and(|re| re.is_match(value)),
        }
    }
}

enum Step {
    Filter(LineFilters),
    /// `| json`; with names, only those labels are kept ([`Pipeline::reading_only`]).
    JsonAll(Option<Arc<[String]>>),
    JsonPaths(Vec<(String, Vec<PathStep>)>),
    Logfmt {
        strict: bool,
        keep_empty: bool,
        params: Vec<(String, String)>,
        /// Only these labels are kept ([`Pipeline::reading_only`]).
        wanted: Option<Arc<[String]>>,
    },
    Regexp(Regex),
    Pattern(Pattern),
    Unpack,
    /// `detect`: no parser stage came before, so names the line lacks are
    /// looked for by auto-detection (see [`Row::detect_missing`]).
    LabelFilter {
        filter: CompiledFilter,
        detect: bool,
    },
    LineFormat(Template),
    LabelFormat(Vec<(String, Result<String, Template>)>),
    Drop(Vec<Sel>),
    Keep(Vec<Sel>),
    Decolorize,
}

/// ANSI colour and cursor sequences, removed by `decolorize`.
static ANSI: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").ok());

/// A compiled pipeline.
pub struct Pipeline {
    steps: Vec<Step>,
    needles: Vec<String>,
    /// Pattern ids that merged into others → the id they go by now.
    pattern_aliases: Option<Arc<HashMap<u64, u64>>>,
    /// Whether stages after this pipeline (unwrap) may detect fields.
    detect_after: bool,
    /// Whether the pipeline is only `|=` filters, each one a needle.
    needles_only: bool,
}

impl Pipeline {
    /// Compiles stages (everything before `unwrap`; the caller handles it).
    pub fn new(stages: &[Stage]) -> Result<Self, QueryError> {
        let mut steps = Vec::new();
        let mut needles = Vec::new();
        // Needles that are whole `|=` filters (the others, texts a regex
        // requires, leave the regex to run).
        let mut exact_needles = 0;
        let mut leading = true;
        // Until the query parses or rewrites the line itself, label filters
        // on missing names detect fields implicitly.
        let mut detect = true;
        for stage in stages {
            let step = match stage {
                Stage::LineFilter(f) => {
                    // Needles are certain only for filters every kept line passed.
                    if leading && f.values.len() == 1 {
                        match (f.op, &f.values[0]) {
                            (LineFilterOp::Contains, LineFilterValue::Text(t)) => {
                                needles.push(t.clone());
                                exact_needles += 1;
                            }
                            (LineFilterOp::Re, LineFilterValue::Text(re)) => {
                                needles.extend(required_text(re));
                            }
                            _ => {}
                        }
                    }
                    Step::Filter(LineFilters::new([f])?)
                }
                Stage::Parser(ParserStage::Json(params)) if params.is_empty() => {
                    Step::JsonAll(None)
                }
                Stage::Parser(ParserStage::Json(params)) => Step::JsonPaths(
                    params
                        .iter()
                        .map(|(label, path)| {
                            Ok((label.clone(), pipe_parse::parse_json_path(path)?))
                        })
                        .collect::<Result<_, QueryError>>()?,
                ),
                Stage::Parser(ParserStage::Logfmt {
                    strict,
                    keep_empty,
                    params,
                }) => Step::Logfmt {
                    strict: *strict,
                    keep_empty: *keep_empty,
                    params: params.clone(),
                    wanted: None,
                },
                Stage::Parser(ParserStage::Regexp(re)) => {
                    Step::Regexp(pipe_parse::compile_regexp_stage(re)?)
                }
                Stage::Parser(ParserStage::Pattern(p)) => Step::Pattern(Pattern::new(p)?),
                Stage::Parser(ParserStage::Unpack) => Step::Unpack,
                Stage::LabelFilter(f) => Step::LabelFilter {
                    filter: CompiledFilter::new(f)?,
                    detect,
                },
                Stage::LineFormat(t) => Step::LineFormat(Template::new(t)?),
                Stage::LabelFormat(ops) => Step::LabelFormat(
                    ops.iter()
                        .map(|op| {
                            Ok(match op {
                                LabelFormatOp::Rename { dst, src } => {
                                    (dst.clone(), Ok(src.clone()))
                                }
                                LabelFormatOp::Template { dst, template } => {
                                    (dst.clone(), Err(Template::new(template)?))
                                }
                            })
                        })
                        .collect::<Result<_, QueryError>>()?,
                ),
                Stage::Drop(sels) => {
                    Step::Drop(sels.iter().map(Sel::new).collect::<Result<_, _>>()?)
                }
                Stage::Keep(sels) => {
                    Step::Keep(sels.iter().map(Sel::new).collect::<Result<_, _>>()?)
                }
                Stage::Decolorize => Step::Decolorize,
                Stage::Unwrap { .. } => break,
            };
            if !matches!(step, Step::Filter(_)) {
                leading = false;
            }
            if matches!(stage, Stage::Parser(_) | Stage::LineFormat(_)) {
                detect = false;
            }
            steps.push(step);
        }
        let needles_only = exact_needles == needles.len()
            && steps.len() == needles.len()
            && steps.iter().all(|s| matches!(s, Step::Filter(_)));
        Ok(Self {
            steps,
            needles_only,
            needles,
            pattern_aliases: None,
            detect_after: detect,
        })
    }

    /// Shows entries' pattern ids as the ids they merged into.
    pub fn with_pattern_aliases(mut self, aliases: Option<Arc<HashMap<u64, u64>>>) -> Self {
        self.pattern_aliases = aliases;
        self
    }

    /// Whether a stage after this pipeline (`unwrap`) may detect fields the
    /// line lacks: no parser or `line_format` stage came before it.
    pub fn detects_after(&self) -> bool {
        self.detect_after
    }

    /// Texts every line the pipeline keeps contains (for block pruning).
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// Whether the pipeline is only `|=` filters on plain texts, each one a
    /// needle: storage's needle check is then the whole pipeline.
    pub fn needles_only(&self) -> bool {
        self.needles_only
    }

    /// Tells whole-line parsers (`json`, `logfmt`) that only `names` will be
    /// read after the pipeline, so they keep no other labels: for callers
    /// that read a known few (log metrics). Label filters' names are kept
    /// too. Left as it is when a later stage may read any label
    /// (formatting, `drop`, `keep`, `unpack`).
    pub fn reading_only(mut self, names: &[String]) -> Self {
        let Some(first) = self
            .steps
            .iter()
            .position(|s| matches!(s, Step::JsonAll(_) | Step::Logfmt { .. }))
        else {
            return self;
        };
        let mut wanted: Vec<String> = names.to_vec();
        for step in &self.steps[first..] {
            match step {
                Step::LabelFilter { filter, .. } => {
                    let mut read = Vec::new();
                    filter.names(&mut read);
                    wanted.extend(read.into_iter().map(str::to_string));
                }
                Step::Filter(_)
                | Step::JsonAll(_)
                | Step::JsonPaths(_)
                | Step::Logfmt { .. }
                | Step::Regexp(_)
                | Step::Pattern(_) => {}
                _ => return self,
            }
        }
        let wanted: Arc<[String]> = wanted.into();
        for step in &mut self.steps[first..] {
            match step {
                Step::JsonAll(w) => *w = Some(wanted.clone()),
                Step::Logfmt { wanted: w, .. } => *w = Some(wanted.clone()),
                _ => {}
            }
        }
        self
    }

    /// Whether every stage is a line filter: then labels are the stream's
    /// and metadata as they came, and [`Pipeline::keeps`] decides alone.
    pub fn filters_only(&self) -> bool {
        self.steps.iter().all(|s| matches!(s, Step::Filter(_)))
    }

    /// Whether there is any stage at all.
    pub fn has_stages(&self) -> bool {
        !self.steps.is_empty()
    }

    /// Whether the line filters keep `line` (the other stages are ignored).
    pub fn keeps(&self, line: &str) -> bool {
        self.steps.iter().all(|s| match s {
            Step::Filter(f) => f.matches(line),
            _ => true,
        })
    }

    /// Runs the pipeline on one line; `None` if a stage drops it.
    pub fn run(&self, entry: &Entry, stream: &Labels) -> Option<Row> {
        let (ts, line) = (entry.ts, entry.line.as_str());
        // Leading line filters run on the borrowed line, before any copy.
        let mut rest = self.steps.as_slice();
        while let Some((Step::Filter(f), tail)) = rest.split_first() {
            if !f.matches(line) {
                return None;
            }
            rest = tail;
        }
        let mut row = Row {
            line: line.to_string(),
            labels: LabelSet::new(stream, &entry.fields),
            detected: false,
            pattern_id: self
                .pattern_aliases
                .as_ref()
                .and_then(|a| a.get(&entry.pattern_id).copied())
                .unwrap_or(entry.pattern_id),
        };
        for step in rest {
            if !apply(step, ts, &mut row) {
                return None;
            }
        }
        Some(row)
    }
}

fn apply(step: &Step, ts: i64, row: &mut Row) -> bool {
    let labels = &mut row.labels;
    match step {
        Step::Filter(f) => return f.matches(&row.line),
        Step::JsonAll(wanted) => pipe_parse::json_wanted(&row.line, labels, wanted.as_deref()),
        Step::JsonPaths(paths) => pipe_parse::json_paths(&row.line, paths, labels),
        Step::Logfmt {
            strict,
            keep_empty,
            params,
            wanted,
        } => pipe_parse::logfmt(
            &row.line,
            *strict,
            *keep_empty,
            params,
            wanted.as_deref(),
            labels,
        ),
        Step::Regexp(re) => pipe_parse::regexp(&row.line, re, labels),
        Step::Pattern(p) => pipe_parse::pattern(&row.line, p, labels),
        Step::Unpack => pipe_parse::unpack(&mut row.line, labels),
        Step::LabelFilter { filter, detect } => {
            if *detect {
                let mut names = Vec::new();
                filter.names(&mut names);
                row.detect_missing(ts, names);
            }
            return filter.keep(&mut row.labels);
        }
        Step::LineFormat(t) => {
            let ctx = Context {
                labels,
                line: &row.line,
                ts,
            };
            match t.render(&ctx) {
                Ok(line) => row.line = line,
                Err(e) => labels.set_error("TemplateFormatErr", e),
            }
        }
        Step::LabelFormat(ops) => {
            let before = labels.clone();
            let ctx = Context {
                labels: &before,
                line: &row.line,
                ts,
            };
            for (dst, op) in ops {
                match op {
                    Ok(src) => {
                        let value = before.get(src).unwrap_or("").to_string();
                        labels.remove(src);
                        labels.set(dst, value, Origin::Parsed);
                    }
                    Err(t) => match t.render(&ctx) {
                        Ok(value) => labels.set(dst, value, Origin::Parsed),
                        Err(e) => labels.set_error("TemplateFormatErr", e),
                    },
                }
            }
        }
        Step::Drop(sels) => labels.retain(|k, v| !sels.iter().any(|s| s.applies(k, v))),
        Step::Keep(sels) => labels.retain(|k, v| sels.iter().any(|s| s.applies(k, v))),
        Step::Decolorize => {
            if let Some(re) = ANSI.as_ref() {
                if row.line.contains('\x1b') {
                    row.line = re.replace_all(&row.line, "").into_owned();
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use basin_logql::parse_log_query;

    use super::*;

    fn run(q: &str, line: &str) -> Option<(String, String)> {
        let query = parse_log_query(q).unwrap();
        let p = Pipeline::new(&query.stages).unwrap();
        let stream = Labels::parse(r#"{app="api"}"#).unwrap();
        let mut entry = Entry::new(1_700_000_000_000_000_000, line);
        entry.fields = vec![("trace".into(), "t1".into())];
        entry.pattern_id = 42;
        p.run(&entry, &stream)
            .map(|r| (r.line, r.labels.to_string()))
    }

    #[test]
    fn reading_only_keeps_what_is_read() {
        let labels = |q: &str, names: &[&str], line: &str| {
            let query = parse_log_query(q).unwrap();
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let p = Pipeline::new(&query.stages).unwrap().reading_only(&names);
            let stream = Labels::parse(r#"{app="api"}"#).unwrap();
            p.run(&Entry::new(0, line), &stream)
                .map(|r| r.labels.to_string())
        };
        let logfmt = r#"level=error status=503 route=/pay msg="upstream down""#;
        assert_eq!(
            labels(r#"{a="b"} | logfmt | status >= 500"#, &["route"], logfmt),
            Some(r#"{app="api", route="/pay", status="503"}"#.into())
        );
        assert_eq!(
            labels(r#"{a="b"} | logfmt | status < 500"#, &["route"], logfmt),
            None
        );
        let json = r#"{"level":"error","http":{"status":503,"path":"/pay"},"msg":"down"}"#;
        assert_eq!(
            labels(r#"{a="b"} | json"#, &["http_status"], json),
            Some(r#"{app="api", http_status="503"}"#.into())
        );
        // A later stage that may read any label leaves the parser whole.
        assert_eq!(
            labels(
                r#"{a="b"} | json | line_format "{{.msg}}""#,
                &["level"],
                json
            ),
            Some(
                r#"{app="api", http_path="/pay", http_status="503", level="error", msg="down"}"#
                    .into()
            )
        );
    }

    #[test]
    fn stages_in_order() {
        let line = r#"{"level":"error","status":503,"msg":"upstream down","took":"1.5s"}"#;
        assert_eq!(
            run(
                r#"{a="b"} | json | status >= 500 | line_format "{{.level}}: {{.msg}}" | drop took"#,
                line
            ),
            Some((
                "error: upstream down".into(),
                r#"{app="api", level="error", msg="upstream down", status="503", trace="t1"}"#
                    .into()
            ))
        );
        assert_eq!(run(r#"{a="b"} | json | status < 500"#, line), None);
        assert_eq!(
            run(r#"{a="b"} |= "upstream" | json | keep level"#, line).map(|r| r.1),
            Some(r#"{level="error"}"#.into())
        );
        assert_eq!(
            run(r#"{a="b"} | json | label_format lvl=level, code="{{.status}}x""#, line).map(|r| r.1),
            Some(r#"{app="api", code="503x", lvl="error", msg="upstream down", status="503", took="1.5s", trace="t1"}"#.into())
        );
        assert_eq!(run(r#"{a="b"} | json | __error__="""#, "not json"), None);
        assert_eq!(
            run(
                r#"{a="b"} | json | drop __error__, __error_details__"#,
                "not json"
            )
            .map(|r| r.1),
            Some(r#"{app="api", trace="t1"}"#.into())
        );
        assert_eq!(
            run(r#"{a="b"} | decolorize"#, "\x1b[31mred\x1b[0m text").map(|r| r.0),
            Some("red text".into())
        );
        assert_eq!(
            run(
                r#"{a="b"} | logfmt | line_format "{{.msg}}""#,
                r#"msg="hi there" level=info"#
            )
            .map(|r| r.0),
            Some("hi there".into())
        );
        assert_eq!(
            run(
                r#"{a="b"} | pattern "<method> <path>" | path="/x""#,
                "GET /x"
            )
            .map(|r| r.1),
            Some(r#"{app="api", method="GET", path="/x", trace="t1"}"#.into())
        );
    }

    #[test]
    fn needles_come_from_leading_contains_filters() {
        let q = parse_log_query(r#"{a="b"} |= "user 42 failed" |= "x" or "y" | json |= " late ""#)
            .unwrap();
        let p = Pipeline::new(&q.stages).unwrap();
        assert_eq!(p.needles(), ["user 42 failed"]);
        assert!(!p.needles_only());
        let q = parse_log_query(r#"{a="b"} |= "error" |= "42""#).unwrap();
        assert!(Pipeline::new(&q.stages).unwrap().needles_only());
        let q = parse_log_query(r#"{a="b"} |= "error" != "42""#).unwrap();
        assert!(!Pipeline::new(&q.stages).unwrap().needles_only());
        // A leading regex lends storage the text it requires, and still runs.
        let q = parse_log_query(r#"{a="b"} |~ "[0-9]{4}ms" |= "x""#).unwrap();
        let p = Pipeline::new(&q.stages).unwrap();
        assert_eq!(p.needles(), ["ms", "x"]);
        assert!(!p.needles_only());
        let q = parse_log_query(r#"{a="b"} | json |~ "[0-9]{4}ms""#).unwrap();
        assert!(Pipeline::new(&q.stages).unwrap().needles().is_empty());
    }

    #[test]
    fn label_filters_detect_fields_the_line_was_stored_without() {
        let access =
            r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "POST /api HTTP/1.1" 503 17 "-" "curl/8""#;
        let kept = run(r#"{a="b"} | status >= 500"#, access).map(|r| r.1);
        assert_eq!(
            kept.as_deref()
                .map(|l| l.contains(r#"log_format="access_combined""#)),
            Some(true),
            "{kept:?}"
        );
        assert_eq!(run(r#"{a="b"} | status < 500"#, access), None);
        let log4j = "2024-05-01 12:00:00,123 ERROR [main] com.shop.Checkout: failed\n\tat x";
        assert!(run(r#"{a="b"} | level="error""#, log4j).is_some());
        assert!(run(r#"{a="b"} | level="info""#, log4j).is_none());
        let nested = r#"{"http":{"request":{"method":"POST"}},"app":"other"}"#;
        assert!(run(r#"{a="b"} | http_request_method="POST""#, nested).is_some());
        // Stream labels and stored fields win over what the line says.
        assert!(run(
            r#"{a="b"} | app="api" | http_request_method="POST""#,
            nested
        )
        .is_some());
        assert!(run(r#"{a="b"} | trace="t1""#, r#"{"trace":"other"}"#).is_some());
        // A parser the query names replaces detection.
        assert_eq!(
            run(r#"{a="b"} | json | level="error""#, "level=error"),
            None
        );
        assert!(run(r#"{a="b"} | logfmt | level="error""#, "level=error").is_some());
        // The entry's pattern id is a label to filters.
        assert!(run(r#"{a="b"} | pattern_id="42""#, "plain words").is_some());
        assert!(run(r#"{a="b"} | pattern_id="7""#, "plain words").is_none());
        // Lines with nothing to detect miss the filter.
        assert_eq!(run(r#"{a="b"} | status >= 500"#, "plain words"), None);
    }

    #[test]
    fn detected_level_is_the_lines_level_or_unknown() {
        let level_of = |line: &str| {
            let q = parse_log_query(r#"{a="b"}"#).unwrap();
            let stream = Labels::parse(r#"{app="api"}"#).unwrap();
            let mut row = Pipeline::new(&q.stages)
                .unwrap()
                .run(&Entry::new(1, line), &stream)
                .unwrap();
            row.detect_named(1, &[DETECTED_LEVEL_LABEL]);
            // Only the named label joins the row: series must not split.
            assert_eq!(row.labels.len(), 2, "{}", row.labels);
            row.labels.get(DETECTED_LEVEL_LABEL).unwrap().to_string()
        };
        let hdfs = "081109 203807 222 WARN dfs.DataNode$DataXceiver: Got exception while serving";
        assert_eq!(level_of(hdfs), "warn");
        assert_eq!(level_of(r#"{"severity":"Error","msg":"x"}"#), "error");
        assert_eq!(level_of("ts=1 lvl=dbg msg=x"), "debug");
        assert_eq!(level_of("connection from 10.0.0.5 accepted"), "unknown");
        // Syslog's priority says the severity; an access log says none.
        assert_eq!(
            level_of("<11>1 2024-05-01T12:00:00Z db-1 postgres 77 - - refused"),
            "error"
        );
        assert_eq!(
            level_of(
                r#"10.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""#
            ),
            "unknown"
        );
        assert_eq!(
            level_of("[Wed Oct 11 14:32:52 2000] [ssl:warn] [pid 9] AH01909: x"),
            "warn"
        );
        // A filter on it detects it too, with the other fields.
        assert!(run(r#"{a="b"} | detected_level="warn""#, hdfs).is_some());
        assert!(run(r#"{a="b"} | detected_level="unknown""#, "plain words").is_some());
        assert_eq!(detected_level(Some("VERBOSE")), "verbose");
        assert_eq!(detected_level(Some(" ")), "unknown");
    }
}
