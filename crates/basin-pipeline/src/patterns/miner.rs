//! The online template miner.
//!
//! Lines with the same number of tokens and the same first token form a
//! group. In a group, a line goes to the template it shares the most
//! tokens with, if that share reaches `similarity`. Where they differ:
//! - a token with a variable part (a digit, masked by [`super::token`]) or
//!   the template's wildcard is absorbed: the template gets a wildcard;
//! - two different words are a *word conflict*. Words are often the
//!   template itself (`startup` / `shutdown succeeded`), but sometimes a
//!   value (`Invalid user alice from`). So the line starts a sibling
//!   template, and the distinct words seen at those positions are counted:
//!   once `open_after` of them are seen, the positions become wildcards and
//!   the siblings merge into the template (their ids become aliases).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::token::{tokens, WILDCARD};

/// Ids skipped when a miner is restored: templates created after its state
/// was last saved (and lost in a crash) may already name stored entries, so
/// new ids start past them.
const RESTORE_ID_GAP: u64 = 1_000_000;

/// The miner's settings; one set for every kind of log.
#[derive(Debug, Clone, Copy)]
pub struct MinerConfig {
    /// Least share of equal tokens for a line to join a template.
    pub similarity: f64,
    /// Distinct words at the same positions that make them variable.
    pub open_after: usize,
    /// Most templates kept per miner; past it the least recently matched
    /// goes (its id is never reused).
    pub max_patterns: usize,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            similarity: 0.5,
            open_after: 4,
            max_patterns: 2000,
        }
    }
}

/// One template.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    /// Stable id, assigned when the template is first seen.
    pub id: u64,
    /// Its tokens; variable ones are [`WILDCARD`] or contain it.
    pub tokens: Vec<String>,
    /// Lines matched so far.
    pub count: u64,
    /// When it last matched, in lines mined.
    last_seen: u64,
    /// Distinct words seen at positions where lines conflicted with it.
    #[serde(default)]
    words: Vec<(usize, Vec<String>)>,
    /// Templates started by lines that differed from it only by words.
    #[serde(default)]
    siblings: Vec<u64>,
}

impl Template {
    /// The template as text.
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }
}

/// Mines templates from lines, one at a time. Its state (templates, ids,
/// aliases) serialises, so ids stay stable across restarts.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Miner {
    #[serde(skip)]
    config: MinerConfig,
    templates: HashMap<u64, Template>,
    /// (token count, first token) → template ids; rebuilt on restore.
    #[serde(skip)]
    groups: HashMap<(usize, String), Vec<u64>>,
    /// Merged-away template id → the id it merged into.
    aliases: HashMap<u64, u64>,
    next_id: u64,
    lines: u64,
}

/// How a line compares with a template of the same length.
struct Fit {
    id: u64,
    similarity: f64,
    /// Positions of word conflicts.
    conflicts: Vec<usize>,
}

impl Miner {
    /// A miner with `config`.
    pub fn new(config: MinerConfig) -> Self {
        Self {
            config,
            next_id: 1,
            ..Self::default()
        }
    }

    /// A miner from a state [`serde_json`] wrote, with `config`; new ids
    /// start [`RESTORE_ID_GAP`] past the saved ones.
    pub fn restore(state: &str, config: MinerConfig) -> Result<Self, serde_json::Error> {
        let miner: Miner = serde_json::from_str(state)?;
        Ok(miner.restored(config))
    }

