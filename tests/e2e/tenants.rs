//! A tenant never sees another tenant's lines.

use serde_json::json;

use crate::common::{json_body, now_ns, Server};

#[test]
fn tenants_are_isolated() {
    let server = Server::start("flush_interval: 1s\n");
    let ts = now_ns();
    for tenant in ["team-a", "team-b"] {
        server.push_json(
            Some(tenant),
            &json_body(
                json!({"job": "shared"}),
                vec![json!([ts.to_string(), format!("secret of {tenant}")])],
            ),
        );
    }
    let check = |server: &Server| {
        assert_eq!(
            server.lines(Some("team-a"), r#"{job="shared"}"#),
            [(ts, "secret of team-a".to_string())]
        );
        assert_eq!(
            server.lines(Some("team-b"), r#"{job="shared"}"#),
            [(ts, "secret of team-b".to_string())]
        );
        assert!(server.lines(None, r#"{job="shared"}"#).is_empty());
        assert!(server.lines(Some("team-c"), r#"{job="shared"}"#).is_empty());
    };
    check(&server);
    // And once the head is in parts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while crate::common::part_files(&server.data_dir()).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no parts written");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check(&server);
    // An invalid tenant id is refused.
    let (status, text) = server.push_raw(
        Some("../etc"),
        b"{}",
        &[("Content-Type", "application/json")],
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid tenant id"), "{text}");
}
