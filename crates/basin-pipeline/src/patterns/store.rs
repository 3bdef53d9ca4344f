//! Patterns of every tenant, mined per stream group: the streams of one
//! service (its `service_name`, `service`, `app`, ... label) share a miner,
//! so one service's templates neither mix with another's nor push them out
//! of the cap. Each miner tags the entries of its streams with a pattern id
//! unique in the tenant, and this store keeps when each pattern was first
//! seen and an example line. No I/O: the server saves
//! [`PatternStore::save`]'s JSON and hands it back to [`PatternStore::load`]
//! at start.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use basin_model::{Labels, PushBatch, TenantId};
use serde::{Deserialize, Serialize};

use super::token::signature;
use super::{Miner, MinerConfig};

/// Bytes of a line that are mined: its first line (a stack trace's
/// frames would only add noise), cut to this length.
const MINED_BYTES: usize = 2048;

/// Bytes of the example line kept per pattern.
const EXAMPLE_BYTES: usize = 512;

/// Labels naming a stream's group, in the order they are tried: the
/// service a stream comes from (pods and environments of one service log
/// the same templates).
pub const GROUP_LABELS: [&str; 7] = [
    "service_name",
    "service",
    "app",
    "application",
    "job",
    "container",
    "k8s_container_name",
];

/// Stream groups kept per tenant. Streams without a group label, and those
/// of groups past this many, are mined together in the group named "".
/// Each group's miner holds up to `max_patterns` templates and 50,000
/// signatures (about 1-2 MB), so this bounds a tenant's mining memory to
/// a few hundred MB however many services it runs.
pub const MAX_GROUPS: usize = 100;

/// Bits of a pattern id that number the template in its group's miner; the
/// bits above number the group, so ids are unique in a tenant.
const LOCAL_ID_BITS: u32 = 32;
const LOCAL_ID_MASK: u64 = (1 << LOCAL_ID_BITS) - 1;

/// The tenant-wide id of a group's template.
fn global_id(group: usize, local: u64) -> u64 {
    ((group as u64) << LOCAL_ID_BITS) | (local & LOCAL_ID_MASK)
}

/// The group of a tenant-wide id, and the id in its group's miner.
fn split_id(id: u64) -> (usize, u64) {
    ((id >> LOCAL_ID_BITS) as usize, id & LOCAL_ID_MASK)
}

/// The group a stream's lines are mined in.
pub fn group_of(labels: &Labels) -> &str {
    GROUP_LABELS
        .iter()
        .find_map(|name| labels.get(name))
        .unwrap_or("")
}

/// One stream group's miner and what it remembers per pattern (ids here
/// are the miner's own).
#[derive(Debug, Default, Serialize, Deserialize)]
struct GroupPatterns {
    #[serde(default)]
    name: String,
    miner: Miner,
    first_seen: HashMap<u64, i64>,
    examples: HashMap<u64, String>,
}

/// One tenant's groups; a group's place in `groups` is the high bits of
/// its pattern ids, so groups are only ever appended.
#[derive(Debug, Default, Serialize)]
struct TenantPatterns {
    groups: Vec<GroupPatterns>,
    #[serde(skip)]
    by_name: HashMap<String, usize>,
    #[serde(skip)]
    dirty: bool,
}

/// A tenant's saved state.
#[derive(Deserialize)]
struct SavedTenant {
    groups: Vec<GroupPatterns>,
}

impl TenantPatterns {
    fn from_groups(groups: Vec<GroupPatterns>, config: MinerConfig) -> Self {
        let mut t = TenantPatterns::default();
        for mut g in groups {
            g.miner = std::mem::take(&mut g.miner).restored(config);
            t.by_name.insert(g.name.clone(), t.groups.len());
            t.groups.push(g);
        }
        t
    }

    /// The place of the group named `name`, created if need be.
    fn group(&mut self, name: &str, config: MinerConfig) -> usize {
        if let Some(&at) = self.by_name.get(name) {
            return at;
        }
        let name = if self.groups.len() + 1 >= MAX_GROUPS {
            ""
        } else {
            name
        };
        if let Some(&at) = self.by_name.get(name) {
            return at;
        }
        self.by_name.insert(name.to_string(), self.groups.len());
        self.groups.push(GroupPatterns {
            name: name.to_string(),
            miner: Miner::new(config),
            ..GroupPatterns::default()
        });
        self.groups.len() - 1
    }
}

