//! Live updates over Server-Sent Events.

use serde_json::json;

use crate::support::{Env, Events, NS, key};

#[test]
fn changes_arrive_as_events() {
    let env = Env::new();
    env.create_app("before", "shop", json!({}));
    env.wait_listed("before", |_| true);
    let mut events = Events::open(env.port, "/api/v1/stream", &env.tokens.admin);
    assert_eq!(events.status, 200);
    events.until("the snapshot", |t| {
        t.contains("event: application")
            && t.contains("\"type\":\"ADDED\"")
            && t.contains("\"name\":\"before\"")
    });

    env.create_app("web", "shop", json!({}));
    events.until("web added", |t| t.contains("\"name\":\"web\""));
    env.set_status(
        "web",
        json!({"health": {"status": "Degraded", "message": "down"}}),
    );
    events.until("web modified", |t| {
        t.contains("\"type\":\"MODIFIED\"") && t.contains("\"status\":\"Degraded\"")
    });
    env.rt
        .block_on(env.client.delete(
            &key("trellis.dev", "Application", NS, "web"),
            trellis_kube::Propagation::Background,
        ))
        .unwrap();
    events.until("web deleted", |t| t.contains("\"type\":\"DELETED\""));
}

#[test]
fn a_filtered_stream_without_snapshot() {
    let env = Env::new();
    env.create_app("before", "shop", json!({}));
    env.wait_listed("before", |_| true);
    let mut events = Events::open(
        env.port,
        "/api/v1/stream?snapshot=false&name=web",
        &env.tokens.read,
    );
    assert_eq!(events.status, 200);
    env.create_app("noise", "shop", json!({}));
    env.create_app("web", "shop", json!({}));
    events.until("web", |t| t.contains("\"name\":\"web\""));
    assert!(!events.text.contains("before"), "{}", events.text);
    assert!(!events.text.contains("noise"), "{}", events.text);
}

#[test]
fn a_revoked_token_s_stream_ends_and_so_do_all_at_shutdown() {
    let mut env = Env::new();
    let created = env.as_admin(
        "POST",
        "/api/v1/tokens",
        &json!({"name": "watcher", "role": "read"}).to_string(),
    );
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_string();
    let id = body["id"].as_str().unwrap().to_string();
    let mut revoked = Events::open(env.port, "/api/v1/stream", &token);
    let mut kept = Events::open(env.port, "/api/v1/stream", &env.tokens.admin);
    assert_eq!(revoked.status, 200);
    env.as_admin("DELETE", &format!("/api/v1/tokens/{id}"), "");
    // The next change is not sent to it; its stream ends.
    env.create_app("web", "shop", json!({}));
    kept.until("web", |t| t.contains("\"name\":\"web\""));
    revoked.until_closed();
    assert!(
        !revoked.text.contains("\"name\":\"web\""),
        "{}",
        revoked.text
    );

    let took = env.stop_server();
    kept.until_closed();
    assert!(took.as_secs() < 10, "{took:?}");
}
