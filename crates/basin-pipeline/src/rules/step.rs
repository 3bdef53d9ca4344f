//! One compiled step of a user rule and how it changes an entry.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use basin_model::{is_valid_label_name, sanitize_label_name, Entry, Labels};
use chrono::DateTime;
use regex::Regex;

use super::{MaskItem, Selector, SelectorCompiler, StepConfig};
use crate::formats::{logfmt, Format};
use crate::mask::Masking;

/// Whether an entry stays after a step.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum StepOutcome {
    Keep,
    Remove,
}

pub(super) enum Step {
    Grok(grok::Pattern),
    Regex(Regex),
    Json(Option<String>),
    Logfmt(Option<String>),
    Rename(Vec<(String, String)>),
    DropFields(Vec<String>),
    KeepFields(Vec<String>),
    Mask(Masking),
    Drop(Box<dyn Selector>),
    Sample { every: u64, seen: AtomicU64 },
    SetLabels(Vec<(String, String)>),
}

impl Step {
    /// Compiles a step of the rule selecting `selector`.
    pub(super) fn new(
        config: &StepConfig,
        selector: &str,
        grok: &grok::Grok,
        compile: SelectorCompiler<'_>,
    ) -> Result<Self, String> {
        Ok(match config {
            StepConfig::Grok(pattern) => Step::Grok(
                grok.compile(pattern, true)
                    .map_err(|e| format!("grok {pattern:?}: {e}"))?,
            ),
            StepConfig::Regex(pattern) => {
                let re = Regex::new(pattern).map_err(|e| format!("regex: {e}"))?;
                if re.capture_names().flatten().next().is_none() {
                    return Err(format!(
                        "regex {pattern:?} has no named group (?P<name>...)"
                    ));
                }
                Step::Regex(re)
            }
            StepConfig::Json(from) => Step::Json(from.clone()),
            StepConfig::Logfmt(from) => Step::Logfmt(from.clone()),
            StepConfig::Rename(pairs) => Step::Rename(
                pairs
                    .iter()
                    .map(|(from, to)| (from.clone(), sanitize_label_name(to)))
                    .collect(),
            ),
            StepConfig::DropFields(names) => Step::DropFields(names.clone()),
            StepConfig::KeepFields(names) => Step::KeepFields(names.clone()),
            StepConfig::Mask(items) => {
                let mut built_in = Vec::new();
                let mut custom = Vec::new();
                for item in items {
                    match item {
                        MaskItem::BuiltIn(name) => built_in.push(name.clone()),
                        MaskItem::Custom {
                            pattern,
                            replacement,
                        } => custom.push((pattern.clone(), replacement.clone())),
                    }
                }
                Step::Mask(Masking::new(&built_in, &custom).map_err(|e| e.to_string())?)
            }
            StepConfig::Drop(filters) => Step::Drop(compile(&format!("{selector} {filters}"))?),
            StepConfig::Sample(0) => return Err("sample must be at least 1".into()),
            StepConfig::Sample(every) => Step::Sample {
                every: *every,
                seen: AtomicU64::new(0),
            },
            StepConfig::SetLabels(pairs) => {
                if let Some(bad) = pairs.keys().find(|n| !is_valid_label_name(n)) {
                    return Err(format!("{bad:?} is not a valid label name"));
                }
                Step::SetLabels(pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
        })
    }

    /// Runs the step on one entry of a stream with `labels`.
    pub(super) fn apply(&self, labels: &Labels, entry: &mut Entry) -> StepOutcome {
        match self {
            Step::Grok(pattern) => {
                if let Some(found) = pattern.match_against(&entry.line) {
                    let fields = found
                        .iter()
                        .map(|(name, value)| (sanitize_label_name(name), value.to_string()))
                        .collect();
                    set_fields(entry, fields);
                }
            }
            Step::Regex(re) => {
                if let Some(caps) = re.captures(&entry.line) {
                    let fields = re
                        .capture_names()
                        .flatten()
                        .filter_map(|name| {
                            caps.name(name)
                                .map(|m| (sanitize_label_name(name), m.as_str().to_string()))
                        })
                        .collect();
                    set_fields(entry, fields);
                }
            }
            Step::Json(from) => {
                let now = DateTime::from_timestamp_nanos(entry.ts);
                let fields = source(entry, from.as_deref())
                    .and_then(|text| Format::Json.parse(text.trim(), now))
                    .map(|p| p.fields);
                if let Some(fields) = fields {
                    set_fields(entry, fields);
                }
            }
            Step::Logfmt(from) => {
                if let Some(fields) = source(entry, from.as_deref()).and_then(logfmt::parse) {
                    set_fields(entry, fields);
                }
            }
            Step::Rename(pairs) => {
                for (from, to) in pairs {
                    if let Some(at) = entry.fields.iter().position(|(n, _)| n == from) {
                        let (_, value) = entry.fields.remove(at);
                        set_fields(entry, vec![(to.clone(), value)]);
                    }
                }
            }
            Step::DropFields(names) => entry.fields.retain(|(n, _)| !names.contains(n)),
            Step::KeepFields(names) => entry.fields.retain(|(n, _)| names.contains(n)),
            Step::Mask(masking) => {
                if let Cow::Owned(s) = masking.apply(&entry.line) {
                    entry.line = s;
                }
                for (_, value) in &mut entry.fields {
                    if let Cow::Owned(s) = masking.apply(value) {
                        *value = s;
                    }
                }
            }
            Step::Drop(filter) => {
                if filter.matches_entry(labels, entry) {
                    return StepOutcome::Remove;
                }
            }
            Step::Sample { every, seen } => {
                if seen.fetch_add(1, Ordering::Relaxed) % every != 0 {
                    return StepOutcome::Remove;
                }
            }
            Step::SetLabels(_) => {}
        }
        StepOutcome::Keep
    }

    /// Changes the stream's labels (only `set_labels` does).
    pub(super) fn relabel(&self, labels: &mut Labels) {
        let Step::SetLabels(pairs) = self else {
            return;
        };
        let mut all: Vec<(String, String)> = labels
            .pairs()
            .iter()
            .filter(|(n, _)| !pairs.iter().any(|(m, _)| m == n))
            .cloned()
            .collect();
        all.extend(pairs.iter().cloned());
        // Names were checked when the step was compiled and duplicates
        // removed above, so this cannot fail; keep the old labels if it did.
        if let Ok(new) = Labels::from_pairs(all) {
            *labels = new;
        }
    }
}

/// The text a parsing step reads: the line, or a field's value.
fn source<'a>(entry: &'a Entry, from: Option<&str>) -> Option<&'a str> {
    match from {
        None => Some(&entry.line),
        Some(name) => entry
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str()),
    }
}

/// Sets fields; what a step extracts replaces a field of the same name.
fn set_fields(entry: &mut Entry, fields: Vec<(String, String)>) {
    for (name, value) in fields {
        match entry.fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => entry.fields.push((name, value)),
        }
    }
}
