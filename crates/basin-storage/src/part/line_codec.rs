//! Template-aware line encoding (part format 5).
//!
//! A line is split into its *skeleton*, the text with every variable
//! replaced by [`PLACEHOLDER`], and its *variables*: the tokens (as
//! [`crate::tokens`] defines them) that hold an ASCII digit, which is where
//! ids, numbers and times live. Skeletons repeat (thousands per part against
//! hundreds of thousands of lines), so a part keeps them once in a
//! dictionary and each row stores the skeleton's number; the n-th variable of
//! a row goes to column `_v{n}`, where values of one kind (the trace ids of a
//! JSON stream, its latencies) sit together and compress far better than
//! inside whole lines. CLP (OSDI 2021) showed the idea. The columns are
//! fixed in number ([`VAR_COLUMNS`]), so a part's schema is known before its
//! lines are split: the last one holds the rest of a row's variables,
//! joined by the placeholder.
//!
//! The split is lossless: [`join_columns`] rebuilds the line byte for byte. A line
//! holding a byte the codec reserves (the placeholder, time marks), or more
//! than [`MAX_VARS`] variables, is stored whole instead. Where a row shows
//! its own time, a second skeleton marks it instead of holding its variables
//! (see [`crate::part::time_marks`]).
//!
//! Because variables are whole tokens, a needle made of token bytes alone
//! occurs in a line exactly when it occurs in the skeleton's constant text
//! or inside one variable: [`NeedleTest`] answers `|=` per skeleton, and
//! reads the variables only where that cannot decide.

use std::collections::HashMap;

use std::hash::BuildHasherDefault;

use xxhash_rust::xxh3::xxh3_128;

use super::hash_key::HashIsKey;
use super::time_marks::{find_spot, holds_reserved, may_be_in_time, Layout, TimeSpot, TIME_MARK};
use crate::tokens::is_token_byte;

/// Stands for a variable in a skeleton (ASCII DC1: never a token byte, and
/// rare in logs; lines holding it are stored whole).
pub const PLACEHOLDER: u8 = 0x11;

/// Variable columns of a templated part: one each for a row's first
/// variables, the last for the rest of them (most lines have fewer: a JSON
/// request log about 14, an nginx access line about 20).
pub const VAR_COLUMNS: usize = 24;

/// Most variables a templated line may have (a skeleton records its count
/// in 16 bits); longer lines are stored whole.
pub const MAX_VARS: usize = 4096;

/// Footer key holding the skeleton dictionary.
pub const TEMPLATES_KEY: &str = "basin.templates";

/// Footer key holding, per block, the byte classes of each variable column.
pub const VAR_MASKS_KEY: &str = "basin.var_masks";

/// Footer key holding each skeleton's pattern id (format 8 on): a templated
/// row whose `_pattern_id` is null has its skeleton's. The miner gives
/// nearly every line of a skeleton the same id, so the column is then
/// almost all nulls (1.4 MB of the loghub corpus's 3M lines, before).
pub const SKELETON_PATTERNS_KEY: &str = "basin.skeleton_patterns";

/// Column of a row's skeleton number (0: the line is stored whole in `_line`).
pub const TEMPLATE: &str = "_tpl";

/// Name of the column holding the `n`-th variable.
pub fn var_column(n: usize) -> String {
    format!("_v{n}")
}

/// Builds a line's skeleton as its tokens go by (the writer finds them
/// anyway, for the block index).
#[derive(Default)]
pub struct SkeletonBuilder {
    skeleton: Vec<u8>,
    copied: usize,
    vars: usize,
}

impl SkeletonBuilder {
    /// Starts on `line`; false if it must be stored whole (it holds a byte
    /// the codec reserves: the placeholder or a time mark).
    pub fn start(&mut self, line: &str) -> bool {
        self.skeleton.clear();
        self.copied = 0;
        self.vars = 0;
        !holds_reserved(line.as_bytes())
    }

