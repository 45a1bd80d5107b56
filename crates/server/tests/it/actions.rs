//! Refresh, sync and rollback requests, as the controller reads them.

use serde_json::json;

use crate::support::{Env, NS, key};

#[test]
fn refresh_sets_the_annotation() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.wait_listed("web", |_| true);
    let path = "/api/v1/applications/trellis/web/refresh";
    let resp = env.as_admin("POST", path, "");
    assert_eq!(resp.status, 202, "{}", resp.body);
    assert_eq!(
        env.app("web").unwrap()["metadata"]["annotations"]["argocd.argoproj.io/refresh"],
        "normal"
    );
    let resp = env.as_admin("POST", path, &json!({"type": "hard"}).to_string());
    assert_eq!(resp.status, 202, "{}", resp.body);
    assert_eq!(
        env.app("web").unwrap()["metadata"]["annotations"]["argocd.argoproj.io/refresh"],
        "hard"
    );
    env.as_admin("POST", path, &json!({"type": "soft"}).to_string())
        .assert_error(400, "normal or hard");
}

#[test]
fn sync_requests_an_operation_once() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.wait_listed("web", |_| true);
    let path = "/api/v1/applications/trellis/web/sync";
    let request = json!({
        "revision": "abc123",
        "prune": true,
        "dryRun": true,
        "resources": [{"group": "apps", "kind": "Deployment", "namespace": "default", "name": "web"}],
        "syncOptions": ["ServerSideApply=true"],
    });
    let resp = env.with_token(&env.tokens.shop_sync, "POST", path, &request.to_string());
    assert_eq!(resp.status, 202, "{}", resp.body);
    let operation = &env.app("web").unwrap()["operation"];
    assert_eq!(operation["sync"]["revision"], "abc123");
    assert_eq!(operation["sync"]["prune"], true);
    assert_eq!(operation["sync"]["dryRun"], true);
    assert_eq!(operation["sync"]["resources"][0]["kind"], "Deployment");
    assert_eq!(operation["sync"]["syncOptions"][0], "ServerSideApply=true");
    assert_eq!(operation["initiatedBy"]["username"], "token:sync-shop");

    env.as_admin("POST", path, "{}")
        .assert_error(409, "already has an operation requested");

    // Once the controller has taken it, a running sync still blocks.
    env.rt
        .block_on(env.client.merge_patch(
            &key("trellis.dev", "Application", NS, "web"),
            &json!({"operation": null}),
            false,
        ))
        .unwrap();
    env.set_status("web", json!({"operationState": {"phase": "Running", "operation": {}, "startedAt": "2026-01-01T00:00:00Z"}}));
    env.as_admin("POST", path, "{}")
        .assert_error(409, "in progress");

    env.as_admin("POST", path, &json!({"prunee": true}).to_string())
        .assert_error(400, "unknown field `prunee`");
    env.as_admin(
        "POST",
        path,
        &json!({"resources": [{"kind": "", "name": "x"}]}).to_string(),
    )
    .assert_error(400, "resources[0]");
}

#[test]
fn rollback_syncs_to_a_history_entry() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.set_status(
        "web",
        json!({"history": [
            {"id": 0, "revision": "1111", "deployedAt": "2026-01-01T00:00:00Z",
             "source": {"repoURL": "https://example.com/r.git", "path": "app", "targetRevision": "v1"}},
            {"id": 1, "revision": "2222", "deployedAt": "2026-01-02T00:00:00Z",
             "source": {"repoURL": "https://example.com/r.git", "path": "app", "targetRevision": "v2"}},
        ]}),
    );
    env.wait("the history", |env| {
        env.as_admin("GET", "/api/v1/applications/trellis/web/history", "")
            .json()["total"]
            == 2
    });
    let history = env
        .as_admin("GET", "/api/v1/applications/trellis/web/history", "")
        .json();
    assert_eq!(history["items"][0]["id"], 1, "newest first");

    let path = "/api/v1/applications/trellis/web/rollback";
    env.as_admin("POST", path, &json!({"id": 7}).to_string())
        .assert_error(404, "no history entry 7");
    env.as_admin("POST", path, "{}").assert_error(400, "id");
    let resp = env.as_admin("POST", path, &json!({"id": 0, "prune": true}).to_string());
    assert_eq!(resp.status, 202, "{}", resp.body);
    let operation = &env.app("web").unwrap()["operation"];
    assert_eq!(operation["sync"]["revision"], "1111");
    assert_eq!(operation["sync"]["source"]["targetRevision"], "v1");
    assert_eq!(operation["sync"]["prune"], true);
    assert_eq!(operation["initiatedBy"]["username"], "token:admin-all");

    // Automated sync would undo a rollback: refused.
    env.create_app("auto", "shop", json!({}));
    env.rt
        .block_on(env.client.merge_patch(
            &key("trellis.dev", "Application", NS, "auto"),
            &json!({"spec": {"syncPolicy": {"automated": {"prune": true}}}}),
            false,
        ))
        .unwrap();
    env.wait_listed("auto", |a| a["automated"] == true);
    env.as_admin(
        "POST",
        "/api/v1/applications/trellis/auto/rollback",
        &json!({"id": 0}).to_string(),
    )
    .assert_error(409, "automated sync");
}
