//! Syslog messages (RFC 3164 and RFC 5424, parsed with `syslog_loose`) and
//! TCP framing (RFC 6587: newline-terminated or octet-counted). Stream labels
//! are `hostname` and `app_name`; facility, severity, procid, msgid and
//! structured data become fields, and the severity sets `level`.
//!
//! Sockets live in the API crate; this module only turns bytes into entries.

use basin_model::{sanitize_label_name, Entry, Labels, PushBatch, StreamBatch, TenantId};
use basin_pipeline::multiline::is_continuation;
use basin_pipeline::timestamp::year_before;
use chrono::Utc;
use syslog_loose::{parse_message_with_year_exact_tz, IncompleteDate, Variant};

use crate::stream::{check_line, validate_labels, RawLabels};
use crate::{IngestError, IngestLimits};
use basin_model::level::{level_from_syslog_severity, LEVEL_FIELD};

/// One parsed message: its stream labels and its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage {
    /// `hostname` and `app_name`.
    pub labels: Labels,
    /// The message text as the line, the rest as fields.
    pub entry: Entry,
}

/// Parses one message. `peer` names the sender when the message has no
/// hostname; `now` is the time of messages without one.
pub fn parse(
    raw: &[u8],
    peer: &str,
    limits: &IngestLimits,
    now: i64,
) -> Result<SyslogMessage, IngestError> {
    let text = std::str::from_utf8(raw)
        .map_err(|e| IngestError::Malformed(format!("syslog message is not UTF-8: {e}")))?;
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    if !text.starts_with('<') {
        return Err(IngestError::Malformed(
            "syslog message does not start with a <PRI>".into(),
        ));
    }
    let message = parse_message_with_year_exact_tz(text, year_of, Some(Utc), Variant::Either)
        .map_err(|e| IngestError::Malformed(format!("not an RFC 3164 or 5424 message: {e}")))?;
    let hostname = message.hostname.filter(|h| *h != "-").unwrap_or(peer);
    let mut labels = vec![("hostname".to_string(), hostname.to_string())];
    if let Some(app) = message.appname.filter(|a| *a != "-") {
        labels.push(("app_name".to_string(), app.to_string()));
    }
    let labels = validate_labels(RawLabels::Pairs(labels), limits)?;
    let mut fields = Vec::new();
    if let Some(facility) = message.facility {
        fields.push(("facility".to_string(), facility.as_str().to_string()));
    }
    if let Some(severity) = message.severity {
        fields.push(("severity".to_string(), severity.as_str().to_string()));
        if let Some(level) = level_from_syslog_severity(severity as u8) {
            fields.push((LEVEL_FIELD.to_string(), level.to_string()));
        }
    }
    if let Some(procid) = &message.procid {
        fields.push(("procid".to_string(), procid.to_string()));
    }
    if let Some(msgid) = message.msgid.filter(|m| *m != "-") {
        fields.push(("msgid".to_string(), msgid.to_string()));
    }
    for element in &message.structured_data {
        for (name, value) in element.params() {
            let key = sanitize_label_name(&format!("{}_{}", element.id, name));
            fields.push((key, value.to_string()));
        }
    }
    let ts = message
        .timestamp
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(now);
    let entry = Entry {
        ts,
        line: message.msg.to_string(),
        fields,
        pattern_id: 0,
    };
    check_line(&labels, &entry, limits)?;
    Ok(SyslogMessage { labels, entry })
}

/// The year of an RFC 3164 date, which has none.
fn year_of(date: IncompleteDate) -> i32 {
    let (month, day, ..) = date;
    year_before(Utc::now(), month, day)
}

/// Messages grouped into one batch, each stream once.
pub fn to_batch(tenant: TenantId, messages: Vec<SyslogMessage>) -> PushBatch {
    let mut streams: Vec<StreamBatch> = Vec::new();
    for m in messages {
        match streams.iter_mut().find(|s| s.labels == m.labels) {
            Some(stream) => stream.entries.push(m.entry),
            None => streams.push(StreamBatch {
                labels: m.labels,
                entries: vec![m.entry],
            }),
        }
    }
    PushBatch { tenant, streams }
}