    /// Takes `line[start..end]`, a variable of `line`, as the next one.
    pub fn var(&mut self, line: &str, start: usize, end: usize) {
        let bytes = line.as_bytes();
        self.skeleton
            .extend_from_slice(bytes.get(self.copied..start).unwrap_or_default());
        self.skeleton.push(PLACEHOLDER);
        self.copied = end;
        self.vars += 1;
    }

    /// The skeleton of `line`, once every variable was taken; `None` if it
    /// has too many variables to be templated.
    pub fn finish(&mut self, line: &str) -> Option<&[u8]> {
        let bytes = line.as_bytes();
        self.skeleton
            .extend_from_slice(bytes.get(self.copied..).unwrap_or_default());
        (self.vars <= MAX_VARS).then_some(&self.skeleton)
    }
}

/// Rebuilds a templated row's line into `out` (cleared first) from its
/// skeleton, its variable columns' values (`column(n)`, "" if null): the
/// first ones one a column, the last column split at the placeholder for
/// the rest; and its time, rendered at each time mark (`None`: the part's
/// format has no time marks, and the byte is text).
pub fn join_columns<'v>(
    skeleton: &str,
    column: impl Fn(usize) -> &'v str,
    time: Option<i64>,
    out: &mut String,
) {
    out.clear();
    let last = VAR_COLUMNS - 1;
    let mut rest = skeleton;
    let mut n = 0;
    let mut tail: Option<std::str::Split<'v, char>> = None;
    let mark = if time.is_some() {
        TIME_MARK
    } else {
        PLACEHOLDER
    };
    while let Some(at) = memchr::memchr2(PLACEHOLDER, mark, rest.as_bytes()) {
        out.push_str(&rest[..at]);
        if let (TIME_MARK, Some(ts)) = (rest.as_bytes()[at], time) {
            let code = rest.as_bytes().get(at + 1).copied().unwrap_or(0);
            if let Some(layout) = Layout::of_code(code) {
                layout.render(ts, out);
            }
            // The code byte is ASCII, so `at + 2` is a char boundary.
            rest = rest.get(at + 2..).unwrap_or("");
            continue;
        }
        let value = if n < last {
            column(n)
        } else {
            tail.get_or_insert_with(|| column(last).split(char::from(PLACEHOLDER)))
                .next()
                .unwrap_or("")
        };
        out.push_str(value);
        n += 1;
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// One bit per class of token byte a text holds: digits, lower and upper
/// letters each, `_`, and any non-ASCII byte. A needle can lie inside a
/// variable column only if the column's mask covers the needle's.
pub fn byte_mask(text: &[u8]) -> u64 {
    text.iter().fold(0, |m, &b| m | MASK_BIT[usize::from(b)])
}

/// The bit of each byte in [`byte_mask`] (0 for bytes outside tokens).
static MASK_BIT: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = match c {
            b'0'..=b'9' => 1 << (c - b'0'),
            b'a'..=b'z' => 1 << (10 + c - b'a'),
            b'A'..=b'Z' => 1 << (36 + c - b'A'),
            b'_' => 1 << 62,
            0x80.. => 1 << 63,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// Skeletons of a part being written, numbered from 1 in order of first use.
#[derive(Default)]
pub struct TemplateBuilder {
    /// Skeleton numbers by the skeleton's 128-bit hash: two skeletons of a
    /// part would share one with odds near 2^-100, and a lookup costs no
    /// comparison of bytes.
    ids: HashMap<u128, u32, BuildHasherDefault<HashIsKey>>,
    skeletons: Vec<Box<[u8]>>,
    /// Per skeleton, where it may hold a time (see [`crate::part::time_marks`]).
    spots: Vec<Option<TimeSpot>>,
    /// Per skeleton, the layout its last timed row used and the number of
    /// the skeleton with that time marked.
    marked: Vec<Option<(Layout, u32)>>,
    /// A time rendered, reused.
    rendered: String,
}

impl TemplateBuilder {
    /// The number of `skeleton`, given one if new.
    pub fn id_of(&mut self, skeleton: &[u8]) -> u32 {
        let next = self.skeletons.len() as u32 + 1;
        let id = *self.ids.entry(xxh3_128(skeleton)).or_insert(next);
        if id == next {
            self.skeletons.push(skeleton.into());
            let timed = memchr::memchr(TIME_MARK, skeleton).is_some();
            self.spots
                .push(if timed { None } else { find_spot(skeleton) });
            self.marked.push(None);
        }
        id
    }

    /// For a row of skeleton `id` (its `line`, variables `vars` and time
    /// `ts`) that shows its own time where the skeleton may hold one: the
    /// number of the skeleton with that time marked, and the variables the
    /// mark stands for.
    pub fn timed(
        &mut self,
        id: u32,
        line: &str,
        vars: &[&str],
        ts: i64,
    ) -> Option<(u32, std::ops::Range<usize>)> {
        let slot = (id as usize).checked_sub(1)?;
        let spot = (*self.spots.get(slot)?)?;
        let range = spot.first_var..spot.first_var + spot.vars;
        let (first, last) = (vars.get(range.start)?, vars.get(range.end.checked_sub(1)?)?);
        let offset = |v: &str| v.as_ptr() as usize - line.as_ptr() as usize;
        let start = offset(first).checked_sub(spot.lead)?;
        let end = offset(last) + last.len() + spot.trail;
        let text = line.as_bytes().get(start..end)?;
        let last_used = self.marked.get(slot).copied().flatten();
        // The layout of the skeleton's last timed row first: rows of one
        // skeleton share a layout.
        let tries = last_used
            .map(|(l, _)| l)
            .into_iter()
            .chain(spot.layouts.iter().copied());
        for layout in tries {
            self.rendered.clear();
            layout.render(ts, &mut self.rendered);
            if self.rendered.as_bytes() != text {
                continue;
            }
            let marked = match last_used {
                Some((l, marked)) if l == layout => marked,
                _ => {
                    let skeleton = self.skeletons.get(slot)?;
                    let mut with_mark = skeleton[..spot.start].to_vec();
                    with_mark.extend_from_slice(&[TIME_MARK, layout.code()]);
                    with_mark.extend_from_slice(&skeleton[spot.end..]);
                    let marked = self.id_of(&with_mark);
                    self.marked[slot] = Some((layout, marked));
                    marked
                }
            };
            return Some((marked, range));
        }
        None
    }

    /// Skeletons so far.
    pub fn len(&self) -> usize {
        self.skeletons.len()
    }

    /// Whether no skeleton was added.
    pub fn is_empty(&self) -> bool {
        self.skeletons.is_empty()
    }

    /// The footer value: each skeleton's length (LEB128) and bytes, zstd
    /// compressed (skeletons share most of their text).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut raw = Vec::new();
        for s in &self.skeletons {
            let mut n = s.len();
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    raw.push(byte);
                    break;
                }
                raw.push(byte | 0x80);
            }
            raw.extend_from_slice(s);
        }
        zstd::bulk::compress(&raw, 3).map_err(|e| e.to_string())
    }
}

