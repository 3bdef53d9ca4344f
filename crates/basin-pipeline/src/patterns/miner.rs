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

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::token::{tokens, WILDCARD};

/// Hashes a `u64` key (an id or a hash already) with one multiplication:
/// the maps below are looked up for every line mined.
#[derive(Debug, Default, Clone, Copy)]
pub struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by `u64` with [`U64Hasher`].
type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

/// Line signatures remembered at most; past it the memory starts again.
const MAX_REMEMBERED_SIGNATURES: usize = 50_000;

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
            similarity: 0.7,
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
    templates: U64Map<Template>,
    /// Hash of (token count, first token) → template ids, the most
    /// recently matched first; rebuilt on restore.
    #[serde(skip)]
    groups: U64Map<Vec<u64>>,
    /// Token count → template ids: where a line whose first word no group
    /// knows looks next (that word may be a value: a program, a host).
    #[serde(skip)]
    lengths: U64Map<Vec<u64>>,
    /// Line signature ([`super::token::signature`]) → the template lines
    /// with it went to: most lines repeat a signature seen before, and then
    /// need no comparison at all (templates only ever generalise, so the
    /// template still fits them).
    #[serde(skip)]
    seen: U64Map<u64>,
    /// Merged-away template id → the id it merged into.
    aliases: U64Map<u64>,
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

    /// A deserialised miner made ready: `config` set, templates brought to
    /// the current token rules, groups rebuilt, new ids past the gap.
    ///
    /// Templates saved under older rules (before headers and optional pieces
    /// were folded) are re-tokenised from their text, so lines arriving now
    /// find them and entries stored before keep matching their ids.
    /// Templates that become equal merge into the oldest: the others become
    /// its aliases, as in any merge.
    pub fn restored(mut self, config: MinerConfig) -> Self {
        let mut miner = std::mem::take(&mut self);
        miner.config = config;
        miner.next_id += RESTORE_ID_GAP;
        let mut ids: Vec<u64> = miner.templates.keys().copied().collect();
        ids.sort_unstable();
        let mut first_of: HashMap<Vec<String>, u64> = HashMap::new();
        let mut duplicates = Vec::new();
        for &id in &ids {
            let Some(t) = miner.templates.get_mut(&id) else {
                continue;
            };
            // A wildcard reads as the number it stood for.
            let text = t.text().replace(WILDCARD, "0");
            let now: Vec<String> = tokens(&text).iter().map(|t| t.to_string()).collect();
            if now != t.tokens {
                t.tokens = now;
                // Positions of counted words moved.
                t.words.clear();
            }
            let key = group_key(&t.tokens);
            miner.groups.entry(key).or_default().push(id);
            miner
                .lengths
                .entry(t.tokens.len() as u64)
                .or_default()
                .push(id);
            match first_of.get(&t.tokens) {
                Some(&first) => duplicates.push((id, first)),
                None => {
                    first_of.insert(t.tokens.clone(), id);
                }
            }
        }
        for (id, into) in duplicates {
            miner.merge(id, into);
        }
        miner
    }

    /// The state to save, as JSON.
    pub fn save(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Every merged-away id → the id it goes by now.
    pub fn aliases(&self) -> HashMap<u64, u64> {
        self.aliases
            .keys()
            .map(|&from| (from, self.resolve(from)))
            .collect()
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
        self.add_tokens(&tokens(line)).0
    }

    /// Mines a line whose [`super::token::signature`] is `sig`: a known
    /// signature costs one lookup; otherwise the line is split and mined.
    pub fn add_signed(&mut self, sig: u64, line: &str) -> (u64, bool) {
        if let Some(&id) = self.seen.get(&sig) {
            let id = self.resolve(id);
            if let Some(t) = self.templates.get_mut(&id) {
                self.lines += 1;
                t.count += 1;
                t.last_seen = self.lines;
                return (id, false);
            }
        }
        let (id, created) = self.add_tokens(&tokens(line));
        if self.seen.len() >= MAX_REMEMBERED_SIGNATURES {
            self.seen.clear();
        }
        self.seen.insert(sig, id);
        (id, created)
    }

    /// Mines a line already split by [`tokens`] (so callers can do that
    /// outside a lock); returns its template's id and whether the template
    /// is new.
    pub fn add_tokens(&mut self, toks: &[Cow<'_, str>]) -> (u64, bool) {
        self.lines += 1;
        let key = group_key(toks);
        let (mut best, perfect_at) = self.best_fit(self.groups.get(&key), toks);
        if let Some(at) = perfect_at {
            self.move_to_front(key, at);
        }
        if best.is_none() {
            // No template of its group fits: its first word may be a value
            // (`chrome.exe open through proxy`), so templates of its length
            // that differ from it by that word alone are candidates.
            best = self
                .best_fit(self.lengths.get(&(toks.len() as u64)), toks)
                .0
                .filter(|f| f.conflicts.iter().all(|&i| i == 0));
        }
        match best {
            Some(f) if f.conflicts.is_empty() => {
                self.absorb(f.id, toks);
                (f.id, false)
            }
            Some(f) => self.word_conflict(f, key, toks),
            None => (self.create(key, toks), true),
        }
    }

    /// The template of `ids` a line fits best, if any fits, and where in
    /// `ids` a perfect one stopped the search.
    fn best_fit(
        &self,
        ids: Option<&Vec<u64>>,
        toks: &[Cow<'_, str>],
    ) -> (Option<Fit>, Option<usize>) {
        let mut best: Option<Fit> = None;
        for (at, id) in ids.into_iter().flatten().enumerate() {
            let Some(t) = self.templates.get(id) else {
                continue;
            };
            let f = fit(t, toks);
            if f.similarity < self.config.similarity {
                continue;
            }
            // A template every position agrees with is the best possible.
            let perfect = f.similarity >= 1.0 && f.conflicts.is_empty();
            // Fewer word conflicts first, then likeness, then the older
            // template (word conflicts are counted on the first one).
            let better = best.as_ref().is_none_or(|b| {
                (f.conflicts.len(), b.similarity, f.id) < (b.conflicts.len(), f.similarity, b.id)
            });
            if better {
                best = Some(f);
            }
            if perfect {
                return (best, Some(at));
            }
        }
        (best, None)
    }

    /// Moves the `at`-th template of a group to its front.
    fn move_to_front(&mut self, key: u64, at: usize) {
        if let Some(ids) = self.groups.get_mut(&key) {
            if at > 0 && at < ids.len() {
                let id = ids.remove(at);
                ids.insert(0, id);
            }
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
    fn absorb(&mut self, id: u64, toks: &[Cow<'_, str>]) {
        if let Some(t) = self.templates.get_mut(&id) {
            for (have, new) in t.tokens.iter_mut().zip(toks) {
                if have != new.as_ref() && have != WILDCARD {
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
    fn word_conflict(&mut self, f: Fit, key: u64, toks: &[Cow<'_, str>]) -> (u64, bool) {
        let open_after = self.config.open_after;
        let mut opened = false;
        let parent_key = self.templates.get(&f.id).map(|t| group_key(&t.tokens));
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
                if !seen.iter().any(|w| *w == toks[i]) {
                    seen.push(toks[i].to_string());
                }
                if seen.len() >= open_after {
                    t.tokens[i] = WILDCARD.to_string();
                    opened = true;
                }
            }
            t.words.retain(|(p, _)| t.tokens[*p] != WILDCARD);
        }
        if opened {
            if let Some(parent_key) = parent_key {
                self.rekey(f.id, parent_key);
            }
            self.regroup_siblings(f.id);
            if let Some(t) = self.templates.get(&f.id) {
                if fit(t, toks).conflicts.is_empty() {
                    self.absorb(f.id, toks);
                    return (f.id, false);
                }
            }
        }
        let sibling = self.create(key, toks);
        if let Some(t) = self.templates.get_mut(&f.id) {
            t.siblings.push(sibling);
        }
        (sibling, true)
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

    /// Moves template `id` to the group its tokens now key, if its first
    /// token became a wildcard since it was keyed by `old`.
    fn rekey(&mut self, id: u64, old: u64) {
        let Some(key) = self.templates.get(&id).map(|t| group_key(&t.tokens)) else {
            return;
        };
        if key == old {
            return;
        }
        if let Some(ids) = self.groups.get_mut(&old) {
            ids.retain(|i| *i != id);
        }
        self.groups.entry(key).or_default().push(id);
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
        let into_key = self.templates.get(&into).map(|t| group_key(&t.tokens));
        if let Some(t) = self.templates.get_mut(&into) {
            for (have, other) in t.tokens.iter_mut().zip(&gone.tokens) {
                if have != other {
                    *have = WILDCARD.to_string();
                }
            }
            t.count += gone.count;
            t.last_seen = t.last_seen.max(gone.last_seen);
        }
        self.forget(from);
        if let Some(key) = into_key {
            self.rekey(into, key);
        }
        self.aliases.insert(from, into);
    }

    fn create(&mut self, key: u64, toks: &[Cow<'_, str>]) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.groups.entry(key).or_default().push(id);
        self.lengths.entry(toks.len() as u64).or_default().push(id);
        self.templates.insert(
            id,
            Template {
                id,
                tokens: toks.iter().map(|t| t.to_string()).collect(),
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
        self.forget(oldest);
    }

    /// Drops a removed template's id from the group and length indexes.
    fn forget(&mut self, id: u64) {
        for ids in self.groups.values_mut().chain(self.lengths.values_mut()) {
            ids.retain(|i| *i != id);
        }
    }
}

/// The group of a line: its token count and first token (the wildcard when
/// that varies), hashed. A collision only widens the candidates: [`fit`]
/// checks the length.
fn group_key<S: AsRef<str>>(toks: &[S]) -> u64 {
    let mut h = DefaultHasher::new();
    toks.len().hash(&mut h);
    match toks.first().map(AsRef::as_ref) {
        Some(t) if !t.contains(WILDCARD) => t.hash(&mut h),
        _ => WILDCARD.hash(&mut h),
    }
    h.finish()
}

/// Compares a line with a template of the same length: the share of
/// positions that agree (wildcards agree with anything) and where two
/// different words meet.
fn fit<S: AsRef<str>>(template: &Template, line: &[S]) -> Fit {
    let mut same = 0;
    let mut conflicts = Vec::new();
    if template.tokens.len() != line.len() {
        return Fit {
            id: template.id,
            similarity: 0.0,
            conflicts,
        };
    }
    for (i, (t, l)) in template.tokens.iter().zip(line).enumerate() {
        let l = l.as_ref();
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
            Some("Accepted password for root from <_> port <_>")
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
    fn templates_saved_under_older_token_rules_keep_their_ids() {
        let (m, ids) = mine(&[
            "2024-05-01 12:00:00,123 INFO worker started in 12 ms",
            "2024-05-01 12:00:01,123 INFO worker started in 20 ms",
            "2024-05-01 12:00:02,123 INFO cache ready",
        ]);
        // Older rules kept the header and made the unit a word of its own.
        let mut state: serde_json::Value = serde_json::from_str(&m.save().unwrap()).unwrap();
        let old = |text: &str| serde_json::json!(text.split(' ').collect::<Vec<_>>());
        state["templates"][ids[0].to_string()]["tokens"] =
            old("<_> <_>,<_> INFO worker started in <_> <_>");
        state["templates"][ids[2].to_string()]["tokens"] = old("<_> <_>,<_> INFO cache ready");
        let mut back = Miner::restore(&state.to_string(), MinerConfig::default()).unwrap();
        assert_eq!(
            back.template(ids[0]).map(Template::text).as_deref(),
            Some("INFO worker started in <_>")
        );
        assert_eq!(
            back.add("2024-05-02 08:00:00,001 INFO worker started in 3 ms"),
            ids[0]
        );
        assert_eq!(back.add("2024-05-02 08:00:00,002 INFO cache ready"), ids[2]);
    }

    #[test]
    fn templates_an_older_rule_kept_apart_merge_on_restore() {
        let mut m = Miner::new(MinerConfig::default());
        let a = m.add("request took 12 ms");
        let b = m.add("request took something else entirely");
        let mut state: serde_json::Value = serde_json::from_str(&m.save().unwrap()).unwrap();
        // Older rules made `12 ms` two variables, `12ms` one.
        state["templates"][b.to_string()]["tokens"] = serde_json::json!(["request", "took", "<_>"]);
        state["templates"][a.to_string()]["tokens"] =
            serde_json::json!(["request", "took", "<_>", "<_>"]);
        let back = Miner::restore(&state.to_string(), MinerConfig::default()).unwrap();
        assert_eq!(back.resolve(b), a, "the younger merges into the older");
        assert_eq!(back.aliases_of(a), vec![b]);
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
