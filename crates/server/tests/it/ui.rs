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

#[test]
fn the_favicon_is_an_svg_the_policy_allows() {
    let env = Env::new();
    for path in ["/favicon.svg", "/favicon.ico"] {
        let icon = env.request("GET", path, &[], "");
        assert_hardened(&icon, path);
        assert_eq!(icon.header("content-type"), Some("image/svg+xml"), "{path}");
        assert!(icon.body.starts_with("<svg "), "{path}: {}", icon.body);
        // An image only: nothing in it could run.
        for forbidden in ["<script", "onload", "href=\"javascript", "<foreignObject"] {
            assert!(!icon.body.contains(forbidden), "{path}: {forbidden}");
        }
    }
    let page = env.request("GET", "/", &[], "");
    assert!(
        page.body
            .contains("<link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">"),
        "{}",
        page.body
    );
    // Served from this origin, which the policy's img-src allows.
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("img-src 'self'"), "{csp}");
}

#[test]
fn the_page_is_accessible_by_construction() {
    let page = include_str!("../../ui/index.html");
    assert!(page.contains("<html lang=\"en\">"));
    for landmark in ["<header", "<nav aria-label=", "<main id=\"main\""] {
        assert!(page.contains(landmark), "no {landmark}");
    }
    let script = include_str!("../../ui/app.js");
    // Tabs, dialogs and alerts follow the WAI-ARIA patterns.
    for needle in [
        "role: \"tablist\"",
        "role: \"tab\"",
        "role: \"tabpanel\"",
        "\"aria-controls\"",
        "ArrowRight",
        "ArrowLeft",
        "showModal()",
        "\"aria-labelledby\": titleId",
        "role: kind === \"error\" ? \"alert\" : \"status\"",
    ] {
        assert!(script.contains(needle), "app.js lacks {needle}");
    }
    // Dialogs are real <dialog> elements, never window.confirm or alert.
    for forbidden in ["window.confirm", "window.alert", "window.prompt"] {
        assert!(!script.contains(forbidden), "app.js uses {forbidden}");
    }
    let style = include_str!("../../ui/app.css");
    assert!(style.contains(":focus-visible"), "no visible focus ring");
}

#[test]
fn the_script_keeps_the_hooks_the_browser_tests_use() {
    let script = include_str!("../../ui/app.js");
    for hook in [
        "\"data-testid\": \"app-row\"",
        "\"data-app\": `${app.namespace}/${app.name}`",
        "testid: \"sync-status\"",
        "testid: \"health-status\"",
        "\"data-testid\": \"resource-tree\"",
        "\"data-testid\": \"tree-node\"",
        "{ testid = \"diff\", label = \"Differences\" }",
        "\"data-testid\": testid",
        "\"data-testid\": \"history-row\"",
    ] {
        assert!(script.contains(hook), "app.js lacks the hook {hook}");
    }
    for label in [
        "\"Sync\")",
        "\"Refresh\")",
        "\"Roll back\"",
        "\"Delete\")",
        "\"Edit\")",
        "\"New application\")",
        "\"Synchronize\")",
        "\"Create\")",
        "\"Save\")",
        "confirm: \"Delete\"",
    ] {
        assert!(script.contains(label), "app.js lacks the button {label}");
    }
}

#[test]
fn the_tree_is_svg_built_from_text_nodes() {
    let script = include_str!("../../ui/app.js");
    assert!(script.contains("document.createElementNS(SVG_NS, tag)"));
    assert!(script.contains("const SVG_NS = \"http://www.w3.org/2000/svg\";"));
    // Text reaches the page only as text nodes.
    assert!(script.contains("document.createTextNode(String(child))"));
    for forbidden in [
        "DOMParser",
        "createContextualFragment",
        ".srcdoc",
        "textContent = `<",
    ] {
        assert!(!script.contains(forbidden), "app.js uses {forbidden}");
    }
    // Only http(s) repository URLs become links; other links are the UI's
    // own hashes.
    assert!(script.contains("parsed.protocol !== \"http:\" && parsed.protocol !== \"https:\""));
    assert!(script.contains("/^#\\/[A-Za-z0-9._~%!$'()*+,;=:@/?&-]*$/"));
}