/// A part's skeletons, read back from its footer; number `i` at `i - 1`.
#[derive(Debug, Default)]
pub struct Templates {
    skeletons: Vec<Box<str>>,
    vars: Vec<u16>,
}

impl Templates {
    /// Reads what [`TemplateBuilder::encode`] wrote.
    pub fn decode(packed: &[u8]) -> Result<Self, String> {
        let raw = zstd::decode_all(packed).map_err(|e| e.to_string())?;
        let mut out = Self::default();
        let mut at = 0;
        while at < raw.len() {
            let (mut n, mut shift) = (0usize, 0);
            loop {
                let byte = *raw.get(at).ok_or("skeleton length cut short")?;
                at += 1;
                n |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
                if shift > 35 {
                    return Err("skeleton length too long".into());
                }
            }
            let bytes = raw.get(at..at + n).ok_or("skeleton cut short")?;
            at += n;
            let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
            let vars = bytes.iter().filter(|&&b| b == PLACEHOLDER).count();
            out.vars
                .push(u16::try_from(vars).map_err(|e| e.to_string())?);
            out.skeletons.push(text.into());
        }
        Ok(out)
    }

    /// Skeleton number `id` (from 1), if the part has it.
    pub fn get(&self, id: u32) -> Option<&str> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.skeletons.get(i).map(|s| &**s)
    }

    /// How many variables skeleton `id` takes (0 if unknown).
    pub fn vars_of(&self, id: u32) -> usize {
        usize::try_from(id)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.vars.get(i))
            .map_or(0, |&n| usize::from(n))
    }

    /// Number of skeletons.
    pub fn len(&self) -> usize {
        self.skeletons.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.skeletons.is_empty()
    }
}

