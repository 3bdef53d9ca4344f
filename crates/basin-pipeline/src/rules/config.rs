//! How rules are written in the config file (`pipelines:`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// One rule: a stream selector and the steps for its streams' entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// LogQL stream selector, e.g. `{job="nginx"}`.
    #[serde(rename = "match")]
    pub selector: String,
    /// Steps, run in order on each entry.
    pub steps: Vec<StepConfig>,
}

/// One step of a rule, written as a one-key map (`- grok: '...'`).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "StepKeys")]
pub enum StepConfig {
    /// Grok pattern (standard library plus `grok_patterns`) on the line;
    /// named captures (`%{IP:client}`) become fields.
    Grok(String),
    /// Regex on the line; named groups (`(?P<user>\w+)`) become fields.
    Regex(String),
    /// Parses the line (no value) or the named field as JSON, flattened.
    Json(Option<String>),
    /// Parses the line (no value) or the named field as logfmt.
    Logfmt(Option<String>),
    /// Renames fields, `old: new`.
    Rename(BTreeMap<String, String>),
    /// Removes these fields.
    DropFields(Vec<String>),
    /// Removes every field but these.
    KeepFields(Vec<String>),
    /// Masks the line and field values: built-in names or custom patterns.
    Mask(Vec<MaskItem>),
    /// Drops entries passing these LogQL line and label filters
    /// (`|= "healthcheck"`, `| level="debug"`).
    Drop(String),
    /// Keeps one entry in N.
    Sample(u64),
    /// Sets stream labels on the selected streams.
    SetLabels(BTreeMap<String, String>),
}

/// A masker of a `mask` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MaskItem {
    /// A built-in masker (`email`, `credit_card`, `ipv4`, ...).
    BuiltIn(String),
    /// A custom regex and what replaces its matches.
    Custom {
        /// The regex.
        pattern: String,
        /// Its replacement (`$1` refers to groups).
        replacement: String,
    },
}

/// A step as written: a map that must have exactly one of these keys.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepKeys {
    grok: Option<String>,
    regex: Option<String>,
    #[serde(default, deserialize_with = "present")]
    json: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    logfmt: Option<Option<String>>,
    rename: Option<BTreeMap<String, String>>,
    drop_fields: Option<Vec<String>>,
    keep_fields: Option<Vec<String>>,
    mask: Option<Vec<MaskItem>>,
    drop: Option<String>,
    sample: Option<u64>,
    set_labels: Option<BTreeMap<String, String>>,
}

/// A key that is present, even with no value (`- json:`).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl TryFrom<StepKeys> for StepConfig {
    type Error = String;

    fn try_from(k: StepKeys) -> Result<Self, String> {
        let steps: Vec<StepConfig> = [
            k.grok.map(StepConfig::Grok),
            k.regex.map(StepConfig::Regex),
            k.json.map(StepConfig::Json),
            k.logfmt.map(StepConfig::Logfmt),
            k.rename.map(StepConfig::Rename),
            k.drop_fields.map(StepConfig::DropFields),
            k.keep_fields.map(StepConfig::KeepFields),
            k.mask.map(StepConfig::Mask),
            k.drop.map(StepConfig::Drop),
            k.sample.map(StepConfig::Sample),
            k.set_labels.map(StepConfig::SetLabels),
        ]
        .into_iter()
        .flatten()
        .collect();
        match <[StepConfig; 1]>::try_from(steps) {
            Ok([step]) => Ok(step),
            Err(steps) => Err(format!(
                "a step has exactly one of grok, regex, json, logfmt, rename, drop_fields, \
                 keep_fields, mask, drop, sample, set_labels; this one has {}",
                steps.len()
            )),
        }
    }
}
