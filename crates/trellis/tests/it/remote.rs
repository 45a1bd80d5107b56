//! The commands through a Trellis server's HTTP API: `trellis up` serves
//! the example applications, and the binary logs in, lists, reads, diffs,
//! syncs, rolls back and logs out as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use trellis_testkit::{git_in, kubectl_ok, workspace_root};

use crate::support::{Env, Run, Up};

/// The example applications `trellis up` starts with.
const EXAMPLE_APPS: [&str; 14] = [
    "root",
    "platform",
    "staging",
    "production",
    "fleet-staging",
    "fleet-production",
    "web-staging",
    "web-production",
    "billing-staging",
    "billing-production",
    "storefront-staging",
    "storefront-production",
    "checkout-staging",
    "checkout-production",
];

/// `trellis login URL --password-stdin` with the password on stdin, in
/// the same isolation as `Env::run`.
fn login(env: &Env, url: &str, password: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["login", url, "--password-stdin"])
        .current_dir(workspace_root())
        .env("HOME", env.home())
        .env("XDG_CONFIG_HOME", env.home().join("config"))
        .env("XDG_CACHE_HOME", env.home().join("cache"))
        .env_remove("TRELLIS_SERVER")
        .env_remove("TRELLIS_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `trellis ARGS` with extra environment variables, in the same isolation
/// as `Env::run`.
fn run_with(env: &Env, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .current_dir(workspace_root())
        .env("HOME", env.home())
        .env("XDG_CONFIG_HOME", env.home().join("config"))
        .env("XDG_CACHE_HOME", env.home().join("cache"))
        .env("NO_COLOR", "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A certificate authority made for these tests (valid 2000 to 2100).
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBZjCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9UcmVsbGlz
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBoxGDAW
BgNVBAMMD1RyZWxsaXMgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA
BFLvcwGAt48zEPJCJJ2CrqKN4FlP1IKjpTctZmjiQZLah4TMJPv4HIvUCygWlo2X
vZJrvgOsMUG6K9NgU4OTr8SjQjBAMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/
BAQDAgEGMB0GA1UdDgQWBBQl1QdgISySZhX0EvNFx0qkJztk5DAKBggqhkjOPQQD
AgNHADBEAiBzvvvNOvNMhQ4i5OcpMxqRv+jbdZBdHjYgZu+1STqJRQIgLDM6xn/V
JJqLF7mdJi8j2hoV3Yj8STfWipK5MwuDkgs=
-----END CERTIFICATE-----
";
/// A server certificate for localhost and 127.0.0.1 signed by `TEST_CA`.
const TEST_SERVER_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBrzCCAVWgAwIBAgIBAjAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9UcmVsbGlz
IHRlc3QgQ0EwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQ
BgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN7Xe/Jv
NB6WAwHXv+ZnZZSlECQThcgc8OyGzIWiV2ISVT2ybIoNv75lYwPtYzbsD4eNIfz0
DmAeqiYI4Y9/t5GjgY8wgYwwGgYDVR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMAkG
A1UdEwQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB8G
A1UdIwQYMBaAFCXVB2AhLJJmFfQS80XHSqQnO2TkMB0GA1UdDgQWBBSoGZFdQwAt
PA0Ywphm8gP3fIib5DAKBggqhkjOPQQDAgNIADBFAiEA8SgSpb5PUPWfeIhClzk6
IenadJB183UM5I99U673cagCIHRZ5fflPH0qSZFd6T7MCV9/bN9fxqadfru9WVaR
svug
-----END CERTIFICATE-----
";
/// The key of `TEST_SERVER_CERT` (a test key, trusted nowhere).
const TEST_SERVER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgf02j362UWCvkA1Ju
qL44wgvMnVi6mMkjxXqWPNC3U+qhRANCAATe13vybzQelgMB17/mZ2WUpRAkE4XI
HPDshsyFoldiElU9smyKDb++ZWMD7WM27A+HjSH89A5gHqomCOGPf7eR
-----END PRIVATE KEY-----
";

/// Terminates TLS on a free port of 127.0.0.1 (with `TEST_SERVER_CERT`)
/// and forwards each connection to `backend`, as an ingress in front of a
/// Trellis server does. Runs on its own thread until the tests end.
fn tls_proxy(backend: u16) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_slice(TEST_SERVER_CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(TEST_SERVER_KEY.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut upstream) =
                        tokio::net::TcpStream::connect(("127.0.0.1", backend)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
    });
    port
}

/// Creates an API token with `role` through the API, as an admin would in
/// the web UI; the new token.
fn create_token(port: u16, admin_token: &str, role: &str) -> String {
    use std::io::{Read, Write};
    let body = serde_json::json!({"name": format!("test {role}"), "role": role}).to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /api/v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin_token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let json = response.split("\r\n\r\n").nth(1).unwrap();
    let created: Value = serde_json::from_str(json).unwrap();
    created["token"].as_str().unwrap().to_string()
}

fn login_file(env: &Env) -> PathBuf {
    env.home().join("config/trellis/login.yaml")
}

/// Runs until `done` accepts a run, at most `limit`; the last run.
fn until(env: &Env, args: &[&str], limit: Duration, done: impl Fn(&Run) -> bool) -> Run {
    let deadline = Instant::now() + limit;
    loop {
        let run = env.run(args);
        if done(&run) || Instant::now() > deadline {
            return run;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn summaries(run: &Run) -> Vec<Value> {
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str::<Value>(&run.stdout)
        .unwrap_or_else(|e| panic!("list -o json: {e}: {run:?}"))
        .as_array()
        .unwrap()
        .clone()
}

fn image(kubeconfig: &Path, namespace: &str) -> String {
    kubectl_ok(
        kubeconfig,
        &[
            "get",
            "deployment",
            "web",
            "-n",
            namespace,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
}

#[test]
fn remote_cli_logs_in_reads_diffs_syncs_rolls_back_and_logs_out() {
    let env = Env::new();
    let up = Up::start(&env);
    let url = up.url();
    let kubeconfig = up.data.join("kubeconfig");

    // Without a server, the server's commands say how to get one.
    let none = env.run(&["list"]);
    assert_eq!(none.code, 2, "{none:?}");
    assert!(none.stderr.contains("not logged in"), "{none:?}");
    assert!(none.stderr.contains("trellis login"), "{none:?}");

    // A wrong password is refused and saves nothing.
    let refused = login(&env, &url, "not-the-password");
    assert_eq!(refused.code, 3, "{refused:?}");
    assert!(
        refused.stderr.contains("invalid username or password"),
        "{refused:?}"
    );
    assert!(!login_file(&env).exists());

    // The right one saves an API token, readable by the user only.
    let logged_in = login(&env, &url, &up.password);
    assert_eq!(logged_in.code, 0, "{logged_in:?}");
    assert!(logged_in.stdout.contains(&url), "{logged_in:?}");
    let saved = std::fs::read_to_string(login_file(&env)).unwrap();
    assert!(saved.contains(&format!("current: {url}")), "{saved}");
    assert!(saved.contains("token"), "{saved}");
    assert!(!saved.contains(&up.password), "{saved}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(login_file(&env))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let token = saved
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("token:"))
        .flat_map(|l| l.split_whitespace())
        .find(|w| w.starts_with("trl_"))
        .unwrap_or_else(|| panic!("no token in {saved}"))
        .to_string();

    // list: every example application, as a table and as data.
    let table = env.run(&["list"]);
    assert_eq!(table.code, 0, "{table:?}");
    let header = table.stdout.lines().next().unwrap();
    for column in ["NAME", "PROJECT", "SYNC", "HEALTH", "REVISION"] {
        assert!(header.contains(column), "{header}");
    }
    for app in EXAMPLE_APPS {
        assert!(
            table
                .stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(app)),
            "{app}: {table:?}"
        );
    }
    let listed = summaries(&env.run(&["list", "-o", "json"]));
    assert_eq!(listed.len(), 14, "{listed:#?}");
    for app in &listed {
        assert_eq!(app["sync"]["status"], "Synced", "{app}");
        assert_eq!(app["health"]["status"], "Healthy", "{app}");
    }
    let wide = env.run(&["list", "-o", "wide"]);
    assert!(wide.stdout.contains("services/web/staging"), "{wide:?}");
    assert!(wide.stdout.contains("Auto"), "{wide:?}");
    let staging = env.run(&["list", "-o", "name", "-l", "environment=staging"]);
    assert_eq!(staging.code, 0, "{staging:?}");
    let mut names: Vec<&str> = staging.stdout.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "trellis/billing-staging",
            "trellis/checkout-staging",
            "trellis/storefront-staging",
            "trellis/web-staging"
        ],
        "{staging:?}"
    );
    let out_of_sync = env.run(&["list", "-o", "name", "--sync", "OutOfSync"]);
    assert_eq!((out_of_sync.code, out_of_sync.stdout.as_str()), (0, ""));
    let in_project = env.run(&["list", "-o", "name", "--project", "default"]);
    assert_eq!(in_project.stdout.lines().count(), 14, "{in_project:?}");

    // get: the summary and the resources, or the whole object.
    let got = env.run(&["get", "web-staging"]);
    assert_eq!(got.code, 0, "{got:?}");
    for text in [
        "trellis/web-staging",
        "services/web/staging",
        "Automated (prune, self-heal)",
        "Synced",
        "Healthy",
        "Deployment.apps",
        "web-config",
    ] {
        assert!(got.stdout.contains(text), "{text}: {got:?}");
    }
    let object: Value = serde_json::from_str(
        &env.run(&["get", "trellis/web-staging", "-o", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(object["metadata"]["name"], "web-staging");
    assert_eq!(object["status"]["sync"]["status"], "Synced");
    let status = env.run(&["status", "web-staging"]);
    assert!(status.stdout.contains("Sync status:"), "{status:?}");

    let waited = env.run(&["wait", "web-staging", "--timeout", "60s"]);
    assert_eq!(waited.code, 0, "{waited:?}");
    assert_eq!(waited.stdout.trim(), "trellis/web-staging: Synced, Healthy");

    let history = env.run(&["history", "web-staging"]);
    assert_eq!(history.code, 0, "{history:?}");
    let mut lines = history.stdout.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["ID", "DATE", "REVISION"]
    );
    let first = lines.next().unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(first[0], "0", "{history:?}");
    assert_eq!(first[2].len(), 40, "{history:?}");

    // Errors say what is wrong.
    let unknown = env.run(&["get", "no-such-app"]);
    assert_eq!(unknown.code, 3, "{unknown:?}");
    assert!(
        unknown.stderr.contains("application no-such-app not found"),
        "{unknown:?}"
    );
    let unknown = env.run(&["diff", "trellis/no-such-app"]);
    assert_eq!(unknown.code, 3, "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("application trellis/no-such-app not found"),
        "{unknown:?}"
    );
    let bad_token = env.run(&["--server", &url, "--token", "trl_bad", "list"]);
    assert_eq!(bad_token.code, 3, "{bad_token:?}");
    assert!(
        bad_token
            .stderr
            .contains(&format!("not logged in to {url}: run trellis login")),
        "{bad_token:?}"
    );
    let refused_port = env.run(&["--server", "http://127.0.0.1:1", "list"]);
    assert_eq!(refused_port.code, 3, "{refused_port:?}");
    assert!(
        refused_port
            .stderr
            .contains("cannot connect to http://127.0.0.1:1"),
        "{refused_port:?}"
    );
    // As in Argo CD, automated sync would undo a rollback: it is refused.
    let automated = env.run(&["rollback", "web-staging", "0"]);
    assert_eq!(automated.code, 3, "{automated:?}");
    assert!(
        automated.stderr.contains("syncs automatically"),
        "{automated:?}"
    );
    assert!(
        automated.stderr.contains("turn automated sync off"),
        "{automated:?}"
    );

    // An application synced by hand: web staging's manifests in a
    // namespace of their own, without automated sync.
    let manual = env.home().join("web-manual.yaml");
    std::fs::write(
        &manual,
        "apiVersion: trellis.dev/v1alpha1\nkind: Application\nmetadata:\n  name: web-manual\n  namespace: trellis\nspec:\n  project: default\n  source:\n    repoURL: https://git.example.com/platform/infrastructure.git\n    targetRevision: main\n    path: services/web/staging\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web-manual\n  syncPolicy:\n    syncOptions:\n      - CreateNamespace=true\n",
    )
    .unwrap();
    kubectl_ok(&kubeconfig, &["apply", "-f", manual.to_str().unwrap()]);
    let compared = until(
        &env,
        &["list", "-o", "json", "--sync", "OutOfSync"],
        Duration::from_secs(60),
        |run| run.code == 0 && run.stdout.contains("\"web-manual\""),
    );
    assert!(compared.stdout.contains("\"web-manual\""), "{compared:?}");
    let manual_row = env.run(&["list", "-o", "wide"]);
    assert!(
        manual_row
            .stdout
            .lines()
            .any(|l| l.contains("web-manual") && l.contains("Manual")),
        "{manual_row:?}"
    );
    // Nothing syncs it: waiting for it times out.
    let timed_out = env.run(&["wait", "web-manual", "--sync", "--timeout", "1s"]);
    assert_eq!(timed_out.code, 3, "{timed_out:?}");
    assert!(timed_out.stderr.contains("timed out"), "{timed_out:?}");

    let synced = env.run(&["sync", "web-manual", "--timeout", "60s"]);
    assert_eq!(synced.code, 0, "{synced:?}");
    assert!(
        synced
            .stderr
            .contains("sync of trellis/web-manual requested"),
        "{synced:?}"
    );
    assert!(
        synced.stderr.contains("sync trellis/web-manual succeeded"),
        "{synced:?}"
    );
    assert!(
        synced
            .stdout
            .lines()
            .any(|l| l.starts_with("Deployment.apps") && l.contains("Synced")),
        "{synced:?}"
    );
    assert_eq!(
        image(&kubeconfig, "web-manual"),
        "registry.example.com/storefront/web:1.8.0"
    );

    // A commit in the example repository changes the image; after a
    // refresh the application is OutOfSync and the diff shows the change.
    let repo = up.data.join("repos/infrastructure");
    let manifest = repo.join("services/web/staging/deployment.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("web:1.8.0", "web:1.9.0")).unwrap();
    git_in(&repo, &["commit", "--quiet", "-am", "web 1.9.0"]);
    let head = git_in(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    let refreshed = env.run(&["get", "web-manual", "--refresh"]);
    assert_eq!(refreshed.code, 0, "{refreshed:?}");
    assert!(
        refreshed
            .stdout
            .contains(&format!("OutOfSync to {}", &head[..7])),
        "{refreshed:?}"
    );
    let diff = env.run(&["diff", "web-manual"]);
    assert_eq!(diff.code, 1, "{diff:?}");
    assert!(
        diff.stdout
            .lines()
            .any(|l| l.starts_with('-') && l.contains("web:1.8.0")),
        "{diff:?}"
    );
    assert!(
        diff.stdout
            .lines()
            .any(|l| l.starts_with('+') && l.contains("web:1.9.0")),
        "{diff:?}"
    );

    let synced = env.run(&["sync", "web-manual", "--prune", "--timeout", "60s"]);
    assert_eq!(synced.code, 0, "{synced:?}");
    assert!(
        synced
            .stderr
            .contains(&format!("succeeded at {}", &head[..7])),
        "{synced:?}"
    );
    assert_eq!(
        image(&kubeconfig, "web-manual"),
        "registry.example.com/storefront/web:1.9.0"
    );
    let clean = env.run(&["diff", "web-manual"]);
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""), "{clean:?}");

    let history: Value =
        serde_json::from_str(&env.run(&["history", "web-manual", "-o", "json"]).stdout).unwrap();
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{history:#}");
    assert_eq!(entries[0]["id"], 1);
    assert_eq!(entries[0]["revision"], head.as_str());
    assert_ne!(entries[1]["revision"], head.as_str());

    // rollback without an id goes to the entry before the newest.
    let rolled = env.run(&["rollback", "web-manual", "--timeout", "60s"]);
    assert_eq!(rolled.code, 0, "{rolled:?}");
    assert!(
        rolled
            .stderr
            .contains("rollback of trellis/web-manual to history entry 0"),
        "{rolled:?}"
    );
    assert!(
        rolled
            .stderr
            .contains("rollback trellis/web-manual succeeded"),
        "{rolled:?}"
    );
    let history: Value =
        serde_json::from_str(&env.run(&["history", "web-manual", "-o", "json"]).stdout).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 3, "{history:#}");
    // The rollback deployed the first entry's commit: the old image is live.
    assert_eq!(
        image(&kubeconfig, "web-manual"),
        "registry.example.com/storefront/web:1.8.0"
    );
    assert_eq!(
        history[0]["revision"], entries[1]["revision"],
        "{history:#}"
    );
    let no_entry = env.run(&["rollback", "web-manual", "42"]);
    assert_eq!(no_entry.code, 2, "{no_entry:?}");
    assert!(
        no_entry.stderr.contains("has no history entry 42"),
        "{no_entry:?}"
    );
    let waited = env.run(&["wait", "web-manual", "--health", "--timeout", "60s"]);
    assert_eq!(waited.code, 0, "{waited:?}");

    // A pipeline passes the server and a token in the environment, with
    // nothing saved.
    let pipeline = Env::new();
    let from_env = run_with(
        &pipeline,
        &[
            ("TRELLIS_SERVER", url.as_str()),
            ("TRELLIS_TOKEN", token.as_str()),
        ],
        &["get", "web-manual", "-o", "yaml"],
    );
    assert_eq!(from_env.code, 0, "{from_env:?}");
    assert!(from_env.stdout.contains("name: web-manual"), "{from_env:?}");
    assert!(!login_file(&pipeline).exists());

    // A token that may only read is refused a sync.
    let reader = create_token(up.port, &token, "read");
    let read_only = ["--server", url.as_str(), "--token", reader.as_str()];
    let listed = env.run(&[&read_only[..], &["list", "-o", "name"]].concat());
    assert_eq!(listed.stdout.lines().count(), 15, "{listed:?}");
    let denied = env.run(&[&read_only[..], &["sync", "web-manual"]].concat());
    assert_eq!(denied.code, 3, "{denied:?}");
    assert!(
        denied.stderr.contains("error: permission denied: "),
        "{denied:?}"
    );

    // Behind TLS: the server's certificate is checked, against the system's
    // authorities or those of --server-ca.
    let https = format!("https://localhost:{}", tls_proxy(up.port));
    let ca = env.home().join("ca.pem");
    std::fs::write(&ca, TEST_CA).unwrap();
    let trusted = env.run(&[
        "--server",
        &https,
        "--server-ca",
        ca.to_str().unwrap(),
        "--token",
        &token,
        "list",
        "-o",
        "name",
    ]);
    assert_eq!(trusted.code, 0, "{trusted:?}");
    assert_eq!(trusted.stdout.lines().count(), 15, "{trusted:?}");
    let untrusted = env.run(&["--server", &https, "--token", &token, "list"]);
    assert_eq!(untrusted.code, 3, "{untrusted:?}");
    assert!(
        untrusted
            .stderr
            .contains(&format!("cannot connect to {https}")),
        "{untrusted:?}"
    );
    assert!(untrusted.stderr.contains("certificate"), "{untrusted:?}");

    // logout forgets the login and revokes its token.
    let out = env.run(&["logout"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!login_file(&env).exists());
    let after = env.run(&["list"]);
    assert_eq!(after.code, 2, "{after:?}");
    assert!(after.stderr.contains("not logged in"), "{after:?}");
    let revoked = env.run(&["--server", &url, "--token", &token, "list"]);
    assert_eq!(revoked.code, 3, "{revoked:?}");
    assert!(revoked.stderr.contains("not logged in"), "{revoked:?}");
}
