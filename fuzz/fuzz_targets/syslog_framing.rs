//! Syslog TCP framing (RFC 6587: octet counting and newlines) on any byte
//! stream, cut into reads anywhere: never panics, and the frames do not
//! depend on where the reads were cut.
#![no_main]

use basin_ingest::syslog::{Frame, Framer};
use libfuzzer_sys::fuzz_target;

fn frames(reads: &[&[u8]], max: usize) -> Vec<Frame> {
    let mut framer = Framer::new(max);
    let mut out = Vec::new();
    for read in reads {
        framer.push(read);
        while let Some(frame) = framer.next_frame() {
            out.push(frame);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    // Small limits reach the oversized-frame paths.
    let max = 8 + usize::from(cut % 64);
    let whole = frames(&[stream], max);
    let step = 1 + usize::from(cut % 7);
    let pieces: Vec<&[u8]> = stream.chunks(step).collect();
    let split = frames(&pieces, max);
    let messages = |f: &[Frame]| {
        f.iter()
            .filter_map(|f| match f {
                Frame::Message(m) => Some(m.clone()),
                Frame::Skipped(_) => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        messages(&whole),
        messages(&split),
        "frames depend on how the stream was read"
    );
    for m in messages(&whole) {
        assert!(m.len() <= max, "a frame of {} bytes passed the {max} limit", m.len());
    }
});
