use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use object_store::memory::InMemory;

use super::cache::BLOCK_BYTES;
use super::*;

fn meta(id: u64) -> PartMeta {
    PartMeta {
        id,
        tenant: "t".into(),
        day: "2026-12-05".into(),
        rows: 1,
        min_ts: 0,
        max_ts: 0,
        size_bytes: 0,
    }
}

fn remote(dir: &Path, cap: u64) -> Remote {
    Remote::with_store(Arc::new(InMemory::new()), "basin", &dir.join("cache"), cap).expect("remote")
}

#[test]
fn ranges_come_back_exact_and_repeat_reads_hit_the_cache() {
    let dir = tempfile::tempdir().expect("dir");
    let r = remote(dir.path(), 64 * BLOCK_BYTES);
    let data: Vec<u8> = (0..(3 * BLOCK_BYTES + 1234))
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let file = dir.path().join("p.parquet");
    std::fs::write(&file, &data).expect("write");
    r.upload_part(&meta(1), &file).expect("upload");
    let key = Remote::part_key(&meta(1));
    let len = data.len() as u64;
    // A range across a block boundary, and the file's last bytes.
    for (offset, n) in [(BLOCK_BYTES - 10, 30usize), (len - 100, 100), (0, 5)] {
        let mut buf = vec![0; n];
        r.read_at(&key, len, offset, &mut buf).expect("read");
        assert_eq!(buf, data[offset as usize..offset as usize + n]);
    }
    let gets = r.stats().get_requests.load(Relaxed);
    assert_eq!(gets, 3, "blocks 0, 1 and 3 fetched once each");
    let mut buf = vec![0; 5];
    r.read_at(&key, len, 2, &mut buf).expect("read");
    assert_eq!(
        r.stats().get_requests.load(Relaxed),
        gets,
        "a cached block costs no GET"
    );
    assert!(r.stats().cache_hits.load(Relaxed) >= 1);
    let mut past = vec![0; 10];
    assert!(
        r.read_at(&key, len, len - 5, &mut past).is_err(),
        "reads past the end fail"
    );
}

#[test]
fn the_cache_stays_under_its_cap() {
    let dir = tempfile::tempdir().expect("dir");
    let r = remote(dir.path(), 2 * BLOCK_BYTES);
    let data = vec![1u8; (8 * BLOCK_BYTES) as usize];
    let file = dir.path().join("p.parquet");
    std::fs::write(&file, &data).expect("write");
    r.upload_part(&meta(2), &file).expect("upload");
    let key = Remote::part_key(&meta(2));
    let mut buf = vec![0; data.len()];
    r.read_at(&key, data.len() as u64, 0, &mut buf)
        .expect("read");
    assert_eq!(buf, data);
    let on_disk: u64 = std::fs::read_dir(r.cache_dir())
        .expect("cache dir")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum();
    assert!(on_disk <= 2 * BLOCK_BYTES, "{on_disk} bytes cached");
}

#[test]
fn manifest_round_trips_and_parts_are_found_and_deleted() {
    let dir = tempfile::tempdir().expect("dir");
    let r = remote(dir.path(), BLOCK_BYTES);
    assert_eq!(r.get_manifest().expect("get"), None);
    r.put_manifest(b"{\"x\":1}".to_vec()).expect("put");
    assert_eq!(
        r.get_manifest().expect("get").as_deref(),
        Some(&b"{\"x\":1}"[..])
    );
    let file = dir.path().join("p.parquet");
    std::fs::write(&file, b"part").expect("write");
    assert!(!r.has_part(&meta(3)).expect("head"));
    r.upload_part(&meta(3), &file).expect("upload");
    r.delete_part(&meta(3));
    assert!(!r.has_part(&meta(3)).expect("head"));
}

#[test]
fn retired_parts_stay_in_the_bucket_for_the_grace() {
    let dir = tempfile::tempdir().expect("dir");
    let r =
        remote(dir.path(), BLOCK_BYTES).with_retire_grace(std::time::Duration::from_millis(200));
    let file = dir.path().join("p.parquet");
    std::fs::write(&file, b"part").expect("write");
    r.upload_part(&meta(3), &file).expect("upload");
    r.upload_part(&meta(4), &file).expect("upload");
    // A query node that listed part 3 can still read it for a while.
    r.delete_part(&meta(3));
    assert!(r.has_part(&meta(3)).expect("head"));
    std::thread::sleep(std::time::Duration::from_millis(250));
    // The next retirement deletes what waited long enough.
    r.delete_part(&meta(4));
    assert!(!r.has_part(&meta(3)).expect("head"));
    assert!(r.has_part(&meta(4)).expect("head"));
}
