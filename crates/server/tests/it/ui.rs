//! The web UI's static files: served without authentication, with a
//! strict Content-Security-Policy, and a script that never turns data into
//! markup or code.

use crate::support::{Env, Resp};

fn assert_hardened(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 200, "{what}: {}", resp.body);
    let csp = resp.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(
        resp.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        resp.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(resp.header("cache-control"), Some("no-cache"), "{what}");
}

#[test]
fn the_ui_is_served_without_authentication_and_with_a_strict_policy() {
    let env = Env::new();

    let page = env.request("GET", "/", &[], "");
    assert_hardened(&page, "GET /");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("<!doctype html>"), "{}", page.body);
    assert!(page.body.contains("/ui/app.js"), "{}", page.body);
    assert!(page.body.contains("/ui/app.css"), "{}", page.body);
    // No inline script: every script element has a source.
    for (i, _) in page.body.match_indices("<script") {
        let tag = &page.body[i..page.body[i..].find('>').unwrap() + i];
        assert!(tag.contains("src=\"/ui/"), "inline script: {tag}");
    }
    assert!(!page.body.contains("<style"), "inline style in the page");
    assert!(!page.body.contains(" style=\""), "inline style in the page");

    let script = env.request("GET", "/ui/app.js", &[], "");
    assert_hardened(&script, "GET /ui/app.js");
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.body.contains("\"/api/v1\""), "not the app script");
    assert!(script.body.contains("EventSource"), "not the app script");

    let style = env.request("GET", "/ui/app.css", &[], "");
    assert_hardened(&style, "GET /ui/app.css");
    assert_eq!(
        style.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert!(!style.body.is_empty());

    // The API behind it still needs credentials.
    env.request("GET", "/api/v1/applications", &[], "")
        .assert_error(401, "authentication required");
    // And an unknown UI file is an ordinary 404.
    env.request("GET", "/ui/nothing.js", &[], "")
        .assert_error(404, "no such endpoint");
}

#[test]
fn the_script_never_builds_markup_or_code_from_strings() {
    let script = include_str!("../../ui/app.js");
    for forbidden in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setTimeout(\"",
        "setTimeout('",
        "setInterval(\"",
        "setInterval('",
    ] {
        assert!(!script.contains(forbidden), "app.js uses {forbidden}");
    }
    let page = include_str!("../../ui/index.html");
    for forbidden in ["onclick", "onload", "onerror", "javascript:"] {
        assert!(!page.contains(forbidden), "index.html uses {forbidden}");
    }
}

#[test]
fn the_ui_is_not_among_the_described_protected_operations() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../src/openapi.json")).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in ["/", "/ui/app.js", "/ui/app.css"] {
        if let Some(item) = paths.get(path) {
            assert_eq!(item["get"]["x-trellis-permission"], "public", "{path}");
        }
    }
}