/// What the patterns API shows of one pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternInfo {
    /// Its id (entries may also carry one of `aliases`).
    pub id: u64,
    /// The stream group it was mined in ("" for streams without a group).
    pub group: String,
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
    /// computed before the tenant's miners are locked, so concurrent pushes
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
        let t = tenants.entry(batch.tenant.clone()).or_default();
        t.dirty = true;
        let mut ids = Vec::with_capacity(mined.len());
        let mut mined = mined.into_iter();
        for stream in &batch.streams {
            let at = t.group(group_of(&stream.labels), self.config);
            let g = &mut t.groups[at];
            for (entry, (part, sig)) in stream.entries.iter().zip(mined.by_ref()) {
                let (id, created) = g.miner.add_signed(sig, part);
                ids.push(global_id(at, id));
                // First seen is the first line's time (later lines sent out
                // of order are not looked at: this runs for every line).
                if created {
                    g.first_seen.insert(id, entry.ts);
                    g.examples
                        .insert(id, cut(&entry.line, EXAMPLE_BYTES).to_string());
                }
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
        let (at, local) = split_id(id);
        self.lock()
            .get(tenant)
            .and_then(|t| t.groups.get(at))
            .map_or(id, |g| global_id(at, g.miner.resolve(local)))
    }

    /// Every merged-away id of `tenant` → the id it goes by now.
    pub fn aliases(&self, tenant: &TenantId) -> HashMap<u64, u64> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return HashMap::new();
        };
        t.groups
            .iter()
            .enumerate()
            .flat_map(|(at, g)| {
                g.miner
                    .aliases()
                    .into_iter()
                    .map(move |(from, to)| (global_id(at, from), global_id(at, to)))
            })
            .collect()
    }

    /// Every pattern of `tenant` kept by its miners.
    pub fn patterns(&self, tenant: &TenantId) -> Vec<PatternInfo> {
        let tenants = self.lock();
        let Some(t) = tenants.get(tenant) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (at, g) in t.groups.iter().enumerate() {
            for tpl in g.miner.templates() {
                let aliases = g.miner.aliases_of(tpl.id);
                let first_seen = std::iter::once(tpl.id)
                    .chain(aliases.iter().copied())
                    .filter_map(|id| g.first_seen.get(&id).copied())
                    .min()
                    .unwrap_or(0);
                out.push(PatternInfo {
                    id: global_id(at, tpl.id),
                    group: g.name.clone(),
                    pattern: tpl.text(),
                    count: tpl.count,
                    first_seen,
                    example: g.examples.get(&tpl.id).cloned().unwrap_or_default(),
                    aliases: aliases.iter().map(|&a| global_id(at, a)).collect(),
                });
            }
        }
        out.sort_by_key(|p| p.id);
        out
    }

    /// The state of every tenant changed since the last call, as JSON, so
    /// the caller can write it; memory of evicted patterns is dropped.
    pub fn save(&self) -> Result<Vec<(TenantId, String)>, serde_json::Error> {
        let mut tenants = self.lock();
        let mut out = Vec::new();
        for (tenant, t) in tenants.iter_mut().filter(|(_, t)| t.dirty) {
            for g in &mut t.groups {
                let GroupPatterns {
                    miner,
                    first_seen,
                    examples,
                    ..
                } = g;
                first_seen.retain(|id, _| miner.template(*id).is_some());
                examples.retain(|id, _| miner.template(*id).is_some());
            }
            out.push((tenant.clone(), serde_json::to_string(&*t)?));
            t.dirty = false;
        }
        Ok(out)
    }

    /// Restores a tenant's state that [`PatternStore::save`] gave.
    pub fn load(&self, tenant: TenantId, state: &str) -> Result<(), serde_json::Error> {
        // State saved before groups existed is one miner for all the
        // tenant's streams: it becomes the group "".
        let groups = match serde_json::from_str::<SavedTenant>(state) {
            Ok(saved) => saved.groups,
            Err(e) => match serde_json::from_str::<GroupPatterns>(state) {
                Ok(one) => vec![one],
                Err(_) => return Err(e),
            },
        };
        let t = TenantPatterns::from_groups(groups, self.config);
        self.lock().insert(tenant, t);
        Ok(())
    }
}

