//! Delete requests as queries see them: the entries a request covers are
//! left out of every answer from the moment it is made, before the
//! compactor removes them from disk.

use basin_logql::{LogExpr, Stage};
use basin_model::{Entry, Labels, TimestampNs};

use crate::filter_stream::StreamFilter;
use crate::pipeline::Pipeline;
use crate::QueryError;

/// One request, compiled.
struct Compiled {
    streams: StreamFilter,
    pipeline: Pipeline,
    start: TimestampNs,
    end: TimestampNs,
}

/// A tenant's delete requests.
#[derive(Default)]
pub struct DeleteFilter {
    requests: Vec<Compiled>,
}

impl std::fmt::Debug for DeleteFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeleteFilter({} requests)", self.requests.len())
    }
}

impl DeleteFilter {
    /// Checks that `query` can select what to delete: a log query whose
    /// stages only decide which lines (filters and the parsers they need),
    /// never rewrite them.
    pub fn check(query: &LogExpr) -> Result<(), QueryError> {
        for stage in &query.stages {
            if matches!(
                stage,
                Stage::LineFormat(_) | Stage::LabelFormat(_) | Stage::Unwrap { .. }
            ) {
                return Err(QueryError::Plan(
                    "a delete query selects lines: use a stream selector with line filters, parsers and label filters, not formatting stages".into(),
                ));
            }
        }
        StreamFilter::new(&query.matchers)?;
        Pipeline::new(&query.stages)?;
        Ok(())
    }

    /// Compiles `(query, start, end)` requests (inclusive ends).
    pub fn new(requests: &[(LogExpr, TimestampNs, TimestampNs)]) -> Result<Self, QueryError> {
        let requests = requests
            .iter()
            .map(|(query, start, end)| {
                Self::check(query)?;
                Ok(Compiled {
                    streams: StreamFilter::new(&query.matchers)?,
                    pipeline: Pipeline::new(&query.stages)?,
                    start: *start,
                    end: *end,
                })
            })
            .collect::<Result<_, QueryError>>()?;
        Ok(Self { requests })
    }

    /// Whether a request covers the entry.
    pub fn covers(&self, labels: &Labels, entry: &Entry) -> bool {
        self.requests.iter().any(|r| {
            entry.ts >= r.start
                && entry.ts <= r.end
                && r.streams.matches(labels)
                && r.pipeline.run(entry, labels).is_some()
        })
    }

    /// Whether a request covers any time in `[start, end)`.
    pub fn overlaps(&self, start: TimestampNs, end: TimestampNs) -> bool {
        self.requests
            .iter()
            .any(|r| r.start < end && r.end >= start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use basin_logql::parse_log_query;

    #[test]
    fn requests_cover_their_streams_lines_and_times() {
        let q = parse_log_query(r#"{job="api"} |= "secret" | logfmt | user="bob""#).unwrap();
        let filter = DeleteFilter::new(&[(q, 100, 200)]).unwrap();
        let api = Labels::parse(r#"{job="api"}"#).unwrap();
        let web = Labels::parse(r#"{job="web"}"#).unwrap();
        let line = |ts, text: &str| Entry::new(ts, text);
        assert!(filter.covers(&api, &line(150, "user=bob secret=1")));
        assert!(filter.covers(&api, &line(200, "user=bob secret=1")));
        assert!(!filter.covers(&api, &line(201, "user=bob secret=1")));
        assert!(!filter.covers(&api, &line(150, "user=ann secret=1")));
        assert!(!filter.covers(&api, &line(150, "user=bob public")));
        assert!(!filter.covers(&web, &line(150, "user=bob secret=1")));
        assert!(filter.overlaps(0, 101) && !filter.overlaps(0, 100) && !filter.overlaps(201, 300));
        let formatting = parse_log_query(r#"{job="api"} | line_format "x""#).unwrap();
        assert!(DeleteFilter::check(&formatting).is_err());
    }
}
