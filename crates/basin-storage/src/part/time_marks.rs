//! In-line times that repeat the entry's time (part format 7).
//!
//! Most lines carry their own timestamp, and the entry's time is usually
//! that timestamp (parsed by the shipper or the pipeline), so its variables
//! (`2026`, `01`, `01T00`, `00`, `00`, `086Z`) repeat what `_time` holds.
//! Where a skeleton holds the shape of a known layout and a row's text there
//! is exactly the row's time rendered in that layout (truncated to the
//! layout's precision), the row uses a second skeleton in which that text is
//! [`TIME_MARK`] and the layout's code byte, and the variables are left out.
//! Rows whose text differs keep the first skeleton: the choice is made and
//! checked row by row, so it is lossless whatever the times.
//!
//! A skeleton's time spans whole tokens and the separators between them,
//! bounded by non-token bytes, so a needle made of token bytes still lies in
//! the constant text, in one variable, or inside one token of the time.

use crate::time::civil_from_days;

/// Stands for a rendered time in a skeleton, followed by the layout's code.
pub const TIME_MARK: u8 = 0x12;

/// First and last byte reserved by the codec (placeholder, time mark and
/// layout codes): lines holding any of them are stored whole.
pub const RESERVED: std::ops::RangeInclusive<u8> = 0x11..=0x1a;

/// Whether `line` holds a byte the codec reserves (see [`RESERVED`]).
pub fn holds_reserved(line: &[u8]) -> bool {
    // Folded without an early exit, so it vectorises.
    line.iter().fold(false, |acc, &b| {
        acc | (b.wrapping_sub(*RESERVED.start()) <= RESERVED.end() - RESERVED.start())
    })
}

/// How a time is written in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `2026-01-01T00:00:00.086Z`
    IsoMillisZ,
    /// `2026-01-01T00:00:00.086123Z`
    IsoMicrosZ,
    /// `2026-01-01T00:00:00.086123456Z`
    IsoNanosZ,
    /// `2026-01-01T00:00:00Z`
    IsoSecondsZ,
    /// `2026-01-01 00:00:00,086` (log4j, logback, Python logging)
    SpaceMillisComma,
    /// `2026-01-01 00:00:00.086`
    SpaceMillisDot,
    /// `01/Jan/2026:00:00:00 +0000` (nginx and Apache access logs)
    Common,
    /// `Jan  1 00:00:00` (BSD syslog; the year is the time's own)
    Syslog,
}

const LAYOUTS: [Layout; 8] = [
    Layout::IsoMillisZ,
    Layout::IsoMicrosZ,
    Layout::IsoNanosZ,
    Layout::IsoSecondsZ,
    Layout::SpaceMillisComma,
    Layout::SpaceMillisDot,
    Layout::Common,
    Layout::Syslog,
];

impl Layout {
    /// The code byte following [`TIME_MARK`].
    pub fn code(self) -> u8 {
        0x13 + self as u8
    }

    /// The layout of a code byte.
    pub fn of_code(code: u8) -> Option<Self> {
        LAYOUTS.get(usize::from(code.wrapping_sub(0x13))).copied()
    }

