//! Syslog over UDP and TCP: util-linux `logger` in RFC 3164 and RFC 5424
//! (newline and octet-counted framing), rsyslog forwarding, and bad frames
//! that are counted without closing the connection.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;

use crate::common::{free_port, free_udp_port, now_ns, Labels, Server};

struct Syslog {
    server: Server,
    udp: u16,
    tcp: u16,
}

fn start() -> Syslog {
    let (udp, tcp) = (free_udp_port(), free_port());
    let server = Server::start(&format!(
        "syslog_udp: 127.0.0.1:{udp}\nsyslog_tcp: 127.0.0.1:{tcp}\nmax_line_size_bytes: 1000\n"
    ));
    Syslog { server, udp, tcp }
}

fn logger(args: &[&str]) {
    let status = Command::new("logger")
        .args(args)
        .status()
        .expect("logger runs");
    assert!(status.success(), "logger {args:?}");
}

fn get<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels.get(name).and_then(Value::as_str).unwrap_or("")
}

#[test]
fn logger_over_udp_and_tcp_in_both_formats() {
    let s = start();
    let (udp, tcp) = (s.udp.to_string(), s.tcp.to_string());
    // RFC 3164 has whole seconds and no zone (the machine's clock is UTC).
    let before = now_ns() / 1_000_000_000 * 1_000_000_000;
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["-d", "-P", &udp, "--rfc3164", "-p", "local3.err"],
            "udp3164",
            "error",
        ),
        (
            &[
                "-d",
                "-P",
                &udp,
                "--rfc5424",
                "-p",
                "user.warning",
                "--sd-id",
                "origin@32473",
                "--sd-param",
                "ip=\"10.1.1.1\"",
            ],
            "udp5424",
            "warn",
        ),
        (
            &["-T", "-P", &tcp, "--rfc3164", "-p", "daemon.info"],
            "tcp3164",
            "info",
        ),
        (
            &[
                "-T",
                "-P",
                &tcp,
                "--rfc5424",
                "--octet-count",
                "-p",
                "user.debug",
            ],
            "tcp5424oc",
            "debug",
        ),
        (
            &["-T", "-P", &tcp, "--rfc5424", "-p", "user.crit", "-i"],
            "tcp5424nl",
            "fatal",
        ),
    ];
    for (args, tag, _) in &cases {
        let mut all = vec!["-n", "127.0.0.1", "-t", tag];
        all.extend_from_slice(args);
        let text = format!("hello from {tag}");
        all.push(&text);
        logger(&all);
    }
    let lines = s.server.wait_lines(r#"{app_name=~".+"}"#, cases.len());
    assert_eq!(lines.len(), cases.len(), "{lines:?}\n{}", s.server.log());
    let streams = s.server.streams(None, r#"{app_name=~".+"}"#);
    for (_, tag, level) in &cases {
        let (labels, values) = streams
            .iter()
            .find(|(l, _)| get(l, "app_name") == *tag)
            .unwrap_or_else(|| panic!("no stream for {tag}: {streams:?}"));
        assert!(!get(labels, "hostname").is_empty(), "{labels:?}");
        assert_eq!(get(labels, "level"), *level, "{tag}: {labels:?}");
        assert!(!get(labels, "facility").is_empty());
        assert_eq!(values.len(), 1);
        let (ts, line) = &values[0];
        assert_eq!(line, &format!("hello from {tag}"));
        assert!(*ts >= before && *ts <= now_ns(), "{tag}: time {ts}");
        if *tag == "udp5424" {
            assert_eq!(get(labels, "origin_32473_ip"), "10.1.1.1");
        }
        if *tag == "tcp5424nl" {
            assert!(get(labels, "procid").parse::<u32>().is_ok(), "{labels:?}");
        }
    }
}

struct Rsyslog(Child);

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn rsyslog_forwards_to_basin() {
    let s = start();
    let input = free_udp_port();
    let dir = s.server.dir.path().join("rsyslog");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{input}" ruleset="forward")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp"
         template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted")
  action(type="omfwd" target="127.0.0.1" port="{udp}" protocol="udp"
         template="RSYSLOG_ForwardFormat")
}}
"#,
            work = dir.display(),
            tcp = s.tcp,
            udp = s.udp,
        ),
    )
    .unwrap();
    let child = Command::new("rsyslogd")
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .spawn()
        .expect("rsyslogd runs");
    let _rsyslog = Rsyslog(child);
    // An RFC 3164 time of now (no year, no zone: both sides read it as UTC).
    let now = chrono::Utc::now();
    let want_ts = now.timestamp() * 1_000_000_000;
    let message = format!(
        "<131>{} app-7 worker[9]: job 17 failed",
        now.format("%b %e %H:%M:%S")
    );
    // rsyslog needs a moment to open its input; resend until it forwards.
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut lines = Vec::new();
    for _ in 0..80 {
        sender
            .send_to(message.as_bytes(), ("127.0.0.1", input))
            .unwrap();
        std::thread::sleep(Duration::from_millis(250));
        lines = s
            .server
            .lines(None, r#"{app_name="worker"} |= "job 17 failed""#);
        if lines.len() >= 2 {
            break;
        }
    }
    assert!(lines.len() >= 2, "{lines:?}\n{}", s.server.log());
    // Forwarded over TCP (RFC 5424) and UDP (RFC 3164), the time survives.
    // Forwarded over TCP (RFC 5424) and UDP (RFC 3164), the time survives.
    assert!(
        lines.iter().all(|(ts, _)| *ts == want_ts),
        "{lines:?} want {want_ts}"
    );
    let streams = s.server.streams(None, r#"{app_name="worker"}"#);
    for (labels, _) in &streams {
        assert_eq!(get(labels, "hostname"), "app-7");
        assert_eq!(get(labels, "level"), "error");
        assert_eq!(get(labels, "facility"), "local0");
        assert_eq!(get(labels, "procid"), "9");
    }
}

#[test]
fn bad_frames_are_counted_and_the_connection_lives() {
    let s = start();
    let mut conn = TcpStream::connect(("127.0.0.1", s.tcp)).unwrap();
    conn.write_all(b"this is not syslog\n").unwrap();
    conn.write_all(b"5000 ").unwrap();
    conn.write_all(&[b'x'; 5000]).unwrap();
    conn.write_all(b"<14>1 2024-05-01T12:00:00Z h1 ok - - - still here\n")
        .unwrap();
    conn.write_all(b"<14>1 2024-05-01T12:00:01Z h1 ok - - - ")
        .unwrap();
    conn.write_all(&[b'y'; 2000]).unwrap();
    conn.write_all(b"\n<14>1 2024-05-01T12:00:02Z h1 ok - - - and here\n")
        .unwrap();
    conn.flush().unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"\xff\xfe garbage", ("127.0.0.1", s.udp))
        .unwrap();
    udp.send_to(
        b"<14>1 2024-05-01T12:00:03Z h1 ok - - - over udp",
        ("127.0.0.1", s.udp),
    )
    .unwrap();
    let lines = s.server.wait_lines(r#"{app_name="ok"}"#, 3);
    let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(texts, ["still here", "and here", "over udp"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let want =
        r#"basin_ingest_lines_total{protocol="syslog",tenant="default",outcome="rejected"} 4"#;
    let mut metrics = s.server.metrics();
    while !metrics.contains(want) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        metrics = s.server.metrics();
    }
    assert!(metrics.contains(want), "{metrics}");
    drop(conn);
}

#[test]
fn stack_traces_over_tcp_join_their_message() {
    let s = start();
    let mut conn = TcpStream::connect(("127.0.0.1", s.tcp)).unwrap();
    conn.write_all(
        b"<11>1 2024-05-01T12:00:00Z h1 billing - - - ERROR charge failed\n\
          java.lang.IllegalStateException: card declined\n\
          \tat com.shop.Billing.charge(Billing.java:42)\n\
          <14>1 2024-05-01T12:00:01Z h1 billing - - - next message\n",
    )
    .unwrap();
    conn.flush().unwrap();
    let lines = s.server.wait_lines(r#"{app_name="billing"}"#, 2);
    let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        texts,
        [
            "ERROR charge failed\njava.lang.IllegalStateException: card declined\n\tat com.shop.Billing.charge(Billing.java:42)",
            "next message"
        ]
    );
}
