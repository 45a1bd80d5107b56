//! https-style authentication against git's own `git http-backend`, served on loopback with basic
//! authentication.

use trellis_source::{RepoCredentials, SourceConfig, SourceError, Sources};

use crate::support::WorkRepo;
use crate::support::git;
use trellis_testkit::git_http::GitHttpServer;

const USER: &str = "deployer";
const PASSWORD: &str = "s3cr3t-Pa55word";

fn with_credentials(cache: &std::path::Path, prefix: &str, password: Option<&str>) -> Sources {
    let mut config = SourceConfig::new(cache);
    if let Some(password) = password {
        config.credentials.push(RepoCredentials {
            url_prefix: prefix.to_string(),
            username: Some(USER.to_string()),
            password: Some(password.to_string()),
            ssh_private_key_file: None,
        });
    }
    Sources::new(config).unwrap()
}

#[test]
fn basic_auth_over_http_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("served");
    let work = WorkRepo::init(&tmp.path().join("work"));
    let commit = work.commit(&[("apps/web.yaml", "web\n")], "one");
    work.git(&["tag", "-a", "v1", "-m", "v1"]);
    std::fs::create_dir_all(&root).unwrap();
    git(
        &root,
        &[
            "clone",
            "--quiet",
            "--bare",
            work.dir.to_str().unwrap(),
            "infra.git",
        ],
    );
    let server = GitHttpServer::start(&root, USER, PASSWORD);
    let url = server.url("infra.git");

    // Right credentials: resolve and read.
    let prefix = format!("http://127.0.0.1:{}/", server.port);
    let s = with_credentials(&tmp.path().join("cache-ok"), &prefix, Some(PASSWORD));
    let snap = s.snapshot(&url, "v1").unwrap();
    assert_eq!(snap.commit(), Some(commit.as_str()));
    assert_eq!(snap.read_file("apps/web.yaml").unwrap(), b"web\n");
    assert_eq!(s.stats().fetches, 1);

    // No credentials: a clear authentication error.
    let s = with_credentials(&tmp.path().join("cache-none"), &prefix, None);
    let err = s.resolve(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::Authentication { .. }), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");

    // Wrong password: an authentication error that never shows the password.
    let wrong = format!("{PASSWORD}-wrong");
    let s = with_credentials(&tmp.path().join("cache-wrong"), &prefix, Some(&wrong));
    let err = s.resolve(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::Authentication { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");

    // Credentials embedded in the URL work and never appear in errors either.
    let embedded = format!(
        "http://{USER}:{PASSWORD}@127.0.0.1:{}/infra.git",
        server.port
    );
    let s = with_credentials(&tmp.path().join("cache-embedded"), &prefix, None);
    assert_eq!(s.resolve(&embedded, "v1").unwrap(), commit);
    let err = s.resolve(&embedded, "no-such-tag").unwrap_err();
    assert!(
        matches!(err, SourceError::UnknownRevision { .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
}
