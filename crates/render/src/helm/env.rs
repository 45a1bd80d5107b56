//! Argo CD's build environment (`$ARGOCD_APP_NAME`, ...) and its `$VAR`
//! substitution, applied where Argo CD applies it: Helm parameter values,
//! value-file paths and file-parameter paths.

use trellis_model::{Application, ApplicationSource};

/// The build environment of one source of one application, as Argo CD
/// defines it.
pub fn build_env(
    app: &Application,
    source: &ApplicationSource,
    revision: &str,
    commit: Option<&str>,
    kube_version: &str,
    api_versions: &[String],
) -> Vec<(String, String)> {
    let commit = commit.unwrap_or_default();
    let short = |n: usize| commit.chars().take(n).collect::<String>();
    vec![
        (
            "ARGOCD_APP_NAME".into(),
            app.metadata.name.clone().unwrap_or_default(),
        ),
        (
            "ARGOCD_APP_NAMESPACE".into(),
            app.spec.destination.namespace.clone().unwrap_or_default(),
        ),
        ("ARGOCD_APP_PROJECT_NAME".into(), app.spec.project.clone()),
        ("ARGOCD_APP_REVISION".into(), commit.to_string()),
        ("ARGOCD_APP_REVISION_SHORT".into(), short(7)),
        ("ARGOCD_APP_REVISION_SHORT_8".into(), short(8)),
        (
            "ARGOCD_APP_SOURCE_PATH".into(),
            source.path.clone().unwrap_or_default(),
        ),
        ("ARGOCD_APP_SOURCE_REPO_URL".into(), source.repo_url.clone()),
        (
            "ARGOCD_APP_SOURCE_TARGET_REVISION".into(),
            revision.to_string(),
        ),
        ("KUBE_VERSION".into(), kube_version.to_string()),
        ("KUBE_API_VERSIONS".into(), api_versions.join(",")),
    ]
}

/// Replaces `$NAME` and `${NAME}` by their values in `env` (unknown names
/// become empty), with the rules of Go's `os.Expand` that Argo CD uses: a `$`
/// not followed by a name stays, and malformed `${...` is dropped.
pub fn envsubst(text: &str, env: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            out.push_str(&text[copied..i]);
            let (name, width) = shell_name(&text[i + 1..]);
            match (name, width) {
                (Some(name), _) => out.push_str(lookup(name)),
                (None, 0) => out.push('$'),
                (None, _) => {}
            }
            i += 1 + width;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The variable name at the start of `s` (after a `$`) and how many bytes it
/// spans; `(None, 0)` when there is no name, `(None, n)` for malformed
/// syntax whose `n` bytes are dropped.
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let bytes = s.as_bytes();
    let special = |b: u8| b"*#$@!?-".contains(&b) || b.is_ascii_digit();
    let alnum = |b: u8| b == b'_' || b.is_ascii_alphanumeric();
    if bytes[0] == b'{' {
        if bytes.len() > 2 && special(bytes[1]) && bytes[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        for (i, &b) in bytes.iter().enumerate().skip(1) {
            if b == b'}' {
                if i == 1 {
                    return (None, 2);
                }
                return (Some(&s[1..i]), i + 1);
            }
        }
        return (None, 1);
    }
    if special(bytes[0]) {
        return (Some(&s[0..1]), 1);
    }
    let end = bytes.iter().position(|&b| !alnum(b)).unwrap_or(bytes.len());
    if end == 0 {
        (None, 0)
    } else {
        (Some(&s[..end]), end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        vec![
            ("FOO".into(), "bar".into()),
            ("ARGOCD_APP_NAME".into(), "web".into()),
        ]
    }

    #[test]
    fn expands_like_go_os_expand() {
        let e = env();
        assert_eq!(envsubst("", &e), "");
        assert_eq!(envsubst("$FOO", &e), "bar");
        assert_eq!(envsubst("${FOO}", &e), "bar");
        assert_eq!(envsubst("${FOO", &e), "FOO");
        assert_eq!(envsubst("$BAR", &e), "");
        assert_eq!(envsubst("${BAR}", &e), "");
        assert_eq!(
            envsubst(
                "echo $FOO; echo $BAR; echo ${FOO}; echo ${BAR}; echo ${FOO",
                &e
            ),
            "echo bar; echo ; echo bar; echo ; echo FOO"
        );
        assert_eq!(envsubst("cost: 5$", &e), "cost: 5$");
        assert_eq!(envsubst("a $ b", &e), "a $ b");
        assert_eq!(
            envsubst("values-$ARGOCD_APP_NAME.yaml", &e),
            "values-web.yaml"
        );
        assert_eq!(envsubst("x${}y", &e), "xy");
    }
}
