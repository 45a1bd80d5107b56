//! The web UI: a few static files compiled into the binary, served
//! without authentication like the login form they open on. Everything
//! they show comes from the API, which keeps its own authentication.
//!
//! The policy sent with them allows scripts, styles and requests from this
//! origin only: no inline script or style, no `eval`, no framing, so text
//! from the cluster (names, labels, annotations) can never run as code even
//! if a page were to render it carelessly.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const APP_CSS: &str = include_str!("../ui/app.css");
const FAVICON_SVG: &str = include_str!("../ui/favicon.svg");

/// The Content-Security-Policy of every UI response.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A static file with the UI's headers. `no-cache` makes browsers ask again
/// (cheaply) so an upgraded server never runs against an old script.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the page.
pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /ui/app.js`: the script (an ES module).
pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /ui/app.css`: the style sheet.
pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

/// `GET /favicon.svg` (and `/favicon.ico`, where browsers look unasked):
/// the icon, an SVG image.
pub(crate) async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON_SVG)
}