    /// A deserialised miner made ready: `config` set, groups rebuilt, new
    /// ids past the gap.
    pub fn restored(mut self, config: MinerConfig) -> Self {
        let mut miner = std::mem::take(&mut self);
        miner.config = config;
        miner.next_id += RESTORE_ID_GAP;
        let mut ids: Vec<u64> = miner.templates.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(t) = miner.templates.get(&id) {
                let key = (t.tokens.len(), group_token(t.tokens.first()));
                miner.groups.entry(key).or_default().push(id);
            }
        }
        miner
    }

    /// The state to save, as JSON.
    pub fn save(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Ids that merged into `id`.
    pub fn aliases_of(&self, id: u64) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .aliases
            .keys()
            .copied()
            .filter(|a| self.resolve(*a) == id)
            .collect();
        out.sort_unstable();
        out
    }

    /// Mines one line; returns its template's id (which may later become an
    /// alias: see [`Miner::resolve`]).
    pub fn add(&mut self, line: &str) -> u64 {
        self.lines += 1;
        let toks = tokens(line);
        let key = (toks.len(), group_token(toks.first()));
        let best = self
            .groups
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|id| self.templates.get(id))
            .map(|t| fit(t, &toks))
            .filter(|f| f.similarity >= self.config.similarity)
            .max_by(|a, b| {
                // Fewer word conflicts first, then likeness, then the older.
                b.conflicts
                    .len()
                    .cmp(&a.conflicts.len())
                    .then(a.similarity.total_cmp(&b.similarity))
                    .then(b.id.cmp(&a.id))
            });
        match best {
            Some(f) if f.conflicts.is_empty() => {
                self.absorb(f.id, &toks);
                f.id
            }
            Some(f) => self.word_conflict(f, key, toks),
            None => self.create(key, toks),
        }
    }

    /// The id `id` now goes by (itself unless it merged into another).
    pub fn resolve(&self, mut id: u64) -> u64 {
        while let Some(&to) = self.aliases.get(&id) {
            id = to;
        }
        id
    }

    /// The template with `id` (or the one it merged into), if still kept.
    pub fn template(&self, id: u64) -> Option<&Template> {
        self.templates.get(&self.resolve(id))
    }

    /// Every template kept.
    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        self.templates.values()
    }

    /// Merges a line without word conflicts into template `id`.
    fn absorb(&mut self, id: u64, toks: &[String]) {
        if let Some(t) = self.templates.get_mut(&id) {
            for (have, new) in t.tokens.iter_mut().zip(toks) {
                if have != new && have != WILDCARD {
                    *have = WILDCARD.to_string();
                }
            }
            t.count += 1;
            t.last_seen = self.lines;
        }
    }

    /// A line like template `f.id` but for words at `f.conflicts`: it
    /// starts a sibling, unless its words are the `open_after`-th distinct
    /// ones at a position, which makes that position a wildcard.
    fn word_conflict(&mut self, f: Fit, key: (usize, String), toks: Vec<String>) -> u64 {
        let open_after = self.config.open_after;
        let mut opened = false;
        if let Some(t) = self.templates.get_mut(&f.id) {
            for &i in &f.conflicts {
                let own = t.tokens[i].clone();
                let seen = match t.words.iter_mut().find(|(p, _)| *p == i) {
                    Some((_, seen)) => seen,
                    None => {
                        t.words.push((i, vec![own]));
                        let last = t.words.len() - 1;
                        &mut t.words[last].1
                    }
                };
                if !seen.contains(&toks[i]) {
                    seen.push(toks[i].clone());
                }
                if seen.len() >= open_after {
                    t.tokens[i] = WILDCARD.to_string();
                    opened = true;
                }
            }
            t.words.retain(|(p, _)| t.tokens[*p] != WILDCARD);
        }
        if opened {
            self.regroup_siblings(f.id);
            if let Some(t) = self.templates.get(&f.id) {
                if fit(t, &toks).conflicts.is_empty() {
                    self.absorb(f.id, &toks);
                    return f.id;
                }
            }
        }
        let sibling = self.create(key, toks);
        if let Some(t) = self.templates.get_mut(&f.id) {
            t.siblings.push(sibling);
        }
        sibling
    }

    /// After positions of `parent` opened: siblings that no longer differ
    /// from it by a word merge into it, and siblings that differ by the
    /// same words merge with each other.
    fn regroup_siblings(&mut self, parent: u64) {
        let siblings = self
            .templates
            .get_mut(&parent)
            .map(|t| std::mem::take(&mut t.siblings))
            .unwrap_or_default();
        let mut kept: Vec<(Vec<(usize, String)>, u64)> = Vec::new();
        for s in siblings {
            let (Some(p), Some(sib)) = (self.templates.get(&parent), self.templates.get(&s)) else {
                continue;
            };
            let words: Vec<(usize, String)> = fit(p, &sib.tokens)
                .conflicts
                .iter()
                .map(|&i| (i, sib.tokens[i].clone()))
                .collect();
            if words.is_empty() {
                self.merge(s, parent);
            } else if let Some((_, into)) = kept.iter().find(|(w, _)| *w == words) {
                let into = *into;
                self.merge(s, into);
            } else {
                kept.push((words, s));
            }
        }
        if let Some(t) = self.templates.get_mut(&parent) {
            t.siblings = kept.into_iter().map(|(_, s)| s).collect();
        }
    }

    /// Merges template `from` into `into`: counts add, tokens that differ
    /// become wildcards, and `from` becomes an alias.
    fn merge(&mut self, from: u64, into: u64) {
        if from == into {
            return;
        }
        let Some(gone) = self.templates.remove(&from) else {
            return;
        };
        if let Some(t) = self.templates.get_mut(&into) {
            for (have, other) in t.tokens.iter_mut().zip(&gone.tokens) {
                if have != other {
                    *have = WILDCARD.to_string();
                }
            }
            t.count += gone.count;
            t.last_seen = t.last_seen.max(gone.last_seen);
        }
        for ids in self.groups.values_mut() {
            ids.retain(|id| *id != from);
        }
        self.aliases.insert(from, into);
    }

    fn create(&mut self, key: (usize, String), toks: Vec<String>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.groups.entry(key).or_default().push(id);
        self.templates.insert(
            id,
            Template {
                id,
                tokens: toks,
                count: 1,
                last_seen: self.lines,
                words: Vec::new(),
                siblings: Vec::new(),
            },
        );
        self.evict();
        id
    }

    fn evict(&mut self) {
        if self.templates.len() <= self.config.max_patterns {
            return;
        }
        let Some(oldest) = self
            .templates
            .values()
            .min_by_key(|t| t.last_seen)
            .map(|t| t.id)
        else {
            return;
        };
        self.templates.remove(&oldest);
        for ids in self.groups.values_mut() {
            ids.retain(|id| *id != oldest);
        }
    }
}

