//! Basin with the real Prometheus 2.42 and Alertmanager 0.25 (Debian's,
//! installed by scripts/test.sh): Prometheus scrapes a log metric from
//! /metrics and receives recording-rule samples by remote write;
//! Alertmanager receives Basin's alert, routes it to a webhook on
//! loopback, and then its resolution.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::capture::Capture;
use crate::common::*;

/// A peer process, killed when the test ends.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_peer(binary: &str, args: &[String], log: &Path) -> Peer {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary} (scripts/test.sh installs it): {e}"));
    Peer(child)
}

fn get_json(url: &str) -> Option<serde_json::Value> {
    let mut resp = agent().get(url).call().ok()?;
    if resp.status() != 200 {
        return None;
    }
    serde_json::from_str(&resp.body_mut().read_to_string().ok()?).ok()
}

fn wait_for<T>(secs: u64, what: &str, logs: &[&Path], mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Some(v) = probe() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let logs: Vec<String> = logs
        .iter()
        .map(|p| {
            format!(
                "--- {}:\n{}",
                p.display(),
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect();
    panic!("timed out waiting for {what}\n{}", logs.join("\n"));
}

/// Prometheus' answer to an instant query: (labels, value) per series.
fn prom_query(prom: &str, query: &str) -> Vec<(serde_json::Value, f64)> {
    let url = format!("{prom}/api/v1/query?query={}", urlencode(query));
    let Some(v) = get_json(&url) else {
        return Vec::new();
    };
    v["data"]["result"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let value = r["value"][1]
                        .as_str()
                        .unwrap_or("NaN")
                        .parse()
                        .unwrap_or(f64::NAN);
                    (r["metric"].clone(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn prometheus_scrapes_log_metrics_and_gets_remote_writes_and_alertmanager_routes_alerts() {
    let work = tempfile::tempdir().unwrap();
    let hook = Capture::start(200, "");

    // Alertmanager, routing everything to the loopback webhook at once.
    let am_port = free_port();
    let am_url = format!("http://127.0.0.1:{am_port}");
    let am_config = work.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {}/am
        send_resolved: true
",
            hook.url
        ),
    )
    .unwrap();
    let am_log = work.path().join("alertmanager.log");
    let _am = start_peer(
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", am_config.display()),
            format!("--storage.path={}", work.path().join("am-data").display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".into(),
        ],
        &am_log,
    );

    // Prometheus' port first: Basin remote-writes to it.
    let prom_port = free_port();
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let server = Server::start(&format!(
        "log_metrics:
  - name: shop_error_lines_total
    match: '{{app=\"shop\"}} |= \"ERROR\"'
    labels: [app]
ruler:
  evaluation_interval: 1s
  resend_delay: 1s
  alertmanager_url: [{am_url}]
  remote_write:
    - url: {prom_url}/api/v1/write
"
    ));
    let basin_target = server.url.trim_start_matches("http://").to_string();
    let prom_config = work.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:
  scrape_interval: 1s
scrape_configs:
  - job_name: basin
    static_configs:
      - targets: ['{basin_target}']
"
        ),
    )
    .unwrap();
    let prom_log = work.path().join("prometheus.log");
    let _prom = start_peer(
        "prometheus",
        &[
            format!("--config.file={}", prom_config.display()),
            format!(
                "--storage.tsdb.path={}",
                work.path().join("prom-data").display()
            ),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
            "--web.enable-remote-write-receiver".into(),
        ],
        &prom_log,
    );
    let logs = [
        am_log.as_path(),
        prom_log.as_path(),
        server.log_path().leak() as &Path,
    ];
    wait_for(30, "Alertmanager and Prometheus to start", &logs, || {
        let am = agent()
            .get(format!("{am_url}/-/ready"))
            .call()
            .ok()?
            .status()
            == 200;
        let prom = agent()
            .get(format!("{prom_url}/-/ready"))
            .call()
            .ok()?
            .status()
            == 200;
        (am && prom).then_some(())
    });

    let (status, _, body) = server.request(
        "POST",
        "/loki/api/v1/rules/shop",
        None,
        Some(
            "name: shop
interval: 1s
rules:
  - record: shop:error_lines:count10s
    expr: sum by (app) (count_over_time({app=\"shop\"} |= \"ERROR\" [10s]))
  - alert: ShopErrors
    expr: sum by (app) (count_over_time({app=\"shop\"} |= \"ERROR\" [3s])) > 0
    for: 1s
    labels:
      severity: page
    annotations:
      summary: checkout is failing
",
        ),
    );
    assert_eq!(status, 202, "{body}");

    // 24 errors from now to 6 s ahead, among normal lines.
    let t0 = now_ns();
    let mut values = Vec::new();
    for i in 0..24i64 {
        let ts = t0 + i * 250_000_000;
        values.push(serde_json::json!([
            ts.to_string(),
            format!("ERROR payment {i} declined")
        ]));
        values.push(serde_json::json!([
            (ts + 1).to_string(),
            format!("INFO order {i} placed")
        ]));
    }
    server.push_json(None, &json_body(serde_json::json!({"app": "shop"}), values));

    // Prometheus scraped the log metric: every error line, counted at ingest.
    let scraped = wait_for(30, "Prometheus to scrape the log metric", &logs, || {
        prom_query(&prom_url, "shop_error_lines_total")
            .into_iter()
            .next()
            .filter(|(_, v)| *v == 24.0)
    });
    assert_eq!(scraped.0["app"], "shop");
    assert_eq!(scraped.0["tenant"], "default");
    assert_eq!(scraped.0["job"], "basin");

    // Prometheus received the recording rule by remote write.
    let recorded = wait_for(
        30,
        "the recording rule's samples in Prometheus",
        &logs,
        || {
            prom_query(&prom_url, "shop:error_lines:count10s")
                .into_iter()
                .find(|(_, v)| *v > 0.0)
        },
    );
    assert_eq!(recorded.0["app"], "shop");
    assert!(recorded.1 <= 24.0, "{recorded:?}");
    let alerts_series = wait_for(30, "the ALERTS series in Prometheus", &logs, || {
        prom_query(&prom_url, "ALERTS{alertname=\"ShopErrors\"}")
            .into_iter()
            .next()
    });
    assert_eq!(alerts_series.0["severity"], "page");

    // Alertmanager routed the alert to the webhook, with the lines...
    let firing = wait_for(30, "Alertmanager's firing notification", &logs, || {
        hook.json().into_iter().find(|m| m["status"] == "firing")
    });
    let alert = &firing["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "ShopErrors");
    assert_eq!(alert["labels"]["app"], "shop");
    assert_eq!(alert["annotations"]["summary"], "checkout is failing");
    let lines = alert["annotations"]["sample_lines"].as_str().unwrap();
    assert!(lines.contains("ERROR payment"), "{lines}");
    assert!(!lines.contains("INFO"), "{lines}");
    assert!(alert["generatorURL"]
        .as_str()
        .unwrap()
        .contains("/loki/api/v1/query_range?query="));

    // ...and its resolution once the errors stopped.
    let resolved = wait_for(40, "Alertmanager's resolved notification", &logs, || {
        hook.json().into_iter().find(|m| m["status"] == "resolved")
    });
    assert_eq!(resolved["alerts"][0]["labels"]["alertname"], "ShopErrors");
    assert_ne!(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    let metrics = server.metrics();
    assert!(
        metrics.contains(&format!(
            "basin_ruler_alertmanager_posts_total{{alertmanager=\"{am_url}\"}}"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "basin_ruler_alertmanager_errors_total{{alertmanager=\"{am_url}\"}} 0"
        )),
        "{metrics}"
    );
}
