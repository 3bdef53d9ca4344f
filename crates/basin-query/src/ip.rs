//! `ip("...")` matching: a single address, a range `a-b`, or a CIDR `a/n`,
//! IPv4 or IPv6.

use std::net::IpAddr;

/// A compiled `ip(...)` pattern.
#[derive(Debug, Clone)]
pub struct IpPattern {
    low: u128,
    high: u128,
    v4: bool,
}

fn to_u128(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), true),
        IpAddr::V6(v6) => (u128::from(v6), false),
    }
}

impl IpPattern {
    /// Parses `1.2.3.4`, `1.2.3.4-1.2.3.9` or `10.0.0.0/8` (and IPv6 forms).
    pub fn new(pattern: &str) -> Result<Self, String> {
        let bad =
            || format!("invalid ip pattern {pattern:?}: use an address, a range a-b or a CIDR a/n");
        let p = pattern.trim();
        if let Some((addr, bits)) = p.split_once('/') {
            let ip: IpAddr = addr.trim().parse().map_err(|_| bad())?;
            let bits: u32 = bits.trim().parse().map_err(|_| bad())?;
            let (value, v4) = to_u128(ip);
            let width = if v4 { 32 } else { 128 };
            if bits > width {
                return Err(bad());
            }
            let host_bits = width - bits;
            let mask = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            return Ok(Self {
                low: value & !mask,
                high: value | mask,
                v4,
            });
        }
        if let Some((a, b)) = p.split_once('-') {
            let (low, v4a) = to_u128(a.trim().parse().map_err(|_| bad())?);
            let (high, v4b) = to_u128(b.trim().parse().map_err(|_| bad())?);
            if v4a != v4b || low > high {
                return Err(bad());
            }
            return Ok(Self { low, high, v4: v4a });
        }
        let (value, v4) = to_u128(p.parse().map_err(|_| bad())?);
        Ok(Self {
            low: value,
            high: value,
            v4,
        })
    }

    /// Whether `text` is an address in the pattern.
    pub fn matches_addr(&self, text: &str) -> bool {
        match text.parse::<IpAddr>() {
            Ok(ip) => {
                let (value, v4) = to_u128(ip);
                v4 == self.v4 && value >= self.low && value <= self.high
            }
            Err(_) => false,
        }
    }

    /// Whether any address in `line` is in the pattern.
    pub fn matches_in(&self, line: &str) -> bool {
        let is_ip_char = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
        line.split(|c: char| !is_ip_char(c))
            .filter(|t| t.len() >= 2 && (t.contains('.') || t.contains(':')))
            .any(|t| {
                let trimmed = t.trim_matches(|c| c == '.' || c == ':');
                // An IPv4 address with a port: 10.0.0.1:8080.
                let no_port = trimmed.split(':').next().filter(|h| h.contains('.'));
                self.matches_addr(t)
                    || self.matches_addr(trimmed)
                    || no_port.is_some_and(|h| self.matches_addr(h))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let check = |pattern: &str, line: &str, want: bool| {
            assert_eq!(
                IpPattern::new(pattern).unwrap().matches_in(line),
                want,
                "{pattern} in {line}"
            );
        };
        check("192.168.0.1", "from 192.168.0.1 ok", true);
        check("192.168.0.1", "from 192.168.0.10 ok", false);
        check("192.168.0.0/16", "client=192.168.4.2:8080", true);
        check("10.0.0.0/8", "client=192.168.4.2", false);
        check("10.0.0.1-10.0.0.5", "a 10.0.0.3.", true);
        check("10.0.0.1-10.0.0.5", "a 10.0.0.6", false);
        check("::1", "addr [::1] up", true);
        check("2001:db8::/32", "peer 2001:db8::42 down", true);
        check("192.168.0.0/16", "version 1.2.3", false);
        assert!(IpPattern::new("nonsense").is_err());
        assert!(IpPattern::new("10.0.0.0/33").is_err());
    }
}
