//! Properties of pattern mining on generated lines, for the three ways
//! mining failed on logs it had never seen: an optional piece or a unit
//! written two ways split one event; a slot of word values (program names,
//! hosts) was kept constant, one pattern per value; an unknown header was
//! mined as part of the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use basin_pipeline::patterns::{mine_line, Miner, MinerConfig};
use proptest::prelude::*;

/// Mines `lines` as the server does; returns each line's final pattern id
/// and the pattern texts by id.
fn mine(lines: &[String]) -> (Vec<u64>, BTreeMap<u64, String>) {
    let mut miner = Miner::new(MinerConfig::default());
    let mut buf = Vec::new();
    let ids: Vec<u64> = lines
        .iter()
        .map(|l| mine_line(&mut miner, l, &mut buf))
        .collect();
    let ids: Vec<u64> = ids.iter().map(|id| miner.resolve(*id)).collect();
    let texts = ids
        .iter()
        .map(|id| (*id, miner.template(*id).unwrap().text()))
        .collect();
    (ids, texts)
}

/// Lowercase words without digits, as message text is written.
fn word() -> impl Strategy<Value = String> {
    "[a-z]{3,9}"
}

/// A message's constant words: two to six of them.
fn words() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(word(), 2..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `sent 12 bytes to x` and `sent 1200 bytes (1.2 KB) to x`, and a unit
    /// written apart or joined (`12 ms`, `12ms`), are one event.
    #[test]
    fn optional_unit_pieces_keep_one_pattern(
        before in words(),
        after in words(),
        unit in prop::sample::select(vec!["KB", "MB", "ms", "us", "B"]),
        values in prop::collection::vec((1u32..100_000, any::<bool>(), any::<bool>()), 20..60),
    ) {
        let lines: Vec<String> = values
            .iter()
            .map(|(n, piece, joined)| {
                let amount = if *joined { format!("{n}{unit}") } else { format!("{n} {unit}") };
                let piece = if *piece { format!(" ({}.{} {unit})", n / 1000, n % 10) } else { String::new() };
                format!("{} {amount}{piece} {}", before.join(" "), after.join(" "))
            })
            .collect();
        let (ids, texts) = mine(&lines);
        prop_assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 1, "{:?}", texts);
    }

    /// Fifty program names in one slot, first or in the middle of the
    /// line, make one pattern with a wildcard there; two words that take
    /// turns in a slot of another event stay two patterns.
    #[test]
    fn a_slot_of_many_names_is_one_pattern(
        names in prop::collection::btree_set("[a-z]{4,10}", 50),
        rest in prop::collection::vec(word(), 3..6),
        first in any::<bool>(),
        ports in prop::collection::vec(1024u32..65_535, 50),
    ) {
        let lines: Vec<String> = names
            .iter()
            .zip(&ports)
            .map(|(name, port)| {
                let program = format!("{name}.exe");
                let tail = format!("proxy.example.org:{port} open through proxy {}", rest.join(" "));
                if first { format!("{program} - {tail}") } else { format!("connection of {program} - {tail}") }
            })
            .collect();
        let (ids, texts) = mine(&lines);
        prop_assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 1, "{:?}", texts);

        let states: Vec<String> = (0..40)
            .map(|i| format!("cupsd {} succeeded after {i} tries {}", ["startup", "shutdown"][i % 2], rest.join(" ")))
            .collect();
        let (ids, _) = mine(&states);
        prop_assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 2);
    }

    /// Lines behind a bracketed header Basin has no layout for
    /// (`[10.30 16:49:06] `) make the same patterns as without it.
    #[test]
    fn an_unknown_header_changes_no_pattern(
        events in prop::collection::vec(words(), 2..6),
        picks in prop::collection::vec((any::<prop::sample::Index>(), 0u32..100_000), 30..80),
        times in prop::collection::vec((1u32..13, 1u32..29, 0u32..24, 0u32..60, 0u32..60), 80),
    ) {
        let bare: Vec<String> = picks
            .iter()
            .map(|(pick, n)| {
                let event = pick.get(&events);
                format!("{} {n} {}", event[0], event[1..].join(" "))
            })
            .collect();
        let headed: Vec<String> = bare
            .iter()
            .zip(&times)
            .map(|(line, (mo, d, h, mi, s))| format!("[{mo:02}.{d:02} {h:02}:{mi:02}:{s:02}] {line}"))
            .collect();
        let (bare_ids, bare_texts) = mine(&bare);
        let (headed_ids, headed_texts) = mine(&headed);
        prop_assert_eq!(&bare_ids, &headed_ids);
        prop_assert_eq!(bare_texts, headed_texts);
    }
}
