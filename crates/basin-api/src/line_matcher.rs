//! Log metrics' view of the query engine: a log query run on one entry at
//! ingest, through the same pipeline queries use.

use basin_model::{Entry, Labels};
use basin_query::entry_selector::EntryPipeline;
use basin_rules::log_metrics::LineMatcher;

/// A compiled log query for log metrics.
pub struct QueryLineMatcher(EntryPipeline);

impl QueryLineMatcher {
    /// Compiles `text`, whose results are read for `names` only, for
    /// [`basin_rules::log_metrics::LogMetrics::new`].
    pub fn compile(text: &str, names: &[String]) -> Result<Box<dyn LineMatcher>, String> {
        EntryPipeline::new(text)
            .map(|p| Box::new(QueryLineMatcher(p.reading_only(names))) as Box<dyn LineMatcher>)
    }
}

impl LineMatcher for QueryLineMatcher {
    fn matches_stream(&self, stream: &Labels) -> bool {
        self.0.matches_stream(stream)
    }

    fn filters_only(&self) -> bool {
        self.0.filters_only()
    }

    fn keeps(&self, line: &str) -> bool {
        self.0.keeps(line)
    }

    fn extract(
        &self,
        stream: &Labels,
        entry: &Entry,
        names: &[String],
        values: &mut Vec<Option<String>>,
    ) -> bool {
        if self.0.filters_only() {
            // Line filters alone: no copy of the line, labels as they came.
            if !self.0.keeps(&entry.line) {
                return false;
            }
            for name in names {
                let value = stream.get(name).or_else(|| {
                    entry
                        .fields
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                });
                values.push(value.map(str::to_string));
            }
            return true;
        }
        let Some(row) = self.0.run(stream, entry) else {
            return false;
        };
        for name in names {
            values.push(row.labels.get(name).map(str::to_string));
        }
        true
    }
}
