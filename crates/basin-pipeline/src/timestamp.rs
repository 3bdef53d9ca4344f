//! Timestamps written in a line's header: ISO 8601 / RFC 3339 (also with a
//! comma before the fraction, as Log4j and Python write), RFC 3164
//! (`Jun 14 15:16:01`), Apache/nginx (`[10/Oct/2000:13:55:36 -0700]`), ctime
//! (`Sun Dec 04 04:47:44 2005`), Go klog (`I0102 15:04:05.123456`), Java
//! (`04-Dec-2005 04:47:44.123`), bracketed month.day (`[10.30 16:49:06]`),
//! compact and slashed date forms, and epoch
//! seconds, millis, micros or nanos.
//!
//! A line may hold several times (a header time and times in the message):
//! the leftmost date-time in the first [`HEADER_BYTES`] wins; a bare epoch
//! number counts only when no date-time is there. Times without a zone are UTC;
//! times without a year take the year that puts them closest before `now`.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use regex::{Captures, Regex};

/// How far into a line a header time is looked for.
pub const HEADER_BYTES: usize = 128;

const MONTH: &str = "(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const HMS: &str = r"(?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})";

/// Date-time forms, most specific first (a tie on position goes to the first).
static DATE_TIMES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    let forms = [
        // ISO 8601 / RFC 3339, Log4j and Python logging (comma before millis).
        format!(r"(?P<y>\d{{4}})-(?P<mo>\d{{2}})-(?P<d>\d{{2}})[T ]{HMS}(?:[.,](?P<f>\d{{1,9}}))?(?P<tz>Z| ?[+-]\d{{2}}:?\d{{2}}\b)?"),
        // IBM BlueGene and others: 2005-06-03-15.42.50.675872
        r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})-(?P<h>\d{2})\.(?P<mi>\d{2})\.(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?".to_string(),
        // 2024/05/01 12:00:00 (Go's log package, nginx error log)
        format!(r"(?P<y>\d{{4}})/(?P<mo>\d{{2}})/(?P<d>\d{{2}})[ T]{HMS}(?:[.,](?P<f>\d{{1,9}}))?"),
        // 17/06/09 20:10:40 (yy/MM/dd, Spark)
        format!(r"\b(?P<y>\d{{2}})/(?P<mo>\d{{2}})/(?P<d>\d{{2}}) {HMS}(?:[.,](?P<f>\d{{1,9}}))?"),
        // 20171223-22:15:29:606 (after a colon, whole milliseconds: `:11` is 11 ms)
        // (this writer does not pad: `22:16:0:119`)
        r"\b(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})[-T ]?(?P<h>\d{1,2}):(?P<mi>\d{1,2}):(?P<s>\d{1,2})(?:[.,](?P<f>\d{1,9})|:(?P<ms>\d{1,3}))?".to_string(),
        // 081109 203615 (yyMMdd HHmmss at the start, Hadoop HDFS)
        r"^(?P<y>\d{2})(?P<mo>\d{2})(?P<d>\d{2}) (?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})\b".to_string(),
        // [10/Oct/2000:13:55:36 -0700] (common and combined log format)
        format!(r"\[(?P<d>\d{{2}})/{MONTH}/(?P<y>\d{{4}}):{HMS}(?: (?P<tz>[+-]\d{{4}}))?\]"),
        // Sun Dec 04 04:47:44 2005 (ctime, Apache error log)
        format!(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {MONTH} +(?P<d>\d{{1,2}}) {HMS}(?:\.(?P<f>\d{{1,9}}))? (?P<y>\d{{4}})"),
        // 04-Dec-2005 04:47:44.123 (Tomcat, Java)
        format!(r"\b(?P<d>\d{{2}})-{MONTH}-(?P<y>\d{{4}}) {HMS}(?:[.,](?P<f>\d{{1,9}}))?"),
        // I0102 15:04:05.123456 (Go klog, no year)
        format!(r"^[IWEF](?P<mo>\d{{2}})(?P<d>\d{{2}}) {HMS}(?:\.(?P<f>\d{{1,9}}))?"),
        // [10.30 16:49:06] (MM.dd in brackets at the start, no year)
        format!(r"^\[(?P<mo>\d{{2}})\.(?P<d>\d{{2}}) {HMS}(?:\.(?P<f>\d{{1,9}}))?\]"),
        // Jun 14 15:16:01 (RFC 3164 and many others, no year)
        format!(r"\b{MONTH} +(?P<d>\d{{1,2}}) {HMS}(?:\.(?P<f>\d{{1,9}}))?(?: (?P<y>\d{{4}})\b)?"),
    ];
    forms.iter().filter_map(|f| Regex::new(f).ok()).collect()
});

