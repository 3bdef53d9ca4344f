use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use basin_model::{Entry, TenantId};
use object_store::memory::InMemory;

use crate::engine::tests::{batch, lines};
use crate::remote::Remote;
use crate::{Snapshot, Storage, StorageConfig};

fn indexer(dir: &Path, bucket: &Arc<InMemory>, prefix: &str) -> Storage {
    let mut cfg = StorageConfig::new(dir.join("data"));
    cfg.wal_sync = false;
    cfg.flush_interval = Duration::from_secs(3600);
    cfg.merge_interval = Duration::from_secs(3600);
    let remote = Remote::with_store(bucket.clone(), prefix, &dir.join("cache"), 1 << 20).unwrap();
    cfg.remote = Some(Arc::new(remote));
    Storage::open(cfg).unwrap()
}

fn view(dir: &Path, bucket: &Arc<InMemory>) -> Storage {
    let bucket = bucket.clone();
    let open = move |prefix: &str, cache: &Path| {
        Remote::with_store(bucket.clone(), prefix, cache, 1 << 20)
    };
    Storage::open_view_with(StorageConfig::new(dir), Box::new(open)).unwrap()
}

fn push(storage: &Storage, tenant: &str, job: &str, lines: &[&str]) {
    let entries = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Entry::new(i as i64 + 1, *l))
        .collect();
    let labels = format!(r#"{{job="{job}"}}"#);
    storage
        .append_blocking(batch(tenant, &labels, entries))
        .unwrap();
}

fn snapshots(nodes: &[&Storage], tenant: &str) -> Vec<Snapshot> {
    let tenant = TenantId::new(tenant).unwrap();
    nodes
        .iter()
        .map(|n| Snapshot::decode(&n.snapshot(&tenant).encode().unwrap()).unwrap())
        .collect()
}

#[test]
fn a_view_sees_every_indexers_parts_and_head_once() {
    let bucket = Arc::new(InMemory::new());
    let (d0, d1, dv) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let i0 = indexer(d0.path(), &bucket, "basin/index-0");
    let i1 = indexer(d1.path(), &bucket, "basin/index-1");
    let v = view(dv.path(), &bucket);
    let a = TenantId::new("a").unwrap();

    // Parts and heads on both, with the same part ids on each.
    push(&i0, "a", "x", &["x1 flushed", "x2 flushed"]);
    push(&i1, "a", "y", &["y1 flushed"]);
    i0.flush().unwrap();
    i1.flush().unwrap();
    push(&i0, "a", "x", &["x3 head"]);
    push(&i1, "a", "y", &["y2 head"]);
    push(&i1, "b", "y", &["other tenant"]);
    assert_eq!(i0.parts()[0].id, i1.parts()[0].id);

    v.adopt(&a, snapshots(&[&i0, &i1], "a")).unwrap();
    let want = vec![
        "x1 flushed",
        "x2 flushed",
        "x3 head",
        "y1 flushed",
        "y2 head",
    ];
    assert_eq!(lines(&v, "a"), want);
    assert!(lines(&v, "b").is_empty());

    // The head goes to a part, more comes in: still each line once.
    i0.flush().unwrap();
    push(&i0, "a", "x", &["x4 head"]);
    v.adopt(&a, snapshots(&[&i0, &i1], "a")).unwrap();
    let mut want = want;
    want.push("x4 head");
    want.sort();
    assert_eq!(lines(&v, "a"), want);

    // Another tenant's adoption leaves tenant a's picture as it was.
    let b = TenantId::new("b").unwrap();
    v.adopt(&b, snapshots(&[&i0, &i1], "b")).unwrap();
    assert_eq!(lines(&v, "b"), vec!["other tenant"]);
    assert_eq!(lines(&v, "a"), want);

    // The view writes nothing: flush and shutdown have nothing to do.
    v.flush().unwrap();
    assert!(v.parts().is_empty());
}

#[test]
fn parts_outside_a_bucket_are_refused_and_the_picture_stays() {
    let bucket = Arc::new(InMemory::new());
    let (d0, dv) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let i0 = indexer(d0.path(), &bucket, "basin/index-0");
    let v = view(dv.path(), &bucket);
    let a = TenantId::new("a").unwrap();
    push(&i0, "a", "x", &["kept"]);
    i0.flush().unwrap();
    v.adopt(&a, snapshots(&[&i0], "a")).unwrap();

    let mut local_only = snapshots(&[&i0], "a");
    local_only[0].prefix = None;
    let err = v.adopt(&a, local_only).unwrap_err().to_string();
    assert!(err.contains("type: s3"), "{err}");
    assert_eq!(lines(&v, "a"), vec!["kept"]);
    // Only stores opened as views adopt.
    assert!(i0.adopt(&a, Vec::new()).is_err());
}
