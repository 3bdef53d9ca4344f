//! HTTPS and syslog over TLS with a certificate made by the test: curl and
//! the Python clients push and query; replacing the certificate files takes
//! effect without a restart, and a connection opened before keeps working.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{free_port, now_ns, run_client_with_env, Server};

/// A self-signed certificate for localhost and 127.0.0.1: (cert PEM, key PEM).
fn certificate() -> (String, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    (made.cert.pem(), made.signing_key.serialize_pem())
}

/// curl over HTTPS trusting only `ca`; returns (exit ok, HTTP status, body).
fn curl(ca: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(ca)
        .args(args)
        .output()
        .expect("curl runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn clients_push_and_query_over_https_and_certificates_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = certificate();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let ca1 = dir.path().join("ca1.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, &key_pem).unwrap();
    std::fs::write(&ca1, &cert_pem).unwrap();
    let syslog_port = free_port();
    let server = Server::start(&format!(
        "tls_cert_file: {}\ntls_key_file: {}\nsyslog_tcp: 127.0.0.1:{syslog_port}\n",
        cert.display(),
        key.display()
    ));
    assert!(server.url.starts_with("https://"));

    // curl pushes and queries, verifying the certificate.
    let push = format!(
        r#"{{"streams":[{{"stream":{{"job":"tls"}},"values":[["{}","over https"]]}}]}}"#,
        now_ns()
    );
    let (ok, out) = curl(
        &ca1,
        &[
            "-w",
            "%{http_code}",
            "-H",
            "Content-Type: application/json",
            "--data",
            &push,
            &format!("{}/loki/api/v1/push", server.url),
        ],
    );
    assert!(ok && out.ends_with("204"), "{out}");
    assert_eq!(server.wait_lines(r#"{job="tls"}"#, 1).len(), 1);
    let (ok, out) = curl(
        &ca1,
        &[
            "-G",
            "--data-urlencode",
            r#"query={job="tls"}"#,
            "--data-urlencode",
            "start=0",
            &format!("{}/loki/api/v1/query_range", server.url),
        ],
    );
    assert!(ok && out.contains("over https"), "{out}");
    // Plain HTTP on the TLS port is not answered as HTTP.
    let plain = server.url.replace("https://", "http://");
    let (ok, _) = curl(&ca1, &[&format!("{plain}/ready")]);
    assert!(!ok);

    // The Python clients (python-logging-loki, the OTel SDK), trusting the
    // certificate through REQUESTS_CA_BUNDLE.
    let ca = ca1.to_str().unwrap();
    let env = [
        ("REQUESTS_CA_BUNDLE", ca),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca),
    ];
    run_client_with_env("loki_handler.py", &[&server.url, "tls1"], &env);
    let lines = server.wait_lines(r#"{application="billing"} |= "run=tls1""#, 2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    run_client_with_env("otlp_sdk.py", &[&server.url, "json", "tls2"], &env);
    assert!(!server
        .wait_lines(r#"{service_name="checkout-json"} |= "tls2""#, 1)
        .is_empty());

    // Syslog over TLS.
    let mut syslog = Command::new("openssl")
        .args(["s_client", "-quiet", "-verify_return_error", "-CAfile"])
        .arg(&ca1)
        .args(["-connect", &format!("127.0.0.1:{syslog_port}")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl runs");
    {
        use std::io::Write;
        let stdin = syslog.stdin.as_mut().unwrap();
        writeln!(
            stdin,
            "<13>1 2026-12-05T10:00:00Z web01 shop - - - checkout over tls"
        )
        .unwrap();
    }
    let found = server.wait_lines(r#"{app_name="shop"} |= "checkout over tls""#, 1);
    let _ = syslog.kill();
    let _ = syslog.wait();
    assert_eq!(found.len(), 1, "syslog over TLS not stored");

    // A connection opened before the rotation, kept open across it.
    let port = server.url.rsplit(':').next().unwrap().to_string();
    let mut keeper = Command::new("python3")
        .arg("-c")
        .arg(KEEP_OPEN)
        .args([ca1.to_str().unwrap(), &port])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut keeper_out = std::io::BufReader::new(keeper.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut keeper_out, &mut first).unwrap();
    assert_eq!(first.trim(), "200", "first request on the kept connection");

    // Rotate: a new key and certificate in the same files.
    let (cert2_pem, key2_pem) = certificate();
    let ca2 = dir.path().join("ca2.pem");
    std::fs::write(&ca2, &cert2_pem).unwrap();
    let (ok, _) = curl(&ca2, &[&format!("{}/ready", server.url)]);
    assert!(
        !ok,
        "the new certificate is not served before the files change"
    );
    std::fs::write(&key, &key2_pem).unwrap();
    std::fs::write(&cert, &cert2_pem).unwrap();
    let rotated = Instant::now();
    loop {
        let (ok, out) = curl(&ca2, &[&format!("{}/ready", server.url)]);
        if ok {
            break;
        }
        assert!(
            rotated.elapsed() < Duration::from_secs(5),
            "not reloaded: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, _) = curl(&ca1, &[&format!("{}/ready", server.url)]);
    assert!(!ok, "new connections get the new certificate");
    // The connection opened before still answers.
    {
        use std::io::Write;
        writeln!(keeper.stdin.as_mut().unwrap(), "again").unwrap();
    }
    let mut second = String::new();
    std::io::BufRead::read_line(&mut keeper_out, &mut second).unwrap();
    assert_eq!(
        second.trim(),
        "200",
        "request on the connection kept across the rotation"
    );
    let _ = keeper.kill();
    let _ = keeper.wait();
}

/// Opens one TLS connection, sends GET /ready on it, prints the status;
/// waits for a line on stdin and does it again on the same connection.
const KEEP_OPEN: &str = r#"
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[2]), context=ctx)
for _ in range(2):
    conn.request("GET", "/ready")
    r = conn.getresponse()
    r.read()
    print(r.status, flush=True)
    sys.stdin.readline()
"#;
