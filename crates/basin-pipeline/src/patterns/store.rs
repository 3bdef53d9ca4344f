//! Patterns of every tenant: one miner per tenant tags each entry of a
//! batch with its pattern id, and keeps when each pattern was first seen
//! and an example line. No I/O: the server saves [`PatternStore::save`]'s
//! JSON and hands it back to [`PatternStore::load`] at start.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use basin_model::{PushBatch, TenantId};
use serde::{Deserialize, Serialize};

use super::token::signature;
use super::{Miner, MinerConfig};

/// Bytes of a line that are mined: its first line (a stack trace's
/// frames would only add noise), cut to this length.
const MINED_BYTES: usize = 2048;

/// Bytes of the example line kept per pattern.
const EXAMPLE_BYTES: usize = 512;

/// One tenant's miner and what it remembers per pattern.
#[derive(Debug, Default, Serialize, Deserialize)]
struct TenantPatterns {
    miner: Miner,
    first_seen: HashMap<u64, i64>,
    examples: HashMap<u64, String>,
    #[serde(skip)]
    dirty: bool,
}

/// What the patterns API shows of one pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternInfo {
    /// Its id (entries may also carry one of `aliases`).
    pub id: u64,
    /// The template, `<_>` for variable parts.
    pub pattern: String,
    /// Lines mined into it since it was created.
    pub count: u64,
    /// Time of the earliest entry seen with it, ns.
    pub first_seen: i64,
    /// One line it was mined from.
    pub example: String,
    /// Ids of templates that merged into it.
    pub aliases: Vec<u64>,
}

/// The miners of all tenants.
#[derive(Debug, Default)]
pub struct PatternStore {
    config: MinerConfig,
    tenants: Mutex<HashMap<TenantId, TenantPatterns>>,
}