/// Appends a newline-framed TCP frame that is no syslog message but the
/// next line of a stack trace (`\tat a.B(B.java:1)`, `Caused by: ...`) to
/// the message before it, as long as the line stays within `max_line`.
/// Returns whether it did; otherwise the frame is a message of its own.
pub fn join_continuation(batch: &mut [SyslogMessage], raw: &[u8], max_line: usize) -> bool {
    let Some(last) = batch.last_mut() else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(raw) else {
        return false;
    };
    let text = text.trim_end_matches(['\r', '\n']);
    let fits = last.entry.line.len() + 1 + text.len() <= max_line;
    if text.starts_with('<') || !fits || !is_continuation(text) {
        return false;
    }
    last.entry.line.push('\n');
    last.entry.line.push_str(text);
    true
}

/// A frame cut from a TCP stream, or why bytes were thrown away.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// One message's bytes.
    Message(Vec<u8>),
    /// Bytes skipped: a frame over the size limit, or a bad length prefix.
    Skipped(String),
}

/// Cuts a TCP byte stream into messages (RFC 6587): a frame starting with a
/// digit is octet-counted (`LEN SP MSG`), any other ends at a newline.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    max_frame: usize,
    /// Bytes still to drop of an oversized frame.
    skipping: usize,
    /// Dropping up to the next newline (an oversized newline frame).
    skipping_line: bool,
}

