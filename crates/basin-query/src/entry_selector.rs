//! LogQL selectors with filters, evaluated on one entry at ingest: what the
//! parsing pipeline's user rules (`match`, `drop`) use, so they filter
//! exactly as queries do.

use basin_logql::{parse_log_query, Stage};
use basin_model::{Entry, Labels};
use basin_pipeline::rules::Selector;

use crate::filter_stream::StreamFilter;
use crate::pipeline::{Pipeline, Row};

/// A stream selector and the line and label filters after it.
pub struct EntrySelector {
    streams: StreamFilter,
    filters: Pipeline,
}

impl EntrySelector {
    /// Compiles `{job="x"} |= "y" | level="debug"`; only line and label
    /// filters may follow the selector (an error names what else was found).
    pub fn new(text: &str) -> Result<Self, String> {
        let query = parse_log_query(text).map_err(|e| e.to_string())?;
        if let Some(other) = query
            .stages
            .iter()
            .find(|s| !matches!(s, Stage::LineFilter(_) | Stage::LabelFilter(_)))
        {
            return Err(format!(
                "only line and label filters may follow the selector, found {other:?}"
            ));
        }
        Ok(Self {
            streams: StreamFilter::new(&query.matchers).map_err(|e| e.to_string())?,
            filters: Pipeline::new(&query.stages).map_err(|e| e.to_string())?,
        })
    }

    /// Boxed, for [`basin_pipeline::rules::Rules::new`].
    pub fn compile(text: &str) -> Result<Box<dyn Selector>, String> {
        Self::new(text).map(|s| Box::new(s) as Box<dyn Selector>)
    }
}

impl Selector for EntrySelector {
    fn matches_stream(&self, stream: &Labels) -> bool {
        self.streams.matches(stream)
    }

    fn matches_entry(&self, stream: &Labels, entry: &Entry) -> bool {
        self.streams.matches(stream) && self.filters.run(entry, stream).is_some()
    }
}

/// A log query's stream selector and whole pipeline (parsers, formatting,
/// filters), run on one entry at ingest: what log metrics measure with.
pub struct EntryPipeline {
    streams: StreamFilter,
    pipeline: Pipeline,
}

impl EntryPipeline {
    /// Compiles a log query such as `{app="api"} | json | status >= 500`.
    pub fn new(text: &str) -> Result<Self, String> {
        let query = parse_log_query(text).map_err(|e| e.to_string())?;
        Ok(Self {
            streams: StreamFilter::new(&query.matchers).map_err(|e| e.to_string())?,
            pipeline: Pipeline::new(&query.stages).map_err(|e| e.to_string())?,
        })
    }

    /// Only `names` will be read after the pipeline: parsers keep no other
    /// labels ([`Pipeline::reading_only`]).
    pub fn reading_only(mut self, names: &[String]) -> Self {
        self.pipeline = self.pipeline.reading_only(names);
        self
    }

    /// Whether the selector matches a stream's labels.
    pub fn matches_stream(&self, stream: &Labels) -> bool {
        self.streams.matches(stream)
    }

    /// Whether every stage is a line filter ([`EntryPipeline::keeps`] then
    /// decides alone, without copying the line).
    pub fn filters_only(&self) -> bool {
        self.pipeline.filters_only()
    }

    /// Whether the line filters keep `line`.
    pub fn keeps(&self, line: &str) -> bool {
        self.pipeline.keeps(line)
    }

    /// Runs the whole pipeline; `None` if a stage drops the entry.
    pub fn run(&self, stream: &Labels, entry: &Entry) -> Option<Row> {
        self.pipeline.run(entry, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_like_a_query() {
        let s = EntrySelector::new(r#"{job="web"} |= "GET" | status >= 500"#).unwrap();
        let web = Labels::parse(r#"{job="web"}"#).unwrap();
        let api = Labels::parse(r#"{job="api"}"#).unwrap();
        assert!(s.matches_stream(&web));
        assert!(!s.matches_stream(&api));
        let entry = |line: &str, status: Option<&str>| {
            let mut e = Entry::new(1, line);
            e.fields = status
                .map(|s| vec![("status".to_string(), s.to_string())])
                .unwrap_or_default();
            e
        };
        assert!(s.matches_entry(&web, &entry("GET /x", Some("503"))));
        assert!(!s.matches_entry(&web, &entry("POST /x", Some("503"))));
        assert!(!s.matches_entry(&web, &entry("GET /x", None)));
        assert!(EntrySelector::new(r#"{job="web"} | json"#)
            .err()
            .is_some_and(|e| e.contains("only line and label filters")));
        assert!(EntrySelector::new("job=web").is_err());
    }
}
