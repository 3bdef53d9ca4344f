//! User pipelines from the config file: ordered rules, each a stream
//! selector (`match`) and steps run on the entries of the streams it
//! selects, before auto-detection, so what a rule extracts wins over what
//! detection would find.
//!
//! LogQL (the `match` selector and `drop` filters) is evaluated by the query
//! engine through [`SelectorCompiler`], so rules filter exactly as queries do
//! without this crate depending on the engine.

mod config;
mod step;

use basin_model::{Entry, Labels, PushBatch};

pub use config::{MaskItem, RuleConfig, StepConfig};
use step::{Step, StepOutcome};

/// A compiled LogQL selector, possibly with line and label filters.
pub trait Selector: Send + Sync {
    /// Whether the stream selector matches a stream's labels.
    fn matches_stream(&self, stream: &Labels) -> bool;
    /// Whether an entry of a matching stream passes the filters.
    fn matches_entry(&self, stream: &Labels, entry: &Entry) -> bool;
}

/// Compiles LogQL text (`{job="x"} |= "y" | level="debug"`) to a [`Selector`].
pub type SelectorCompiler<'a> = &'a dyn Fn(&str) -> Result<Box<dyn Selector>, String>;

/// Why a rule does not compile.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A step or selector is wrong; names the rule and step.
    #[error("pipelines[{rule}]{at}: {message}")]
    Invalid {
        /// Index of the rule.
        rule: usize,
        /// `.steps[i]` or empty for the selector.
        at: String,
        /// What is wrong.
        message: String,
    },
}

struct Rule {
    selector: Box<dyn Selector>,
    steps: Vec<Step>,
}

/// The compiled user pipelines.
#[derive(Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rules({})", self.rules.len())
    }
}

impl Rules {
    /// Compiles `configs` in order; `grok_patterns` adds named patterns to
    /// the standard library for every `grok` step.
    pub fn new(
        configs: &[RuleConfig],
        grok_patterns: &[(String, String)],
        compile: SelectorCompiler<'_>,
    ) -> Result<Self, RuleError> {
        let mut grok = grok::Grok::with_default_patterns();
        for (name, pattern) in grok_patterns {
            grok.add_pattern(name.clone(), pattern.clone());
        }
        let mut rules = Vec::new();
        for (i, config) in configs.iter().enumerate() {
            let invalid = |at: String, message: String| RuleError::Invalid {
                rule: i,
                at,
                message,
            };
            let selector = compile(&config.selector).map_err(|m| invalid(".match".into(), m))?;
            let steps = config
                .steps
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    Step::new(s, &config.selector, &grok, compile)
                        .map_err(|m| invalid(format!(".steps[{j}]"), m))
                })
                .collect::<Result<_, _>>()?;
            rules.push(Rule { selector, steps });
        }
        Ok(Self { rules })
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Runs every rule on the streams it selects; entries a `drop` or
    /// `sample` step removes are gone from `batch`. Returns how many.
    pub fn apply(&self, batch: &mut PushBatch) -> usize {
        let mut removed = 0;
        for stream in &mut batch.streams {
            for rule in &self.rules {
                if !rule.selector.matches_stream(&stream.labels) {
                    continue;
                }
                let before = stream.entries.len();
                let labels = &stream.labels;
                stream.entries.retain_mut(|entry| {
                    rule.steps
                        .iter()
                        .all(|step| step.apply(labels, entry) == StepOutcome::Keep)
                });
                removed += before - stream.entries.len();
                for step in &rule.steps {
                    step.relabel(&mut stream.labels);
                }
            }
        }
        batch.streams.retain(|s| !s.entries.is_empty());
        removed
    }
}

#[cfg(test)]
mod tests;