impl Framer {
    /// A framer refusing frames over `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_frame,
            skipping: 0,
            skipping_line: false,
        }
    }

    /// Adds bytes read from the socket.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.skipping > 0 {
            let n = self.skipping.min(self.buf.len());
            self.buf.drain(..n);
            self.skipping -= n;
            if self.skipping > 0 {
                return None;
            }
        }
        if self.skipping_line {
            let end = memchr_newline(&self.buf)?;
            self.buf.drain(..=end);
            self.skipping_line = false;
        }
        // Blank lines between frames are skipped; a frame's own leading
        // spaces and tabs stay (a stack trace's `\tat` line needs them).
        let blank = self
            .buf
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .count();
        self.buf.drain(..blank);
        let first = *self.buf.first()?;
        if first.is_ascii_digit() {
            return self.octet_counted();
        }
        match memchr_newline(&self.buf) {
            // Over the limit whether or not its newline came in the same
            // read: the answer must not depend on how the stream was cut.
            Some(end) if end > self.max_frame => {
                self.buf.drain(..=end);
                Some(Frame::Skipped(format!(
                    "message longer than {} bytes without a newline",
                    self.max_frame
                )))
            }
            Some(end) => {
                let frame: Vec<u8> = self.buf.drain(..=end).take(end).collect();
                Some(Frame::Message(frame))
            }
            None if self.buf.len() > self.max_frame => {
                self.buf.clear();
                self.skipping_line = true;
                Some(Frame::Skipped(format!(
                    "message longer than {} bytes without a newline",
                    self.max_frame
                )))
            }
            None => None,
        }
    }

    fn octet_counted(&mut self) -> Option<Frame> {
        let digits = self.buf.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == self.buf.len() {
            if digits > 10 {
                // As a bad prefix seen whole: drop to the next newline.
                self.buf.clear();
                self.skipping_line = true;
                return Some(Frame::Skipped("octet count too long".into()));
            }
            return None;
        }
        if self.buf[digits] != b' ' || digits > 10 {
            // Not a length prefix after all: drop to the next newline.
            let end = memchr_newline(&self.buf);
            match end {
                Some(end) => {
                    self.buf.drain(..=end);
                }
                None => {
                    self.buf.clear();
                    self.skipping_line = true;
                }
            }
            return Some(Frame::Skipped("bad octet-count prefix".into()));
        }
        let len: usize = std::str::from_utf8(&self.buf[..digits])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        if len > self.max_frame {
            self.buf.drain(..=digits);
            self.skipping = len;
            let _ = self.next_frame_skip_only();
            return Some(Frame::Skipped(format!(
                "octet-counted frame of {len} bytes over the {}-byte limit",
                self.max_frame
            )));
        }
        if self.buf.len() < digits + 1 + len {
            return None;
        }
        let frame: Vec<u8> = self.buf[digits + 1..digits + 1 + len].to_vec();
        self.buf.drain(..digits + 1 + len);
        Some(Frame::Message(frame))
    }

    /// Drops what is buffered of a frame being skipped.
    fn next_frame_skip_only(&mut self) -> Option<()> {
        let n = self.skipping.min(self.buf.len());
        self.buf.drain(..n);
        self.skipping -= n;
        Some(())
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<SyslogMessage, IngestError> {
        parse(text.as_bytes(), "10.0.0.9", &IngestLimits::default(), 42)
    }

    fn field<'a>(m: &'a SyslogMessage, name: &str) -> Option<&'a str> {
        m.entry
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let m = parse_text(
            r#"<165>1 2023-11-14T22:13:20.000Z web-1 billing 4242 ID47 [origin@32473 ip="10.1.1.1" x="y"] invoice sent"#,
        )
        .unwrap();
        assert_eq!(
            m.labels.to_string(),
            r#"{app_name="billing", hostname="web-1"}"#
        );
        assert_eq!(m.entry.ts, 1_700_000_000_000_000_000);
        assert_eq!(m.entry.line, "invoice sent");
        assert_eq!(field(&m, "facility"), Some("local4"));
        assert_eq!(field(&m, "severity"), Some("notice"));
        assert_eq!(field(&m, "level"), Some("info"));
        assert_eq!(field(&m, "procid"), Some("4242"));
        assert_eq!(field(&m, "msgid"), Some("ID47"));
        assert_eq!(field(&m, "origin_32473_ip"), Some("10.1.1.1"));
    }

    #[test]
    fn stack_trace_frames_join_their_message() {
        let mut batch =
            vec![
                parse_text("<11>1 2024-05-01T12:00:00Z app-1 shop 7 - - ERROR checkout failed")
                    .unwrap(),
            ];
        for frame in [
            "java.lang.IllegalStateException: card declined\n",
            "\tat com.shop.Billing.charge(Billing.java:42)",
            "Caused by: java.io.IOException: timeout",
        ] {
            assert!(
                join_continuation(&mut batch, frame.as_bytes(), 1000),
                "{frame}"
            );
        }
        // A new message, or a line that is no continuation, stays apart.
        assert!(!join_continuation(
            &mut batch,
            b"<11>1 2024-05-01T12:00:01Z app-1 shop 7 - - next",
            1000
        ));
        assert!(!join_continuation(&mut batch, b"plain words", 1000));
        // Over the line limit the frame stays apart too.
        assert!(!join_continuation(&mut batch, b"\tat x.Y(Y.java:1)", 100));
        assert_eq!(
            batch[0].entry.line,
            "ERROR checkout failed\njava.lang.IllegalStateException: card declined\n\tat com.shop.Billing.charge(Billing.java:42)\nCaused by: java.io.IOException: timeout"
        );
        assert!(!join_continuation(&mut [], b"\tat x", 1000));
    }

    #[test]
    fn rfc3164_and_missing_hostname() {
        let m = parse_text("<11>Nov 14 22:13:20 db-2 postgres[77]: connection refused").unwrap();
        assert_eq!(
            m.labels.to_string(),
            r#"{app_name="postgres", hostname="db-2"}"#
        );
        assert_eq!(m.entry.line, "connection refused");
        assert_eq!(field(&m, "level"), Some("error"));
        assert_eq!(field(&m, "procid"), Some("77"));
        let m = parse_text("<14>1 - - - - - - hello").unwrap();
        assert_eq!(m.labels.to_string(), r#"{hostname="10.0.0.9"}"#);
        assert_eq!(m.entry.ts, 42);
    }

    #[test]
    fn bad_messages_are_errors() {
        for bad in ["no pri at all", "<999>1 x", ""] {
            assert!(parse_text(bad).is_err(), "{bad:?}");
        }
        assert!(parse(b"<14>1 - - - - - - \xff", "h", &IngestLimits::default(), 0).is_err());
        let limits = IngestLimits {
            max_line_size_bytes: 4,
            ..IngestLimits::default()
        };
        assert!(parse(b"<14>1 - h a - - - too long", "h", &limits, 0).is_err());
    }

    #[test]
    fn framing_newline_and_octet_counted() {
        let mut f = Framer::new(64);
        f.push(b"<14>first\n10 <14>second");
        assert_eq!(f.next_frame(), Some(Frame::Message(b"<14>first".to_vec())));
        assert_eq!(f.next_frame(), Some(Frame::Message(b"<14>second".to_vec())));
        assert_eq!(f.next_frame(), None);
        f.push(b"9 <14>thi");
        assert_eq!(f.next_frame(), None);
        f.push(b"rd");
        assert_eq!(f.next_frame(), Some(Frame::Message(b"<14>third".to_vec())));
        assert_eq!(f.next_frame(), None);
    }

    #[test]
    fn framing_recovers_from_bad_frames() {
        let mut f = Framer::new(16);
        f.push(b"100 ");
        f.push(&[b'x'; 100]);
        f.push(b"<14>after\n");
        assert!(matches!(f.next_frame(), Some(Frame::Skipped(_))));
        assert_eq!(f.next_frame(), Some(Frame::Message(b"<14>after".to_vec())));
        f.push(&[b'y'; 40]);
        assert!(matches!(f.next_frame(), Some(Frame::Skipped(_))));
        f.push(b"yyy\n<14>ok\n");
        assert_eq!(f.next_frame(), Some(Frame::Message(b"<14>ok".to_vec())));
        f.push(b"12x junk\n<14>ok2\n");
        assert!(matches!(f.next_frame(), Some(Frame::Skipped(_))));
        assert_eq!(f.next_frame(), Some(Frame::Message(b"<14>ok2".to_vec())));
    }

    /// Found by the `syslog_framing` fuzz target: a newline frame over the
    /// limit was kept when its newline came in the same read and skipped
    /// when the stream was read in small pieces.
    #[test]
    fn frames_do_not_depend_on_how_the_stream_was_read() {
        let stream = b"<34>Oct 1 821 22:14:A&c1\n22 <13>1 - h app - - - hi\n<13>ok\n";
        let frames = |step: usize| {
            let mut framer = Framer::new(21);
            let mut out = Vec::new();
            for piece in stream.chunks(step) {
                framer.push(piece);
                while let Some(f) = framer.next_frame() {
                    out.push(f);
                }
            }
            out
        };
        let messages = |frames: Vec<Frame>| {
            frames
                .into_iter()
                .filter(|f| matches!(f, Frame::Message(_)))
                .collect::<Vec<_>>()
        };
        let whole = frames(stream.len());
        for step in 1..8 {
            assert_eq!(
                messages(frames(step)),
                messages(frames(stream.len())),
                "read {step} bytes at a time"
            );
        }
        assert_eq!(whole.last(), Some(&Frame::Message(b"<13>ok".to_vec())));
        assert!(matches!(whole[0], Frame::Skipped(_)));
    }

    /// Found by the same target: an octet count of more than ten digits
    /// dropped only what was buffered, so the rest of its line became a
    /// message when the digits came in small reads.
    #[test]
    fn overlong_octet_counts_drop_their_line_however_read() {
        let mut stream = vec![b'2'; 40];
        stream.extend_from_slice(b"%junk\n<13>ok\n");
        for step in [2, 3, stream.len()] {
            let mut framer = Framer::new(58);
            let mut messages = Vec::new();
            for piece in stream.chunks(step) {
                framer.push(piece);
                while let Some(f) = framer.next_frame() {
                    if let Frame::Message(m) = f {
                        messages.push(m);
                    }
                }
            }
            assert_eq!(
                messages,
                vec![b"<13>ok".to_vec()],
                "read {step} bytes at a time"
            );
        }
    }
}
