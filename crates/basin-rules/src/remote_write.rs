//! Prometheus remote write 1.0: recording rules' samples and the ALERTS
//! series, as a snappy-compressed protobuf `WriteRequest`, with the
//! tenant in `X-Scope-OrgID` as Loki's ruler sends it. 5xx, 429 and
//! unreachable endpoints are retried with backoff; other refusals drop the
//! batch. Both are logged and counted on `/metrics`.

use std::time::Duration;

use prost::Message;
use tracing::warn;

use crate::config::RemoteWriteConfig;
use crate::notify::http::Transport;
use crate::querier::Sample;
use crate::stats::RulerStats;

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Labels sorted by name, `__name__` included.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<WriteSample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, Message)]
pub struct WriteSample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The request body for samples taken at `ts` (ns): protobuf, then snappy's
/// block format.
pub fn encode(samples: &[(i64, Sample)]) -> Vec<u8> {
    let request = WriteRequest {
        timeseries: samples
            .iter()
            .map(|(ts, s)| TimeSeries {
                // BTreeMap order is name order, as the protocol wants.
                labels: s
                    .labels
                    .iter()
                    .map(|(k, v)| Label {
                        name: k.clone(),
                        value: v.clone(),
                    })
                    .collect(),
                samples: vec![WriteSample {
                    value: s.value,
                    timestamp: ts / 1_000_000,
                }],
            })
            .collect(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap_or_default()
}

/// Attempts per batch before it is dropped.
const ATTEMPTS: u32 = 5;

/// Sends one tenant's samples to one endpoint, retrying what may succeed
/// later; `sleep` waits between attempts (tests pass a no-op).
pub fn send(
    transport: &dyn Transport,
    target: &RemoteWriteConfig,
    tenant: &str,
    samples: &[(i64, Sample)],
    stats: &RulerStats,
    sleep: &dyn Fn(Duration),
) -> bool {
    let body = encode(samples);
    let mut headers = vec![
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    if target.add_org_id_header {
        headers.push(("X-Scope-OrgID", tenant));
    }
    for attempt in 1..=ATTEMPTS {
        let outcome = transport.post(&target.url, &headers, &body);
        let retry = match &outcome {
            Ok(status) if (200..300).contains(status) => {
                stats.remote_write(&target.url, samples.len() as u64, true);
                return true;
            }
            Ok(status) => *status >= 500 || *status == 429,
            Err(_) => true,
        };
        let why = match outcome {
            Ok(status) => format!("HTTP {status}"),
            Err(e) => e,
        };
        if !retry || attempt == ATTEMPTS {
            warn!(
                "remote write to {} dropped {} samples of tenant {tenant} ({why})",
                target.url,
                samples.len()
            );
            break;
        }
        sleep(Duration::from_millis(500 << attempt));
    }
    stats.remote_write(&target.url, samples.len() as u64, false);
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    struct Flaky(Mutex<Vec<u16>>, Mutex<Vec<Vec<u8>>>);

    impl Transport for Flaky {
        fn post(&self, _url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<u16, String> {
            assert!(headers.contains(&("X-Scope-OrgID", "t1")));
            self.1.lock().expect("lock").push(body.to_vec());
            Ok(self.0.lock().expect("lock").remove(0))
        }
    }

    fn sample() -> (i64, Sample) {
        (
            1_700_000_000_123_000_000,
            Sample {
                labels: BTreeMap::from([
                    ("__name__".to_string(), "errors:rate1m".to_string()),
                    ("app".to_string(), "api".to_string()),
                ]),
                value: 0.5,
            },
        )
    }

    #[test]
    fn body_decodes_as_a_write_request() {
        let body = encode(&[sample()]);
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&body)
            .expect("snappy");
        let req = WriteRequest::decode(raw.as_slice()).expect("protobuf");
        assert_eq!(req.timeseries[0].labels[0].name, "__name__");
        assert_eq!(req.timeseries[0].samples[0].timestamp, 1_700_000_000_123);
        assert_eq!(req.timeseries[0].samples[0].value, 0.5);
    }

    #[test]
    fn retries_5xx_drops_4xx() {
        let target = RemoteWriteConfig {
            url: "http://x/api/v1/write".into(),
            add_org_id_header: true,
        };
        let stats = RulerStats::default();
        let t = Flaky(Mutex::new(vec![503, 500, 204]), Mutex::default());
        assert!(send(&t, &target, "t1", &[sample()], &stats, &|_| {}));
        assert_eq!(t.1.lock().expect("lock").len(), 3);
        let t = Flaky(Mutex::new(vec![400]), Mutex::default());
        assert!(!send(&t, &target, "t1", &[sample()], &stats, &|_| {}));
        assert_eq!(t.1.lock().expect("lock").len(), 1);
    }
}