    /// Appends time `ts` (ns since the epoch, UTC) to `out` as the layout
    /// writes it, truncated to its precision. Nanoseconds in an i64 span
    /// the years 1677 to 2262: four digits always.
    pub fn render(self, ts: i64, out: &mut String) {
        let secs = ts.div_euclid(1_000_000_000);
        let nanos = ts.rem_euclid(1_000_000_000) as u32;
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let of_day = secs.rem_euclid(86_400) as u32;
        let (h, m, s) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
        let date = |out: &mut String, sep: char| {
            digits(out, year as u32, 4);
            out.push('-');
            digits(out, month, 2);
            out.push('-');
            digits(out, day, 2);
            out.push(sep);
        };
        let clock = |out: &mut String| {
            digits(out, h, 2);
            out.push(':');
            digits(out, m, 2);
            out.push(':');
            digits(out, s, 2);
        };
        match self {
            Self::IsoMillisZ | Self::IsoMicrosZ | Self::IsoNanosZ | Self::IsoSecondsZ => {
                date(out, 'T');
                clock(out);
                let (width, unit) = match self {
                    Self::IsoMillisZ => (3, 1_000_000),
                    Self::IsoMicrosZ => (6, 1_000),
                    Self::IsoNanosZ => (9, 1),
                    _ => (0, 1),
                };
                if width > 0 {
                    out.push('.');
                    digits(out, nanos / unit, width);
                }
                out.push('Z');
            }
            Self::SpaceMillisComma | Self::SpaceMillisDot => {
                date(out, ' ');
                clock(out);
                out.push(if self == Self::SpaceMillisComma {
                    ','
                } else {
                    '.'
                });
                digits(out, nanos / 1_000_000, 3);
            }
            Self::Common => {
                digits(out, day, 2);
                out.push('/');
                out.push_str(MONTHS[month as usize - 1]);
                out.push('/');
                digits(out, year as u32, 4);
                out.push(':');
                clock(out);
                out.push_str(" +0000");
            }
            Self::Syslog => {
                out.push_str(MONTHS[month as usize - 1]);
                out.push(' ');
                if day < 10 {
                    out.push(' ');
                }
                digits(out, day, if day < 10 { 1 } else { 2 });
                out.push(' ');
                clock(out);
            }
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Writes `n` in `width` decimal digits, zero-padded (higher digits cut).
fn digits(out: &mut String, mut n: u32, width: u32) {
    // Lowest digit first, by constant divisions (multiplications once
    // compiled): a division by a power of ten a digit was most of a render.
    let mut text = [b'0'; 10];
    let width = (width as usize).min(text.len());
    for slot in text[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(text[..width].iter().map(|&b| char::from(b)));
}

/// What a layout's text looks like in a skeleton: `V` a variable, `L` any
/// ASCII letter, other bytes themselves.
struct Shape {
    pattern: &'static [u8],
    /// The layouts with this shape, most common first.
    layouts: &'static [Layout],
}

const V: u8 = super::line_codec::PLACEHOLDER;

/// Tried in order at each place of a skeleton: a shape that begins another
/// (seconds-precision ISO times, the fractional ones) comes after it, so the
/// longer one wins.
static SHAPES: [Shape; 7] = [
    Shape {
        pattern: b"\x11/LLL/\x11:\x11:\x11:\x11 +\x11",
        layouts: &[Layout::Common],
    },
    Shape {
        pattern: b"\x11-\x11-\x11 \x11:\x11:\x11,\x11",
        layouts: &[Layout::SpaceMillisComma],
    },
    Shape {
        pattern: b"\x11-\x11-\x11 \x11:\x11:\x11.\x11",
        layouts: &[Layout::SpaceMillisDot],
    },
    Shape {
        pattern: b"\x11-\x11-\x11:\x11:\x11.\x11",
        layouts: &[Layout::IsoMillisZ, Layout::IsoMicrosZ, Layout::IsoNanosZ],
    },
    Shape {
        pattern: b"LLL  \x11 \x11:\x11:\x11",
        layouts: &[Layout::Syslog],
    },
    Shape {
        pattern: b"LLL \x11 \x11:\x11:\x11",
        layouts: &[Layout::Syslog],
    },
    Shape {
        pattern: b"\x11-\x11-\x11:\x11:\x11",
        layouts: &[Layout::IsoSecondsZ],
    },
];

/// Where a skeleton may hold a time: the span's bytes in the skeleton, how
/// many variables precede it and how many it holds, and the layouts to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSpot {
    /// Byte range of the time's shape in the skeleton.
    pub start: usize,
    /// End of that range.
    pub end: usize,
    /// Variables of the skeleton before the time.
    pub first_var: usize,
    /// Variables inside the time.
    pub vars: usize,
    /// Literal bytes of the shape before its first variable.
    pub lead: usize,
    /// Literal bytes of the shape after its last variable.
    pub trail: usize,
    /// Layouts to try, most common first.
    pub layouts: &'static [Layout],
}

/// The first place `skeleton` holds the shape of a layout, bounded by
/// non-token bytes; `None` if it holds none.
pub fn find_spot(skeleton: &[u8]) -> Option<TimeSpot> {
    // Every shape holds "V:V"; most skeletons hold no time and stop here.
    memchr::memmem::find(skeleton, b"\x11:\x11")?;
    let is_token = crate::tokens::is_token_byte;
    for start in 0..skeleton.len() {
        for shape in &SHAPES {
            let p = shape.pattern;
            let Some(text) = skeleton.get(start..start + p.len()) else {
                continue;
            };
            let fits = p.iter().zip(text).all(|(&want, &got)| match want {
                b'L' => got.is_ascii_alphabetic(),
                _ => want == got,
            });
            let before_ok = start == 0 || !is_token(skeleton[start - 1]);
            let after_ok = skeleton.get(start + p.len()).is_none_or(|&b| !is_token(b));
            if fits && before_ok && after_ok {
                let vars_in = |bytes: &[u8]| bytes.iter().filter(|&&b| b == V).count();
                let first = p.iter().position(|&b| b == V).unwrap_or(0);
                let last = p.iter().rposition(|&b| b == V).unwrap_or(0);
                return Some(TimeSpot {
                    start,
                    end: start + p.len(),
                    first_var: vars_in(&skeleton[..start]),
                    vars: vars_in(p),
                    lead: first,
                    trail: p.len() - last - 1,
                    layouts: shape.layouts,
                });
            }
        }
    }
    None
}

/// Whether a needle of token bytes may lie inside one token of a rendered
/// time: digits with `T` or `Z`, or part of a month's name.
pub fn may_be_in_time(needle: &[u8]) -> bool {
    needle
        .iter()
        .all(|&b| b.is_ascii_digit() || b == b'T' || b == b'Z')
        || MONTHS
            .iter()
            .any(|m| memchr::memmem::find(m.as_bytes(), needle).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_767_225_600_086_400_000; // 2026-01-01T00:00:00.0864Z

    fn render(layout: Layout, ts: i64) -> String {
        let mut out = String::new();
        layout.render(ts, &mut out);
        out
    }

    #[test]
    fn renders_every_layout_truncated() {
        assert_eq!(render(Layout::IsoMillisZ, T), "2026-01-01T00:00:00.086Z");
        assert_eq!(
            render(Layout::IsoMicrosZ, T + 5),
            "2026-01-01T00:00:00.086400Z"
        );
        assert_eq!(
            render(Layout::IsoNanosZ, T + 5),
            "2026-01-01T00:00:00.086400005Z"
        );
        assert_eq!(render(Layout::IsoSecondsZ, T), "2026-01-01T00:00:00Z");
        assert_eq!(
            render(Layout::SpaceMillisComma, T),
            "2026-01-01 00:00:00,086"
        );
        assert_eq!(render(Layout::SpaceMillisDot, T), "2026-01-01 00:00:00.086");
        assert_eq!(render(Layout::Common, T), "01/Jan/2026:00:00:00 +0000");
        assert_eq!(render(Layout::Syslog, T), "Jan  1 00:00:00");
        let later = 1_791_980_093_000_000_000; // 2026-10-14T12:14:53Z
        assert_eq!(render(Layout::Syslog, later), "Oct 14 12:14:53");
        assert_eq!(render(Layout::IsoSecondsZ, later), "2026-10-14T12:14:53Z");
        assert_eq!(
            render(Layout::IsoSecondsZ, 951_782_400_000_000_000),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(render(Layout::IsoMillisZ, -1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            render(Layout::IsoNanosZ, i64::MAX),
            "2262-04-11T23:47:16.854775807Z"
        );
        assert_eq!(
            render(Layout::IsoNanosZ, i64::MIN),
            "1677-09-21T00:12:43.145224192Z"
        );
        for layout in LAYOUTS {
            assert_eq!(Layout::of_code(layout.code()), Some(layout));
            assert!(RESERVED.contains(&layout.code()));
        }
        assert_eq!(Layout::of_code(0x1b), None);
    }

    #[test]
    fn renders_as_chrono_formats() {
        let formats = [
            (Layout::IsoMillisZ, "%Y-%m-%dT%H:%M:%S%.3fZ"),
            (Layout::IsoMicrosZ, "%Y-%m-%dT%H:%M:%S%.6fZ"),
            (Layout::IsoNanosZ, "%Y-%m-%dT%H:%M:%S%.9fZ"),
            (Layout::IsoSecondsZ, "%Y-%m-%dT%H:%M:%SZ"),
            (Layout::SpaceMillisComma, "%Y-%m-%d %H:%M:%S,%3f"),
            (Layout::SpaceMillisDot, "%Y-%m-%d %H:%M:%S%.3f"),
            (Layout::Common, "%d/%b/%Y:%H:%M:%S +0000"),
            (Layout::Syslog, "%b %e %H:%M:%S"),
        ];
        // Times spread over 1677..2262, leap days and the epoch's edges.
        let mut ts: i64 = i64::MIN + 7;
        let mut times = vec![-1, 0, 1, 951_782_400_000_000_000, 4_107_542_399_999_999_999];
        for _ in 0..2_000 {
            ts = ts.wrapping_add(9_223_372_036_854_775 + 1_234_567_891);
            times.push(ts);
        }
        for &t in &times {
            let at = chrono::DateTime::from_timestamp_nanos(t);
            for (layout, format) in formats {
                assert_eq!(
                    render(layout, t),
                    at.format(format).to_string(),
                    "{t} {layout:?}"
                );
            }
        }
    }

    #[test]
    fn finds_shapes_between_token_edges() {
        let spot = find_spot(b"{\"ts\":\"\x11-\x11-\x11:\x11:\x11.\x11\",\"n\":\x11}").unwrap();
        assert_eq!(
            (spot.first_var, spot.vars, spot.lead, spot.trail),
            (0, 6, 0, 0)
        );
        assert_eq!(spot.layouts[0], Layout::IsoMillisZ);
        let spot = find_spot(b"<\x11>Jan  \x11 \x11:\x11:\x11 host").unwrap();
        assert_eq!(
            (spot.start, spot.first_var, spot.vars, spot.lead),
            (3, 1, 4, 5)
        );
        let spot = find_spot(b"\x11.\x11 - - [\x11/Jan/\x11:\x11:\x11:\x11 +\x11] x").unwrap();
        assert_eq!((spot.first_var, spot.vars), (2, 6));
        let spot = find_spot(b"at \x11-\x11-\x11:\x11:\x11 done").unwrap();
        assert_eq!(spot.layouts, &[Layout::IsoSecondsZ]);
        // A letter run longer than a month's name is not a month.
        assert_eq!(find_spot(b"XJan  \x11 \x11:\x11:\x11"), None);
        assert_eq!(find_spot(b"no time \x11 here"), None);
    }

    #[test]
    fn needles_in_times() {
        assert!(may_be_in_time(b"2026"));
        assert!(may_be_in_time(b"01T00"));
        assert!(may_be_in_time(b"ec"));
        assert!(!may_be_in_time(b"error"));
        assert!(!may_be_in_time(b"jan"));
    }

    #[test]
    fn reserved_bytes() {
        assert!(!holds_reserved(b"plain\tline\n"));
        assert!(holds_reserved(b"a\x11b"));
        assert!(holds_reserved(b"a\x1ab"));
        assert!(!holds_reserved(b"a\x1bb\x10"));
    }
}