/// Mines a whole line as the server does: its [`mined_part`], looked up by
/// signature first (`buf` keeps its memory between calls). Returns the id
/// the line went to (see [`Miner::resolve`] for what it goes by later).
pub fn mine_line(miner: &mut Miner, line: &str, buf: &mut Vec<u8>) -> u64 {
    let text = mined_part(line);
    miner.add_signed(signature(text, buf), text).0
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

    fn stream(labels: &str, lines: &[&str]) -> StreamBatch {
        StreamBatch {
            labels: Labels::parse(labels).unwrap(),
            entries: lines.iter().map(|l| Entry::new(1, *l)).collect(),
        }
    }

    #[test]
    fn each_service_has_its_own_patterns() {
        let store = PatternStore::new(MinerConfig::default());
        let mut b = PushBatch {
            tenant: TenantId::default_tenant(),
            streams: vec![
                stream(r#"{pod="a-1",service_name="api"}"#, &["user 1 logged in"]),
                stream(r#"{app="web",pod="w-1"}"#, &["user 2 logged in"]),
                stream(r#"{pod="a-2",service_name="api"}"#, &["user 3 logged in"]),
                stream(r#"{pod="x"}"#, &["user 4 logged in"]),
            ],
        };
        store.tag(&mut b);
        let ids: Vec<u64> = b.streams.iter().map(|s| s.entries[0].pattern_id).collect();
        assert_eq!(ids[0], ids[2], "pods of one service share a pattern");
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[3]);
        let tenant = TenantId::default_tenant();
        let patterns = store.patterns(&tenant);
        let groups: Vec<(&str, u64)> = patterns
            .iter()
            .map(|p| (p.group.as_str(), p.count))
            .collect();
        assert_eq!(groups, [("api", 2), ("web", 1), ("", 1)]);
        assert!(patterns.iter().all(|p| p.pattern == "user <_> logged in"));
        assert_eq!(store.resolve(&tenant, ids[1]), ids[1]);

        // Ids stay after a restart, group by group.
        let saved = store.save().unwrap();
        let restored = PatternStore::new(MinerConfig::default());
        restored.load(tenant.clone(), &saved[0].1).unwrap();
        let mut again = PushBatch {
            tenant: tenant.clone(),
            streams: vec![stream(r#"{app="web"}"#, &["user 9 logged in"])],
        };
        restored.tag(&mut again);
        assert_eq!(again.streams[0].entries[0].pattern_id, ids[1]);
    }

    #[test]
    fn groups_past_the_cap_share_one_miner() {
        let store = PatternStore::new(MinerConfig::default());
        let streams = (0..MAX_GROUPS + 5)
            .map(|i| stream(&format!(r#"{{app="s{i}"}}"#), &["disk full"]))
            .collect();
        let mut b = PushBatch {
            tenant: TenantId::default_tenant(),
            streams,
        };
        store.tag(&mut b);
        let patterns = store.patterns(&TenantId::default_tenant());
        assert_eq!(patterns.len(), MAX_GROUPS);
        let last = patterns.last().unwrap();
        assert_eq!((last.group.as_str(), last.count), ("", 6));
    }

    #[test]
    fn state_saved_before_groups_loads_as_one_group() {
        let mut miner = Miner::new(MinerConfig::default());
        let id = miner.add("user 1 logged in");
        let old = format!(
            r#"{{"miner":{},"first_seen":{{"{id}":7}},"examples":{{"{id}":"user 1 logged in"}}}}"#,
            miner.save().unwrap()
        );
        let store = PatternStore::new(MinerConfig::default());
        let tenant = TenantId::default_tenant();
        store.load(tenant.clone(), &old).unwrap();
        let patterns = store.patterns(&tenant);
        assert_eq!(patterns.len(), 1);
        assert_eq!(
            (
                patterns[0].id,
                patterns[0].first_seen,
                patterns[0].group.as_str()
            ),
            (id, 7, "")
        );
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