/// What a skeleton says about a needle before its variables are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Verdict {
    /// No line of the skeleton does, whatever its variables.
    Never = 0,
    /// Every line of the skeleton holds the needle.
    Always = 1,
    /// Only the variables can tell: the variable columns whose byte classes
    /// cover the needle's must be looked into.
    InVars,
    /// The line must be rebuilt and searched.
    Rebuild,
}

/// A `|=` needle, judged per skeleton.
#[derive(Debug, Clone)]
pub struct NeedleTest {
    needle: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
    /// Whether every byte is a token byte (so it cannot straddle a variable).
    tokenish: bool,
    /// Whether it may lie inside a rendered time.
    in_time: bool,
    mask: u64,
}

impl NeedleTest {
    /// Prepares a needle.
    pub fn new(needle: &str) -> Self {
        let bytes = needle.as_bytes();
        Self {
            needle: bytes.to_vec(),
            finder: memchr::memmem::Finder::new(bytes).into_owned(),
            tokenish: bytes.iter().all(|&b| is_token_byte(b)),
            in_time: may_be_in_time(bytes),
            mask: byte_mask(bytes),
        }
    }

    /// Whether every byte of the needle is a token byte, so that it lies
    /// either in constant text or inside one variable.
    pub fn tokenish(&self) -> bool {
        self.tokenish
    }

    /// The verdict for `skeleton` with `vars` variables.
    pub fn judge(&self, skeleton: &str, vars: usize) -> Verdict {
        let found = self.is_in(skeleton.as_bytes());
        let timed = memchr::memchr(TIME_MARK, skeleton.as_bytes()).is_some();
        match (found, self.tokenish) {
            // A needle holding a reserved byte cannot be in the skeleton's
            // text: the split rules such lines out.
            (true, _) if !holds_reserved(&self.needle) => Verdict::Always,
            (_, true) if timed && self.in_time && !self.needle.is_empty() => Verdict::Rebuild,
            (_, true) if vars == 0 || self.needle.is_empty() => Verdict::Never,
            (_, true) => Verdict::InVars,
            _ => Verdict::Rebuild,
        }
    }

    /// Whether a row's verdict may need its line rebuilt with its time:
    /// the needle may straddle text and variables, or lie in a time.
    pub fn may_need_time(&self) -> bool {
        !self.tokenish || self.in_time
    }

    /// The needle.
    pub fn text(&self) -> &[u8] {
        &self.needle
    }

    /// Whether `text` holds the needle.
    pub fn is_in(&self, text: &[u8]) -> bool {
        self.finder.find(text).is_some()
    }

    /// Where the needle first is in `text`.
    pub fn find_in(&self, text: &[u8]) -> Option<usize> {
        self.finder.find(text)
    }

    /// The needle's length in bytes.
    pub fn needle_len(&self) -> usize {
        self.needle.len()
    }

