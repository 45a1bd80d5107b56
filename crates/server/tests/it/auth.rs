//! Logging in, sessions, CSRF, API tokens and project roles.

use serde_json::json;
use trellis_server::accounts;

use crate::support::{Env, NS, PASSWORD};

#[test]
fn repeated_failed_logins_lock_the_name_for_a_while() {
    let env = Env::new();
    let attempt = |password: &str| {
        env.request(
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            &json!({"username": "admin", "password": password}).to_string(),
        )
    };
    // A success in between starts the count over.
    for _ in 0..4 {
        attempt("guess").assert_error(401, "invalid username or password");
    }
    assert_eq!(attempt(PASSWORD).status, 200);
    for _ in 0..5 {
        attempt("guess").assert_error(401, "invalid username or password");
    }
    // Now even the right password is refused, with when to try again.
    let locked = attempt(PASSWORD);
    locked.assert_error(429, "too many failed logins for admin");
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert!(locked.header("set-cookie").is_none());
    // API tokens are not affected.
    let listed = env.with_token(&env.tokens.read, "GET", "/api/v1/applications", "");
    assert_eq!(listed.status, 200, "{}", listed.body);
}

#[test]
fn a_session_is_a_secure_cookie_and_changes_need_its_csrf_token() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.wait_listed("web", |_| true);

    let wrong = env.request(
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        &json!({"username": "admin", "password": "nope"}).to_string(),
    );
    wrong.assert_error(401, "invalid username or password");
    assert!(wrong.header("set-cookie").is_none());
    env.request(
        "POST",
        "/api/v1/session",
        &[],
        &json!({"username": "root", "password": PASSWORD}).to_string(),
    )
    .assert_error(401, "invalid username or password");
    env.request("POST", "/api/v1/session", &[], "{\"username\": ")
        .assert_error(400, "request body");

    let login = env.request(
        "POST",
        "/api/v1/session",
        &[],
        &json!({"username": "admin", "password": PASSWORD}).to_string(),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let set = login.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "{set}");
    let id = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("trellis_session=")
        .unwrap();
    assert_eq!(id.len(), 64, "256 random bits, hex");
    let cookie = format!("trellis_session={id}");
    let csrf = login.json()["csrfToken"].as_str().unwrap().to_string();

    let me = env.request("GET", "/api/v1/session", &[("Cookie", &cookie)], "");
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "admin");
    assert_eq!(me.json()["csrfToken"], csrf.as_str());

    let sync = "/api/v1/applications/trellis/web/sync";
    env.request("POST", sync, &[("Cookie", &cookie)], "{}")
        .assert_error(403, "CSRF");
    env.request(
        "POST",
        sync,
        &[("Cookie", &cookie), ("X-Trellis-CSRF", "0123")],
        "{}",
    )
    .assert_error(403, "CSRF");
    let ok = env.request(
        "POST",
        sync,
        &[("Cookie", &cookie), ("X-Trellis-CSRF", &csrf)],
        "{}",
    );
    assert_eq!(ok.status, 202, "{}", ok.body);
    assert_eq!(
        env.app("web").unwrap()["operation"]["initiatedBy"]["username"],
        "admin"
    );

    let out = env.request(
        "DELETE",
        "/api/v1/session",
        &[("Cookie", &cookie), ("X-Trellis-CSRF", &csrf)],
        "",
    );
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    env.request("GET", "/api/v1/session", &[("Cookie", &cookie)], "")
        .assert_error(401, "log in again");
}

#[test]
fn a_new_password_ends_sessions() {
    let env = Env::new();
    let (cookie, _) = env.login();
    env.rt
        .block_on(accounts::set_admin_password(
            &env.client,
            NS,
            "another password",
        ))
        .unwrap();
    env.wait("the old session to end", |env| {
        env.request("GET", "/api/v1/session", &[("Cookie", &cookie)], "")
            .status
            == 401
    });
    env.request(
        "POST",
        "/api/v1/session",
        &[],
        &json!({"username": "admin", "password": PASSWORD}).to_string(),
    )
    .assert_error(401, "invalid");
    let ok = env.request(
        "POST",
        "/api/v1/session",
        &[],
        &json!({"username": "admin", "password": "another password"}).to_string(),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let short = env
        .rt
        .block_on(accounts::set_admin_password(&env.client, NS, "short"));
    assert!(short.unwrap_err().to_string().contains("at least 8"));
}

#[test]
fn the_first_admin_password_is_made_once() {
    let env = Env::new();
    // The environment already set one: nothing is generated.
    assert_eq!(
        env.rt
            .block_on(accounts::ensure_admin(&env.client, NS))
            .unwrap(),
        None
    );
    let fresh = env
        .rt
        .block_on(accounts::ensure_admin(&env.client, "elsewhere"))
        .unwrap()
        .unwrap();
    assert!(fresh.len() >= 20, "{fresh}");
    assert_eq!(
        env.rt
            .block_on(accounts::ensure_admin(&env.client, "elsewhere"))
            .unwrap(),
        None
    );
    let stored = env
        .rt
        .block_on(accounts::read(&env.client, "elsewhere"))
        .unwrap();
    let hash = stored.admin_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(&fresh));
    assert!(accounts::verify_password(&hash, &fresh));
}

