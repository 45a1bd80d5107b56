//! Git push webhooks (GitHub and GitLab): verified with the shared secret,
//! turned into the repository URLs that changed.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Why a webhook delivery was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// No secret is configured, so no delivery can be trusted.
    #[error("webhooks are disabled: no webhook secret is configured")]
    Disabled,
    /// The signature or token is missing or wrong.
    #[error("the webhook signature does not match")]
    BadSignature,
    /// Neither a GitHub nor a GitLab push.
    #[error("unsupported webhook event {0:?}")]
    Unsupported(String),
    /// The body is not the JSON the event promises.
    #[error("unreadable webhook payload: {0}")]
    Payload(String),
}

/// A verified push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Every URL the repository is known by (web, https clone, ssh).
    pub urls: Vec<String>,
    /// The pushed ref (`refs/heads/main`).
    pub git_ref: String,
}

/// Verifies and reads a delivery. `header` looks up a request header by
/// (lower-case) name; `events other than pushes` are `Ok(None)`.
pub fn parse(
    secret: Option<&str>,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Option<Push>, WebhookError> {
    let secret = secret
        .filter(|s| !s.is_empty())
        .ok_or(WebhookError::Disabled)?;
    if let Some(event) = header("x-github-event") {
        let signature = header("x-hub-signature-256").ok_or(WebhookError::BadSignature)?;
        verify_github(secret, &signature, body)?;
        if event == "ping" {
            return Ok(None);
        }
        if event != "push" {
            return Err(WebhookError::Unsupported(event));
        }
        let payload: Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Payload(e.to_string()))?;
        let repo = &payload["repository"];
        return Ok(Some(Push {
            urls: urls(
                repo,
                &["html_url", "clone_url", "ssh_url", "git_url", "url"],
            ),
            git_ref: payload["ref"].as_str().unwrap_or_default().to_string(),
        }));
    }
    if let Some(event) = header("x-gitlab-event") {
        let token = header("x-gitlab-token").ok_or(WebhookError::BadSignature)?;
        if !constant_time_eq(token.as_bytes(), secret.as_bytes()) {
            return Err(WebhookError::BadSignature);
        }
        if event != "Push Hook" && event != "Tag Push Hook" {
            return Err(WebhookError::Unsupported(event));
        }
        let payload: Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Payload(e.to_string()))?;
        let mut found = urls(
            &payload["project"],
            &["web_url", "git_http_url", "git_ssh_url"],
        );
        found.extend(urls(
            &payload["repository"],
            &["homepage", "git_http_url", "git_ssh_url", "url"],
        ));
        found.sort();
        found.dedup();
        return Ok(Some(Push {
            urls: found,
            git_ref: payload["ref"].as_str().unwrap_or_default().to_string(),
        }));
    }
    Err(WebhookError::Unsupported("none".into()))
}

fn urls(object: &Value, fields: &[&str]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|f| object.get(*f).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn verify_github(secret: &str, signature: &str, body: &[u8]) -> Result<(), WebhookError> {
    let hex = signature
        .strip_prefix("sha256=")
        .ok_or(WebhookError::BadSignature)?;
    let expected = decode_hex(hex).ok_or(WebhookError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| WebhookError::BadSignature)
}

/// GitHub's signature header for `body` (for clients and tests).
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn github_push_with_a_good_signature() {
        let body = br#"{"ref":"refs/heads/main","repository":{"html_url":"https://github.com/o/r","clone_url":"https://github.com/o/r.git"}}"#;
        let sig = github_signature("s3cret", body);
        let push = parse(
            Some("s3cret"),
            headers(&[("x-github-event", "push"), ("x-hub-signature-256", &sig)]),
            body,
        )
        .unwrap()
        .unwrap();
        assert_eq!(push.git_ref, "refs/heads/main");
        assert_eq!(
            push.urls,
            ["https://github.com/o/r", "https://github.com/o/r.git"]
        );
    }

    #[test]
    fn github_push_with_a_bad_signature_is_refused() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let sig = github_signature("other", body);
        let got = parse(
            Some("s3cret"),
            headers(&[("x-github-event", "push"), ("x-hub-signature-256", &sig)]),
            body,
        );
        assert_eq!(got, Err(WebhookError::BadSignature));
        let unsigned = parse(Some("s3cret"), headers(&[("x-github-event", "push")]), body);
        assert_eq!(unsigned, Err(WebhookError::BadSignature));
    }

    #[test]
    fn gitlab_push_checks_the_token() {
        let body = br#"{"ref":"refs/heads/main","project":{"web_url":"https://gitlab.com/g/p","git_http_url":"https://gitlab.com/g/p.git"}}"#;
        let ok = parse(
            Some("tok"),
            headers(&[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "tok")]),
            body,
        )
        .unwrap()
        .unwrap();
        assert!(ok.urls.contains(&"https://gitlab.com/g/p.git".to_string()));
        let bad = parse(
            Some("tok"),
            headers(&[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "nope")]),
            body,
        );
        assert_eq!(bad, Err(WebhookError::BadSignature));
    }

    #[test]
    fn without_a_secret_nothing_is_trusted() {
        assert_eq!(
            parse(None, headers(&[("x-github-event", "push")]), b"{}"),
            Err(WebhookError::Disabled)
        );
    }
}
