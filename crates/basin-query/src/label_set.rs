//! The labels of one line while it moves through a pipeline: stream labels,
//! structured metadata and labels extracted by parsers, each kept apart so
//! answers can categorise them as Loki does.

use basin_model::Labels;

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// The stream's own labels.
    Stream,
    /// Structured metadata sent with the line.
    Metadata,
    /// Extracted by a parser or set by a formatting stage.
    Parsed,
}

/// Label carrying a pipeline error (`JSONParserErr`, `LabelFilterErr`, ...).
pub const ERROR_LABEL: &str = "__error__";
/// Label carrying the error's details.
pub const ERROR_DETAILS_LABEL: &str = "__error_details__";

/// A line's labels, sorted by name, names unique.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSet {
    entries: Vec<(String, String, Origin)>,
}

impl LabelSet {
    /// Stream labels plus structured metadata.
    pub fn new(stream: &Labels, fields: &[(String, String)]) -> Self {
        let mut set = Self {
            entries: stream
                .pairs()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), Origin::Stream))
                .collect(),
        };
        for (k, v) in fields {
            set.add(k, v, Origin::Metadata);
        }
        set
    }

    /// Builds a set from pairs of one origin (used for results).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>, origin: Origin) -> Self {
        let mut set = Self::default();
        for (k, v) in pairs {
            set.set(&k, v, origin);
        }
        set
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(n, _, _)| n.as_str().cmp(name))
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.find(name).ok().map(|i| self.entries[i].1.as_str())
    }

    /// The origin of `name`.
    pub fn origin(&self, name: &str) -> Option<Origin> {
        self.find(name).ok().map(|i| self.entries[i].2)
    }

    /// Adds a label from a parser or metadata; a name the stream already
    /// has gets the suffix `_extracted`, as in Loki.
    pub fn add(&mut self, name: &str, value: &str, origin: Origin) {
        if let Ok(i) = self.find(name) {
            if self.entries[i].2 == Origin::Stream && origin != Origin::Stream {
                let renamed = format!("{name}_extracted");
                self.set(&renamed, value.to_string(), origin);
                return;
            }
        }
        self.set(name, value.to_string(), origin);
    }

    /// Sets `name` to `value`, replacing any value it had.
    pub fn set(&mut self, name: &str, value: String, origin: Origin) {
        match self.find(name) {
            Ok(i) => {
                self.entries[i].1 = value;
                self.entries[i].2 = origin;
            }
            Err(i) => self.entries.insert(i, (name.to_string(), value, origin)),
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.find(name).ok().map(|i| self.entries.remove(i).1)
    }

    /// Keeps only the labels for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.entries.retain(|(k, v, _)| keep(k, v));
    }

    /// Whether a pipeline error was recorded.
    pub fn has_error(&self) -> bool {
        self.get(ERROR_LABEL).is_some()
    }

    /// Records a pipeline error, keeping the first one.
    pub fn set_error(&mut self, kind: &str, details: impl Into<String>) {
        if !self.has_error() {
            self.set(ERROR_LABEL, kind.to_string(), Origin::Parsed);
            self.set(ERROR_DETAILS_LABEL, details.into(), Origin::Parsed);
        }
    }

    /// All labels with their origins, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Origin)> {
        self.entries
            .iter()
            .map(|(k, v, o)| (k.as_str(), v.as_str(), *o))
    }

    /// Name/value pairs, sorted by name.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The labels of one origin.
    pub fn of(&self, origin: Origin) -> Vec<(String, String)> {
        self.entries
            .iter()
            .filter(|(_, _, o)| *o == origin)
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect()
    }

    /// The labels `keep` admits, copied (the others are not).
    pub fn filtered(&self, mut keep: impl FnMut(&str) -> bool) -> LabelSet {
        LabelSet {
            entries: self
                .entries
                .iter()
                .filter(|(k, _, _)| keep(k))
                .cloned()
                .collect(),
        }
    }

    /// The same labels with every origin forgotten (series identity).
    pub fn flattened(&self) -> LabelSet {
        LabelSet {
            entries: self
                .entries
                .iter()
                .map(|(k, v, _)| (k.clone(), v.clone(), Origin::Stream))
                .collect(),
        }
    }
}

impl std::fmt::Display for LabelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (k, v, _)) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{k}={}", basin_logql::quote(v))?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracted_names_do_not_clobber_stream_labels() {
        let stream = Labels::parse(r#"{app="api", level="x"}"#).unwrap();
        let mut set = LabelSet::new(&stream, &[("trace".into(), "t1".into())]);
        set.add("level", "error", Origin::Parsed);
        set.add("status", "500", Origin::Parsed);
        assert_eq!(set.get("level"), Some("x"));
        assert_eq!(set.get("level_extracted"), Some("error"));
        assert_eq!(set.origin("trace"), Some(Origin::Metadata));
        assert_eq!(
            set.to_string(),
            r#"{app="api", level="x", level_extracted="error", status="500", trace="t1"}"#
        );
        set.set_error("JSONParserErr", "bad");
        set.set_error("Other", "ignored");
        assert_eq!(set.get(ERROR_LABEL), Some("JSONParserErr"));
    }
}