/// The token a line is grouped by: its first, or the wildcard when that
/// varies.
fn group_token(first: Option<&String>) -> String {
    match first {
        Some(t) if !t.contains(WILDCARD) => t.clone(),
        _ => WILDCARD.to_string(),
    }
}

/// Compares a line with a template of the same length: the share of
/// positions that agree (wildcards agree with anything) and where two
/// different words meet.
fn fit(template: &Template, line: &[String]) -> Fit {
    let mut same = 0;
    let mut conflicts = Vec::new();
    for (i, (t, l)) in template.tokens.iter().zip(line).enumerate() {
        if t == l || t == WILDCARD {
            same += 1;
        } else if !t.contains(WILDCARD) && !l.contains(WILDCARD) {
            conflicts.push(i);
        }
    }
    let similarity = if line.is_empty() {
        1.0
    } else {
        same as f64 / line.len() as f64
    };
    Fit {
        id: template.id,
        similarity,
        conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mine(lines: &[&str]) -> (Miner, Vec<u64>) {
        let mut m = Miner::new(MinerConfig::default());
        let ids = lines.iter().map(|l| m.add(l)).collect();
        (m, ids)
    }

    #[test]
    fn variables_become_wildcards() {
        let (m, ids) = mine(&[
            "Accepted password for root from 10.0.0.1 port 22 ssh2",
            "Accepted password for root from 10.0.0.2 port 2200 ssh2",
        ]);
        assert_eq!(ids[0], ids[1]);
        assert_eq!(
            m.template(ids[0]).map(Template::text).as_deref(),
            Some("Accepted password for root from <_> port <_> <_>")
        );
    }

    #[test]
    fn few_distinct_words_stay_apart_many_merge() {
        let (m, ids) = mine(&["cupsd startup succeeded", "cupsd shutdown succeeded"]);
        assert_ne!(m.resolve(ids[0]), m.resolve(ids[1]));
        let users = ["alice", "bob", "carol", "dave", "erin", "frank"];
        let lines: Vec<String> = users
            .iter()
            .map(|u| format!("Invalid user {u} from 10.0.0.1"))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (m, ids) = mine(&refs);
        let first = m.resolve(ids[0]);
        assert!(ids.iter().all(|id| m.resolve(*id) == first));
        assert_eq!(
            m.template(first).map(Template::text).as_deref(),
            Some("Invalid user <_> from <_>")
        );
        assert_eq!(m.template(first).map(|t| t.count), Some(6));
        assert_eq!(
            m.aliases_of(first).len(),
            2,
            "bob and carol, before dave opened it"
        );
    }

    #[test]
    fn state_restores_with_the_same_ids() {
        let (m, ids) = mine(&[
            "disk sda1 is 91% full",
            "disk sdb2 is 95% full",
            "cache warm",
        ]);
        let state = m.save().unwrap();
        let mut back = Miner::restore(&state, MinerConfig::default()).unwrap();
        assert_eq!(back.add("disk sdc3 is 99% full"), ids[0]);
        assert_eq!(back.add("cache warm"), ids[2]);
        let new = back.add("something else entirely");
        assert!(new > RESTORE_ID_GAP, "new ids start past the gap: {new}");
        assert!(Miner::restore("{", MinerConfig::default()).is_err());
    }
}