impl PatternStore {
    /// An empty store mining with `config`.
    pub fn new(config: MinerConfig) -> Self {
        Self {
            config,
            tenants: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TenantId, TenantPatterns>> {
        self.tenants.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the pattern id of every entry of `batch`. Line signatures are
    /// computed before the tenant's miner is locked, so concurrent pushes
    /// do that part in parallel.
    pub fn tag(&self, batch: &mut PushBatch) {
        let mut buf = Vec::new();
        let mined: Vec<(&str, u64)> = batch
            .streams
            .iter()
            .flat_map(|s| s.entries.iter())
            .map(|e| {
                let part = mined_part(&e.line);
                (part, signature(part, &mut buf))
            })
            .collect();
        let mut tenants = self.lock();
        let t = tenants
            .entry(batch.tenant.clone())
            .or_insert_with(|| TenantPatterns {
                miner: Miner::new(self.config),
                ..TenantPatterns::default()
            });
        t.dirty = true;
        let entries = batch.streams.iter().flat_map(|s| s.entries.iter());
        let mut ids = Vec::with_capacity(mined.len());
        for (entry, (part, sig)) in entries.zip(mined) {
            let (id, created) = t.miner.add_signed(sig, part);
            ids.push(id);
            // First seen is the first line's time (later lines sent out of
            // order are not looked at: this runs for every line).
            if created {
                t.first_seen.insert(id, entry.ts);
                t.examples
                    .insert(id, cut(&entry.line, EXAMPLE_BYTES).to_string());
            }
        }
        drop(tenants);
        let entries = batch.streams.iter_mut().flat_map(|s| s.entries.iter_mut());
        for (entry, id) in entries.zip(ids) {
            entry.pattern_id = id;
        }
    }

    /// The id entries tagged `id` are now grouped under.
    pub fn resolve(&self, tenant: &TenantId, id: u64) -> u64 {
        self.lock().get(tenant).map_or(id, |t| t.miner.resolve(id))
    }

    /// Every merged-away id of `tenant` → the id it goes by now.
    pub fn aliases(&self, tenant: &TenantId) -> HashMap<u64, u64> {
        self.lock()
            .get(tenant)
            .map(|t| t.miner.aliases())
            .unwrap_or_default()
    }

    /// Every pattern of `tenant` kept by its miner.
    pub fn patterns(&self, tenant: &TenantId) -> Vec<PatternInfo> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Vec::new();
        };
        let mut out: Vec<PatternInfo> = t
            .miner
            .templates()
            .map(|tpl| {
                let aliases = t.miner.aliases_of(tpl.id);
                let first_seen = std::iter::once(tpl.id)
                    .chain(aliases.iter().copied())
                    .filter_map(|id| t.first_seen.get(&id).copied())
                    .min()
                    .unwrap_or(0);
                PatternInfo {
                    id: tpl.id,
                    pattern: tpl.text(),
                    count: tpl.count,
                    first_seen,
                    example: t.examples.get(&tpl.id).cloned().unwrap_or_default(),
                    aliases,
                }
            })
            .collect();
        out.sort_by_key(|p| p.id);
        out
    }

    /// The state of every tenant changed since the last call, as JSON, so
    /// the caller can write it; memory of evicted patterns is dropped.
    pub fn save(&self) -> Result<Vec<(TenantId, String)>, serde_json::Error> {
        let mut tenants = self.lock();
        let mut out = Vec::new();
        for (tenant, t) in tenants.iter_mut().filter(|(_, t)| t.dirty) {
            let TenantPatterns {
                miner,
                first_seen,
                examples,
                ..
            } = t;
            first_seen.retain(|id, _| miner.template(*id).is_some());
            examples.retain(|id, _| miner.template(*id).is_some());
            out.push((tenant.clone(), serde_json::to_string(&*t)?));
            t.dirty = false;
        }
        Ok(out)
    }

    /// Restores a tenant's state that [`PatternStore::save`] gave.
    pub fn load(&self, tenant: TenantId, state: &str) -> Result<(), serde_json::Error> {
        let mut t: TenantPatterns = serde_json::from_str(state)?;
        t.miner = std::mem::take(&mut t.miner).restored(self.config);
        self.lock().insert(tenant, t);
        Ok(())
    }
}

/// Keys whose value is a JSON line's message, in the order they are tried.
const MESSAGE_KEYS: [&str; 4] = ["\"msg\":", "\"message\":", "\"log\":", "\"MESSAGE\":"];

/// The part of a line that is mined: the message of a JSON line (its
/// other keys are structure every line of the stream shares, and ids), else
/// its first line (not a stack trace's frames), cut to [`MINED_BYTES`].
pub fn mined_part(line: &str) -> &str {
    let first = match memchr::memchr(b'\n', line.as_bytes()) {
        Some(end) => line[..end].strip_suffix('\r').unwrap_or(&line[..end]),
        None => line,
    };
    let text = if first.starts_with('{') {
        json_message(first).unwrap_or(first)
    } else {
        first
    };
    cut(text, MINED_BYTES)
}

/// The string value of the first message key of a JSON object's text, as
/// written (escapes kept), found without parsing the whole object.
fn json_message(line: &str) -> Option<&str> {
    MESSAGE_KEYS.iter().find_map(|key| {
        let at = memchr::memmem::find(line.as_bytes(), key.as_bytes())?;
        let rest = line[at + key.len()..].trim_start().strip_prefix('"')?;
        let bytes = rest.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return rest.get(..i),
                _ => i += 1,
            }
        }
        None
    })
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use basin_model::{Entry, Labels, StreamBatch};

    use super::*;

    fn batch(lines: &[(i64, &str)]) -> PushBatch {
        PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![StreamBatch {
                labels: Labels::parse(r#"{job="x"}"#).unwrap(),
                entries: lines.iter().map(|(ts, l)| Entry::new(*ts, *l)).collect(),
            }],
        }
    }

    #[test]
    fn tags_entries_and_survives_a_restart() {
        let store = PatternStore::new(MinerConfig::default());
        let mut b = batch(&[
            (3, "user 1 logged in"),
            (5, "user 2 logged in"),
            (9, "disk full\n\tat x.Y(Y.java:1)"),
        ]);
        store.tag(&mut b);
        let ids: Vec<u64> = b.streams[0].entries.iter().map(|e| e.pattern_id).collect();
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
        assert!(ids.iter().all(|id| *id != 0));
        let tenant = TenantId::default_tenant();
        let patterns = store.patterns(&tenant);
        assert_eq!(patterns.len(), 2);
        assert_eq!(patterns[0].pattern, "user <_> logged in");
        assert_eq!(patterns[0].count, 2);
        assert_eq!(patterns[0].first_seen, 3);
        assert_eq!(patterns[0].example, "user 1 logged in");
        assert_eq!(
            patterns[1].pattern, "disk full",
            "only the first line is mined"
        );

        let saved = store.save().unwrap();
        assert_eq!(saved.len(), 1);
        assert!(store.save().unwrap().is_empty(), "nothing changed since");
        let restored = PatternStore::new(MinerConfig::default());
        restored.load(tenant.clone(), &saved[0].1).unwrap();
        assert_eq!(restored.patterns(&tenant), patterns);
        let mut again = batch(&[(20, "user 3 logged in")]);
        restored.tag(&mut again);
        assert_eq!(again.streams[0].entries[0].pattern_id, ids[0]);
        assert!(restored.load(tenant, "not json").is_err());
    }

    #[test]
    fn json_lines_are_mined_by_their_message() {
        assert_eq!(
            mined_part(r#"{"ts":"2026-01-01T00:00:00Z","msg":"retrying \"upstream\" call","n":1}"#),
            r#"retrying \"upstream\" call"#
        );
        assert_eq!(
            mined_part(r#"{"message": "disk full", "x":1}"#),
            "disk full"
        );
        assert_eq!(mined_part(r#"{"msg":1,"a":"b"}"#), r#"{"msg":1,"a":"b"}"#);
        assert_eq!(
            mined_part(r#"{"msg":"unterminated"#),
            r#"{"msg":"unterminated"#
        );
        assert_eq!(mined_part("plain\n\tat x"), "plain");
    }
}
