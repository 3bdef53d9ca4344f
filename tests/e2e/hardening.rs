//! What a hostile web page or a slow client can do: pages of other origins
//! cannot push (even with "simple" bodies that skip CORS preflight) or open
//! a tail; query form bodies are bounded; a body trickled slower than
//! `http_server_read_timeout` is cut off with 408.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;

use crate::common::{now_ns, Server};

/// POSTs `body` to `path` with the given headers; returns status and body.
fn post(server: &Server, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut req = crate::common::agent().post(format!("{}{path}", server.url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.send(body).unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn pages_of_other_origins_cannot_push_or_tail() {
    let server = Server::start("");
    let host = server.url.trim_start_matches("http://").to_string();
    let line = format!("{} from a page", now_ns());
    // A form-like text/plain POST: browsers send it without a preflight.
    let (status, body) = post(
        &server,
        "/api/v1/logs?labels=%7Bjob%3D%22csrf%22%7D",
        &[
            ("Content-Type", "text/plain"),
            ("Origin", "https://evil.example"),
        ],
        line.as_bytes(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("cors_allowed_origins"), "{body}");
    // The rules API changes state too.
    let (status, _) = post(
        &server,
        "/loki/api/v1/rules/ns",
        &[
            ("Content-Type", "text/plain"),
            ("Origin", "https://evil.example"),
        ],
        b"name: g\nrules: []\n",
    );
    assert_eq!(status, 403);
    assert!(server.lines(None, r#"{job="csrf"}"#).is_empty());

    // Basin's own origin, and clients that send no Origin, push as before.
    let own = format!("http://{host}");
    let (status, body) = post(
        &server,
        "/api/v1/logs?labels=%7Bjob%3D%22csrf%22%7D",
        &[("Content-Type", "text/plain"), ("Origin", &own)],
        line.as_bytes(),
    );
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.wait_lines(r#"{job="csrf"}"#, 1).len(), 1);

    // A tail WebSocket from another origin is refused before the upgrade.
    let url = format!("ws://{host}/loki/api/v1/tail?query=%7Bjob%3D%22csrf%22%7D");
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", "https://evil.example".parse().unwrap());
    match tungstenite::connect(request) {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 403),
        other => panic!(
            "foreign tail not refused: {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
    let mut request = url.as_str().into_client_request().unwrap();
    request.headers_mut().insert("Origin", own.parse().unwrap());
    let (mut socket, _) = tungstenite::connect(request).expect("same-origin tail");
    socket.close(None).ok();
}

#[test]
fn listed_origins_may_push_from_pages() {
    let server = Server::start("cors_allowed_origins: [\"https://app.example\"]\n");
    let (status, body) = post(
        &server,
        "/api/v1/logs?labels=%7Bjob%3D%22web%22%7D",
        &[
            ("Content-Type", "text/plain"),
            ("Origin", "https://app.example"),
        ],
        b"hello from the app",
    );
    assert_eq!(status, 204, "{body}");
    let (status, _) = post(
        &server,
        "/api/v1/logs?labels=%7Bjob%3D%22web%22%7D",
        &[
            ("Content-Type", "text/plain"),
            ("Origin", "https://other.example"),
        ],
        b"hello from elsewhere",
    );
    assert_eq!(status, 403);
}

#[test]
fn query_form_bodies_are_bounded() {
    let server = Server::start("max_request_size_bytes: 1048576\n");
    let mut body = b"query=%7Bjob%3D%22x%22%7D&pad=".to_vec();
    body.resize(2 * 1024 * 1024, b'a');
    let sent = crate::common::agent()
        .post(format!("{}/loki/api/v1/query_range", server.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(&body[..]);
    match sent {
        Ok(resp) => assert_eq!(resp.status().as_u16(), 413),
        // The server may answer 413 and close before the whole body is
        // sent: the client then sees its write fail, which is a refusal too.
        Err(ureq::Error::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
        Err(e) => panic!("{e}"),
    }
    let (status, text) = post(
        &server,
        "/loki/api/v1/query_range",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"query=%7Bjob%3D%22x%22%7D",
    );
    assert_eq!(status, 200, "{text}");
}

/// Sends the start of a request to a server whose read timeout is 1 s and
/// never the rest; returns what the server sent before closing (or the
/// first read) and how long it held the connection.
fn send_part_of_a_request(first_bytes: impl Fn(&str) -> String, whole: bool) -> (String, Duration) {
    let server = Server::start("http_server_read_timeout: 1s\n");
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(first_bytes(&addr).as_bytes()).unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    if whole {
        let _ = stream.read_to_end(&mut buf);
    } else {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).unwrap();
        buf.extend_from_slice(&chunk[..n]);
    }
    (
        String::from_utf8_lossy(&buf).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn trickled_bodies_are_cut_off() {
    let (answer, held) = send_part_of_a_request(
        |addr| {
            format!(
                "POST /loki/api/v1/push HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"streams\": ["
            )
        },
        false,
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("http_server_read_timeout"), "{answer}");
    assert!(held < Duration::from_secs(10), "connection held {held:?}");
}

#[test]
fn trickled_headers_are_cut_off() {
    // Half a request's headers: the server closes (perhaps after a 408).
    let (answer, held) = send_part_of_a_request(
        |addr| format!("GET /loki/api/v1/labels HTTP/1.1\r\nHost: {addr}\r\nX-Slow: "),
        true,
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    assert!(held < Duration::from_secs(10), "connection held {held:?}");
}