/// Epoch seconds (10 digits, optional fraction), millis (13), micros (16) or
/// nanos (19) near the start of a line.
static EPOCH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^\W{0,3}(?P<e>\d{19}|\d{16}|\d{13}|\d{10}(?:\.\d{1,9})?)\b").ok()
});

/// Where in a line a time was found, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundTime {
    /// Nanoseconds since the epoch, UTC.
    pub ns: i64,
    /// Byte range of the time in the line.
    pub start: usize,
    /// End of that range.
    pub end: usize,
}

/// The leftmost date-time in `head`, the first form on a tie.
fn leftmost_date_time(head: &str) -> Option<Captures<'_>> {
    let mut best: Option<(usize, Captures<'_>)> = None;
    for re in DATE_TIMES.iter() {
        if let Some(caps) = re.captures(head) {
            let start = caps.get(0).map_or(usize::MAX, |m| m.start());
            if best.as_ref().is_none_or(|(s, _)| start < *s) {
                best = Some((start, caps));
            }
        }
    }
    best.map(|(_, caps)| caps)
}

/// `line` with its header date-time rewritten to `ns` (UTC) in the layout it
/// was written in, each field as wide as before; `None` if it has none
/// (epoch numbers are not rewritten). For generating realistic lines: a
/// sample's header made to show the time it is sent at.
pub fn rewrite_header_time(line: &str, ns: i64) -> Option<String> {
    let caps = leftmost_date_time(header(line))?;
    let t = DateTime::from_timestamp_nanos(ns);
    let mut out = line.to_string();
    let mut fields: Vec<(regex::Match<'_>, String)> = Vec::new();
    let padded = |m: &regex::Match<'_>, v: u32| format!("{v:0w$}", w = m.len());
    for name in ["y", "mo", "mon", "d", "h", "mi", "s", "f", "ms"] {
        let Some(m) = caps.name(name) else {
            continue;
        };
        let text = match name {
            "y" if m.len() == 2 => padded(&m, t.year().rem_euclid(100) as u32),
            "y" => t.year().to_string(),
            "mo" => padded(&m, t.month()),
            "mon" => t.format("%b").to_string(),
            // After a month's name the day is padded with a space (syslog).
            "d" if caps.name("mon").is_some() => format!("{:>w$}", t.day(), w = m.len()),
            "d" => padded(&m, t.day()),
            "h" => padded(&m, t.hour()),
            "mi" => padded(&m, t.minute()),
            "s" => padded(&m, t.second()),
            "f" => padded(&m, t.nanosecond() / 10u32.pow(9 - m.len().min(9) as u32)),
            _ => padded(&m, t.nanosecond() / 1_000_000),
        };
        fields.push((m, text));
    }
    fields.sort_by_key(|(m, _)| std::cmp::Reverse(m.start()));
    for (m, text) in fields {
        out.replace_range(m.range(), &text);
    }
    Some(out)
}

/// The time in `line`'s header, if any; `now` fixes the year of year-less forms.
pub fn find_timestamp(line: &str, now: DateTime<Utc>) -> Option<FoundTime> {
    let head = header(line);
    if let Some(caps) = leftmost_date_time(head) {
        let whole = caps.get(0)?;
        return Some(FoundTime {
            ns: date_time_ns(&caps, now)?,
            start: whole.start(),
            end: whole.end(),
        });
    }
    let caps = EPOCH.as_ref()?.captures(head)?;
    let m = caps.name("e")?;
    Some(FoundTime {
        ns: epoch_ns(m.as_str())?,
        start: m.start(),
        end: m.end(),
    })
}

/// The first [`HEADER_BYTES`] of `line`, cut on a character boundary.
fn header(line: &str) -> &str {
    let mut end = line.len().min(HEADER_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

fn date_time_ns(caps: &Captures<'_>, now: DateTime<Utc>) -> Option<i64> {
    let num = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let month = match caps.name("mon") {
        Some(m) => month_number(m.as_str())?,
        None => num("mo")?,
    };
    let day = num("d")?;
    let (h, mi, s) = (num("h")?, num("mi")?, num("s")?);
    let nanos = match (caps.name("f"), num("ms")) {
        (Some(f), _) => fraction_ns(f.as_str())?,
        (None, Some(ms)) => ms * 1_000_000,
        (None, None) => 0,
    };
    let year = match caps.name("y") {
        Some(y) if y.as_str().len() == 2 => 2000 + y.as_str().parse::<i32>().ok()?,
        Some(y) => y.as_str().parse::<i32>().ok()?,
        None => year_before(now, month, day),
    };
    let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(h, mi, s, nanos)?;
    let offset_secs = caps
        .name("tz")
        .map_or(Some(0), |tz| zone_offset(tz.as_str()))?;
    let utc = Utc.from_utc_datetime(&naive) - chrono::Duration::seconds(i64::from(offset_secs));
    utc.timestamp_nanos_opt()
}

/// The year of a date written without one (RFC 3164, klog): the year that
/// puts month/day in the past year up to a day after `now`, so December's
/// lines read in January land in December of last year.
pub fn year_before(now: DateTime<Utc>, month: u32, day: u32) -> i32 {
    if (month, day) > (now.month(), now.day() + 1) {
        now.year() - 1
    } else {
        now.year()
    }
}

fn month_number(name: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    NAMES.iter().position(|n| *n == name).map(|i| i as u32 + 1)
}

/// `675872` → 675,872,000 ns: digits after the point, right-padded to nine.
fn fraction_ns(digits: &str) -> Option<u32> {
    let kept = &digits[..digits.len().min(9)];
    let value: u32 = kept.parse().ok()?;
    Some(value * 10u32.pow(9 - kept.len() as u32))
}

/// `Z`, `+02:00`, `-0700` → seconds east of UTC.
fn zone_offset(tz: &str) -> Option<i32> {
    let tz = tz.trim();
    if tz == "Z" {
        return Some(0);
    }
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let digits: String = tz.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

fn epoch_ns(text: &str) -> Option<i64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let n: i64 = int.parse().ok()?;
    match int.len() {
        10 => {
            let frac = if frac.is_empty() {
                0
            } else {
                fraction_ns(frac)?
            };
            n.checked_mul(1_000_000_000)?.checked_add(i64::from(frac))
        }
        13 => n.checked_mul(1_000_000),
        16 => n.checked_mul(1_000),
        _ => Some(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn ts(line: &str) -> Option<String> {
        find_timestamp(line, now()).map(|t| {
            DateTime::from_timestamp_nanos(t.ns)
                .format("%Y-%m-%dT%H:%M:%S%.fZ")
                .to_string()
        })
    }

    #[test]
    fn every_form() {
        let cases = [
            ("2024-05-01T12:00:00Z GET /", "2024-05-01T12:00:00Z"),
            ("2024-05-01T14:00:00.5+02:00 x", "2024-05-01T12:00:00.500Z"),
            (
                "2015-10-18 18:01:47,978 INFO [main] x",
                "2015-10-18T18:01:47.978Z",
            ),
            (
                "- 1117838570 2005.06.03 R02 2005-06-03-15.42.50.675872 R02 RAS KERNEL INFO x",
                "2005-06-03T15:42:50.675872Z",
            ),
            ("2024/05/01 12:00:00 [error] 7#7: x", "2024-05-01T12:00:00Z"),
            (
                "17/06/09 20:10:40 INFO executor.X: y",
                "2017-06-09T20:10:40Z",
            ),
            (
                "20171223-22:15:29:606|Step_LSC|30002312|x",
                "2017-12-23T22:15:29.606Z",
            ),
            (
                "20171223-22:15:35:11|Step_LSC|30002312|x",
                "2017-12-23T22:15:35.011Z",
            ),
            (
                "20171223-22:16:0:119|Step_LSC|30002312|x",
                "2017-12-23T22:16:00.119Z",
            ),
            (
                "081109 203615 148 INFO dfs.DataNode: x",
                "2008-11-09T20:36:15Z",
            ),
            (
                r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200"#,
                "2000-10-10T20:55:36Z",
            ),
            (
                "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
                "2005-12-04T04:47:44Z",
            ),
            (
                "04-Dec-2005 04:47:44.123 INFO [main] x",
                "2005-12-04T04:47:44.123Z",
            ),
            (
                "I1120 15:04:05.123456   1 main.go:10] x",
                "2026-11-20T15:04:05.123456Z",
            ),
            (
                "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: x",
                "2026-06-14T15:16:01Z",
            ),
            (
                "Dec 10 06:55:46 LabSZ sshd[24200]: x",
                "2025-12-10T06:55:46Z",
            ),
            (
                "[10.30 16:49:06] chrome.exe - proxy.example.org:5070 open",
                "2026-10-30T16:49:06Z",
            ),
            ("1700000000 started", "2023-11-14T22:13:20Z"),
            ("1700000000123 started", "2023-11-14T22:13:20.123Z"),
            ("1700000000123456 started", "2023-11-14T22:13:20.123456Z"),
            (
                "1700000000123456789 started",
                "2023-11-14T22:13:20.123456789Z",
            ),
            ("1700000000.25 started", "2023-11-14T22:13:20.250Z"),
        ];
        for (line, want) in cases {
            assert_eq!(ts(line).as_deref(), Some(want), "{line}");
        }
    }

    #[test]
    fn header_times_rewrite_in_their_layout() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
            + 678_901_234;
        for (line, want) in [
            (
                "2015-10-18 18:01:47,978 INFO [main] x",
                "2026-01-02 03:04:05,678 INFO [main] x",
            ),
            (
                "081109 203615 148 INFO dfs.DataNode: x",
                "260102 030405 148 INFO dfs.DataNode: x",
            ),
            (
                "Jun 14 15:16:01 combo sshd[19939]: x",
                "Jan  2 03:04:05 combo sshd[19939]: x",
            ),
            (
                "Dec 10 06:55:46 LabSZ sshd[24200]: x",
                "Jan  2 03:04:05 LabSZ sshd[24200]: x",
            ),
            (
                "20171223-22:15:29:606|Step_LSC|x",
                "20260102-03:04:05:678|Step_LSC|x",
            ),
            ("17/06/09 20:10:40 INFO x", "26/01/02 03:04:05 INFO x"),
            (
                "- 1117838570 2005.06.03 R02 2005-06-03-15.42.50.675872 R02 x",
                "- 1117838570 2005.06.03 R02 2026-01-02-03.04.05.678901 R02 x",
            ),
        ] {
            let got = rewrite_header_time(line, at).unwrap();
            assert_eq!(got, want, "{line}");
            // What is written reads back as the time (to the layout's precision).
            let back = find_timestamp(&got, now()).unwrap().ns;
            assert!((0..1_000_000_000).contains(&(at - back)), "{got}");
        }
        assert_eq!(rewrite_header_time("no time here", at), None);
    }

    #[test]
    fn no_time_and_false_friends() {
        for line in [
            "user 42 logged in",
            "took 12345 ms",
            "version 2024 released",
            "2024-13-45T99:00:00Z bad date",
        ] {
            assert_eq!(ts(line), None, "{line}");
        }
        // A time deep in the message is not the line's time.
        let late = format!("{} 2024-05-01T12:00:00Z", "x".repeat(200));
        assert_eq!(ts(&late), None);
    }
}