    /// Whether a variable column with byte classes `mask` may hold the needle.
    pub fn may_be_in(&self, mask: u64) -> bool {
        mask & self.mask == self.mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::for_each_token_span;

    /// Writes `line`'s skeleton, split as the writer splits it, to
    /// `skeleton` and returns its number of variables, or `None` if the line
    /// must be stored whole.
    fn split(line: &str, skeleton: &mut Vec<u8>) -> Option<usize> {
        let mut b = SkeletonBuilder::default();
        if !b.start(line) {
            return None;
        }
        for_each_token_span(line, |start, end, digit| {
            if digit {
                b.var(line, start, end);
            }
        });
        let n = b.vars;
        let s = b.finish(line)?;
        skeleton.clear();
        skeleton.extend_from_slice(s);
        Some(n)
    }

    fn round_trip(line: &str) -> (String, Vec<String>) {
        let mut skeleton = Vec::new();
        let n = split(line, &mut skeleton).expect("splits");
        let mut vars = Vec::new();
        for_each_token_span(line, |start, end, digit| {
            if digit {
                vars.push(line[start..end].to_string());
            }
        });
        assert_eq!(vars.len(), n);
        let skeleton = String::from_utf8(skeleton).expect("utf-8");
        let last = VAR_COLUMNS - 1;
        let mut columns: Vec<String> = vars.iter().take(last).cloned().collect();
        columns.push(vars.get(last..).unwrap_or_default().join("\u{11}"));
        let mut back = String::new();
        join_columns(
            &skeleton,
            |n| columns.get(n).map_or("", String::as_str),
            None,
            &mut back,
        );
        assert_eq!(back, line);
        (skeleton.replace('\u{11}', "<>"), vars)
    }

    #[test]
    fn splits_variables_out_and_joins_back() {
        let (s, v) =
            round_trip(r#"{"ts":"2026-01-01T00:00:00.086Z","user":"u38922","msg":"retry"}"#);
        assert_eq!(s, r#"{"ts":"<>-<>-<>:<>:<>.<>","user":"<>","msg":"retry"}"#);
        assert_eq!(v, ["2026", "01", "01T00", "00", "00", "086Z", "u38922"]);
        let (s, v) = round_trip("GET /api/v1/items took 3.5ms für x86_64");
        assert_eq!(s, "GET /api/<>/items took <>.<> für <>");
        assert_eq!(v, ["v1", "3", "5ms", "x86_64"]);
        round_trip("");
        round_trip("no variables here\n\tat all");
        round_trip("ünïcode 12ä ends with 7");
    }

    #[test]
    fn lines_that_cannot_split_are_stored_whole() {
        let mut skeleton = Vec::new();
        assert_eq!(split("has \u{11} in it 42", &mut skeleton), None);
        let many = (0..=MAX_VARS).map(|i| i.to_string()).collect::<Vec<_>>();
        assert!(MAX_VARS < usize::from(u16::MAX));
        assert_eq!(split(&many.join(" "), &mut skeleton), None);
        assert_eq!(split(&many[1..].join(" "), &mut skeleton), Some(MAX_VARS));
    }

    #[test]
    fn the_last_column_holds_the_rest_of_the_variables() {
        // round_trip joins the variables past the 23rd into the last column.
        let vars: Vec<String> = (0..VAR_COLUMNS + 2).map(|i| format!("v{i}")).collect();
        let (_, split_vars) = round_trip(&vars.join(" "));
        assert_eq!(split_vars, vars);
    }

    /// Splits `line` at time `ts` as the writer does; returns whether its
    /// time was marked, after checking the line rebuilds whole.
    fn timed_round_trip(dict: &mut TemplateBuilder, line: &str, ts: i64) -> bool {
        let mut b = SkeletonBuilder::default();
        assert!(b.start(line));
        let mut vars = Vec::new();
        for_each_token_span(line, |start, end, digit| {
            if digit {
                b.var(line, start, end);
                vars.push(&line[start..end]);
            }
        });
        let mut id = dict.id_of(b.finish(line).expect("templated"));
        let marked = dict.timed(id, line, &vars, ts);
        if let Some((m, range)) = marked.clone() {
            id = m;
            vars.drain(range);
        }
        let skeleton = std::str::from_utf8(&dict.skeletons[id as usize - 1]).unwrap();
        assert_eq!(
            skeleton.bytes().filter(|&b| b == PLACEHOLDER).count(),
            vars.len()
        );
        let mut back = String::new();
        join_columns(
            skeleton,
            |n| vars.get(n).copied().unwrap_or(""),
            Some(ts),
            &mut back,
        );
        assert_eq!(back, line);
        marked.is_some()
    }

    #[test]
    fn own_times_are_marked_and_rendered_back() {
        let ts = 1_767_225_600_086_400_000; // 2026-01-01T00:00:00.0864Z
        let mut dict = TemplateBuilder::default();
        for line in [
            r#"{"ts":"2026-01-01T00:00:00.086Z","level":"info","user":"u38922"}"#,
            "ts=2026-01-01T00:00:00.086Z level=debug took=3ms",
            "2026-01-01 00:00:00,086 INFO [main] started in 12ms",
            "10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] \"GET /a/1 HTTP/1.1\" 200 5",
            "<14>Jan  1 00:00:00 host app[12]: hello",
        ] {
            assert!(timed_round_trip(&mut dict, line, ts), "{line}");
            // Twice: the second row finds the marked skeleton cached.
            assert!(timed_round_trip(&mut dict, line, ts), "{line}");
        }
        // Another time in the line: kept as variables, and whole.
        assert!(!timed_round_trip(
            &mut dict,
            "ts=2026-01-01T00:00:01.086Z x",
            ts
        ));
        assert!(!timed_round_trip(
            &mut dict,
            "at 2026-01-01T00:00:00.086Zulu",
            ts
        ));
        assert!(!timed_round_trip(&mut dict, "no time 42", ts));
        // Lines holding a time mark's bytes are stored whole.
        assert!(!SkeletonBuilder::default().start("a \u{12}\u{13} b"));
    }

    #[test]
    fn needles_in_marked_times_need_the_line() {
        let skeleton = "ts=\u{12}\u{13} level=info took=\u{11}ms";
        assert_eq!(NeedleTest::new("info").judge(skeleton, 1), Verdict::Always);
        assert_eq!(NeedleTest::new("error").judge(skeleton, 1), Verdict::InVars);
        assert_eq!(NeedleTest::new("2026").judge(skeleton, 1), Verdict::Rebuild);
        assert_eq!(NeedleTest::new("Jan").judge(skeleton, 1), Verdict::Rebuild);
        // The mark's own bytes are not text.
        assert_eq!(
            NeedleTest::new("\u{13}").judge(skeleton, 1),
            Verdict::Rebuild
        );
        assert!(NeedleTest::new("1T0").may_need_time());
        assert!(!NeedleTest::new("error").may_need_time());
    }

    #[test]
    fn dictionary_round_trips() {
        let mut b = TemplateBuilder::default();
        assert_eq!(b.id_of(b"a \x11 b"), 1);
        assert_eq!(b.id_of(b"plain"), 2);
        assert_eq!(b.id_of(b"a \x11 b"), 1);
        let long = vec![b'x'; 300];
        assert_eq!(b.id_of(&long), 3);
        let t = Templates::decode(&b.encode().expect("encodes")).expect("decodes");
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(1), Some("a \u{11} b"));
        assert_eq!(t.vars_of(1), 1);
        assert_eq!(t.get(3).map(str::len), Some(300));
        assert_eq!(t.get(0), None);
        assert_eq!(t.get(4), None);
        assert!(Templates::decode(b"not zstd").is_err());
    }

    #[test]
    fn needles_are_judged_per_skeleton() {
        let error = NeedleTest::new("error");
        assert_eq!(error.judge("level=error took \u{11}ms", 1), Verdict::Always);
        assert_eq!(error.judge("level=info took \u{11}ms", 1), Verdict::InVars);
        assert_eq!(error.judge("level=info", 0), Verdict::Never);
        assert!(error.may_be_in(byte_mask(b"xerror42")));
        assert!(!error.may_be_in(byte_mask(b"u38922")));
        // "id=4" may straddle constant text and a variable.
        let spans = NeedleTest::new("id=4");
        assert_eq!(spans.judge("user id=\u{11}", 1), Verdict::Rebuild);
        assert_eq!(spans.judge("user id=4 \u{11}", 1), Verdict::Always);
    }
}