#[test]
fn tokens_are_shown_once_listed_without_secrets_and_revoked_at_once() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.wait_listed("web", |_| true);

    let created = env.as_admin(
        "POST",
        "/api/v1/tokens",
        &json!({"name": "deploy bot", "role": "sync", "project": "shop"}).to_string(),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_string();
    let id = body["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("trl_"));
    assert_eq!(body["role"], "sync");
    assert_eq!(body["project"], "shop");

    let list = env.as_admin("GET", "/api/v1/tokens", "");
    assert!(list.body.contains("deploy bot"));
    assert!(!list.body.contains(&token[20..]), "{}", list.body);
    assert!(!list.body.contains("hash"), "{}", list.body);
    let secret = env
        .get("", "Secret", NS, "trellis-server")
        .unwrap()
        .to_string();
    assert!(!secret.contains(&token[20..]));

    let resp = env.with_token(
        &token,
        "POST",
        "/api/v1/applications/trellis/web/sync",
        "{}",
    );
    assert_eq!(resp.status, 202, "{}", resp.body);
    assert_eq!(
        env.app("web").unwrap()["operation"]["initiatedBy"]["username"],
        "token:deploy bot"
    );

    for bad in [
        json!({"name": "", "role": "read"}),
        json!({"name": "x", "role": "owner"}),
        json!({"name": "x", "role": "read", "project": "nowhere"}),
        json!({"name": "x", "role": "read", "scope": "all"}),
    ] {
        env.as_admin("POST", "/api/v1/tokens", &bad.to_string())
            .assert_error(400, "");
    }

    let deleted = env.as_admin("DELETE", &format!("/api/v1/tokens/{id}"), "");
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    env.with_token(&token, "GET", "/api/v1/applications", "")
        .assert_error(401, "invalid or expired");
    env.as_admin("DELETE", &format!("/api/v1/tokens/{id}"), "")
        .assert_error(404, "no API token");
}

#[test]
fn tokens_expire() {
    let env = Env::new();
    let created = env.as_admin(
        "POST",
        "/api/v1/tokens",
        &json!({"name": "brief", "role": "read", "expiresIn": 1}).to_string(),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json()["token"].as_str().unwrap().to_string();
    env.wait("the token to expire", |env| {
        env.with_token(&token, "GET", "/api/v1/applications", "")
            .status
            == 401
    });
    env.as_admin(
        "POST",
        "/api/v1/tokens",
        &json!({"name": "never", "role": "read", "expiresIn": 0}).to_string(),
    )
    .assert_error(400, "expiresIn");
}

#[test]
fn project_roles_grant_what_their_policies_say() {
    let env = Env::new();
    for (name, project) in [
        ("web-front", "shop"),
        ("web-locked", "shop"),
        ("db", "shop"),
        ("o1", "other"),
    ] {
        env.create_app(name, project, json!({}));
        env.wait_listed(name, |_| true);
    }
    let ci = &env.tokens.shop_ci;
    let list = env.with_token(ci, "GET", "/api/v1/applications", "");
    let names: Vec<String> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["db", "web-front", "web-locked"]);

    let sync = |name: &str| {
        env.with_token(
            ci,
            "POST",
            &format!("/api/v1/applications/trellis/{name}/sync"),
            "{}",
        )
    };
    assert_eq!(sync("web-front").status, 202);
    sync("web-locked").assert_error(403, "may not sync");
    sync("db").assert_error(403, "may not sync");
    sync("o1").assert_error(404, "not found");
    env.with_token(ci, "DELETE", "/api/v1/applications/trellis/db", "")
        .assert_error(403, "may not delete");

    // The policies are read at every request: a new line takes effect.
    env.apply(&json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "shop", "namespace": NS},
        "spec": {"roles": [{"name": "ci", "policies": [
            "p, proj:shop:ci, applications, *, shop/*, allow",
        ]}]},
    }));
    env.wait("the new policy", |_| sync("db").status == 202);
}

#[test]
fn a_scoped_token_sees_and_acts_only_in_its_project() {
    let env = Env::new();
    env.create_app("web", "shop", json!({}));
    env.create_app("o1", "other", json!({}));
    env.wait_listed("o1", |_| true);
    env.wait_listed("web", |_| true);
    let shop = &env.tokens.shop_sync;
    let get = env.with_token(shop, "GET", "/api/v1/applications/trellis/web", "");
    assert_eq!(get.status, 200);
    env.with_token(shop, "GET", "/api/v1/applications/trellis/o1", "")
        .assert_error(404, "not found");
    env.with_token(shop, "DELETE", "/api/v1/applications/trellis/web", "")
        .assert_error(403, "may not delete");
    let me = env.with_token(shop, "GET", "/api/v1/session", "").json();
    assert_eq!(me["via"], "token");
    assert_eq!(me["grant"]["project"], "shop");
}
