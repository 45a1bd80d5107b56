//! Every operation of the OpenAPI description refuses callers without its
//! permission.

use serde_json::{Value, json};

use crate::support::{Env, Events, NS, app};

/// The concrete path of a template.
fn concrete(template: &str, token_id: &str) -> String {
    template
        .replace("{namespace}", NS)
        .replace("{name}", "web")
        .replace("{id}", token_id)
}

/// A body the operation accepts, so a refusal is about the caller.
fn body_for(method: &str, template: &str, repo: &str) -> String {
    match (method, template) {
        ("POST", "/api/v1/applications") => app("fresh", "shop", json!({}), repo).to_string(),
        ("PUT", _) => {
            let mut a = app("web", "shop", json!({}), repo);
            a["metadata"]["resourceVersion"] = json!("1");
            a.to_string()
        }
        ("POST", "/api/v1/tokens") => json!({"name": "x", "role": "read"}).to_string(),
        ("POST", t) if t.ends_with("/rollback") => json!({"id": 0}).to_string(),
        _ => String::new(),
    }
}

#[test]
fn every_described_operation_refuses_who_may_not_call_it() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.create_app("o1", "other", json!({}));
    env.wait_listed("web", |_| true);
    env.wait_listed("o1", |_| true);
    let tokens = env.as_admin("GET", "/api/v1/tokens", "").json();
    let token_id = tokens["items"][0]["id"].as_str().unwrap().to_string();
    let (cookie, _csrf) = env.login();

    let doc = env.request("GET", "/api/openapi.json", &[], "");
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), Some("application/json"));
    let doc = doc.json();
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for (template, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let method = method.to_uppercase();
            let permission = operation["x-trellis-permission"].as_str().unwrap();
            let path = concrete(template, &token_id);
            let body = body_for(&method, template, &env.repo.url());
            let what = format!("{method} {path}");
            checked += 1;

            if permission == "public" {
                if method == "GET" {
                    let resp = env.request(&method, &path, &[], "");
                    assert_eq!(resp.status, 200, "{what}: {}", resp.body);
                }
                continue;
            }

            // Unauthenticated, with a forged token, with a broken header.
            env.request(&method, &path, &[], &body)
                .assert_error(401, "authentication required");
            env.with_token("trl_0000000000000000_00", &method, &path, &body)
                .assert_error(401, "invalid or expired API token");
            env.request(
                &method,
                &path,
                &[("Authorization", "Basic YWRtaW4=")],
                &body,
            )
            .assert_error(401, "Bearer");

            // A session cookie without the CSRF header may only read.
            if method != "GET" {
                env.request(
                    &method,
                    &path,
                    &[("Cookie", &cookie), ("Content-Type", "application/json")],
                    &body,
                )
                .assert_error(403, "CSRF");
            }

            let app_path = template.contains("{name}");
            match permission {
                "sync" | "create" | "update" | "delete" | "admin" => {
                    let resp = env.with_token(&env.tokens.read, &method, &path, &body);
                    resp.assert_error(403, "may not");
                }
                _ => {}
            }
            if app_path {
                // Another project's token does not even learn it exists.
                env.with_token(&env.tokens.other_read, &method, &path, &body)
                    .assert_error(404, "application trellis/web not found");
            }
            match (permission, template.as_str()) {
                ("create", _) => env
                    .with_token(&env.tokens.other_read, &method, &path, &body)
                    .assert_error(403, "may not create"),
                ("admin", _) => env
                    .with_token(&env.tokens.shop_sync, &method, &path, &body)
                    .assert_error(403, "may not manage API tokens"),
                ("get", "/api/v1/applications") => {
                    let list = env.with_token(&env.tokens.other_read, &method, &path, "");
                    let names: Vec<String> = list.json()["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a["name"].as_str().unwrap().to_string())
                        .collect();
                    assert_eq!(names, ["o1"], "{what}");
                }
                ("get", "/api/v1/stream") => {
                    let mut events = Events::open(env.port, &path, &env.tokens.other_read);
                    assert_eq!(events.status, 200);
                    events.until("o1 in the stream", |t| t.contains("\"name\":\"o1\""));
                    assert!(!events.text.contains("\"name\":\"web\""), "{}", events.text);
                }
                ("authenticated", "/api/v1/projects") => {
                    let list = env.with_token(&env.tokens.other_read, &method, &path, "");
                    let names: Vec<Value> = list.json()["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p["name"].clone())
                        .collect();
                    assert_eq!(names, [json!("other")], "{what}");
                }
                ("get" | "sync" | "update" | "delete" | "authenticated", _) => {}
                (other, _) => panic!("{what}: unknown permission {other}"),
            }

            // The path is served: an admin is not told it does not exist.
            if method == "GET" && permission != "admin" && !template.ends_with("/stream") {
                let resp = env.as_admin(&method, &path, "");
                assert!(
                    !resp.body.contains("no such endpoint"),
                    "{what} is described but not served"
                );
            }
        }
    }
    assert!(checked >= 20, "only {checked} operations described");
    // Nothing above changed the application.
    let stored = env.app("web").unwrap();
    assert!(stored.get("operation").is_none(), "{stored}");
    assert!(stored.pointer("/metadata/deletionTimestamp").is_none());
    assert!(env.app("fresh").is_none());
}

#[test]
fn unknown_paths_and_methods_answer_in_json() {
    let env = Env::new();
    env.as_admin("GET", "/api/v1/nothing", "")
        .assert_error(404, "no such endpoint");
    env.as_admin("PATCH", "/api/v1/applications", "")
        .assert_error(405, "does not take this method");
}
