//! A server against the embedded cluster, and a small HTTP/1.1 client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trellis_kube::{ApplyOptions, Cluster, ConnectOptions};
use trellis_localcluster::{RunningCluster, ServeOptions, start};
use trellis_model::ResourceKey;
use trellis_server::accounts::{self, NewToken};
use trellis_server::{Server, ServerOptions};
use trellis_testkit::GitRepo;

pub const NS: &str = "trellis";
pub const PASSWORD: &str = "correct horse battery";

/// The tokens every environment has.
pub struct Tokens {
    /// An admin of every project.
    pub admin: String,
    /// Read-only, every project.
    pub read: String,
    /// Sync, project `shop` only.
    pub shop_sync: String,
    /// Read-only, project `other` only.
    pub other_read: String,
    /// The `ci` role of project `shop`.
    pub shop_ci: String,
}

/// An embedded cluster with Trellis's CRDs, projects `default`, `shop`
/// and `other`, an admin password and tokens, and a server on a free port.
pub struct Env {
    pub rt: tokio::runtime::Runtime,
    /// Kept so the cluster runs as long as the environment.
    _cluster: Option<RunningCluster>,
    pub client: Cluster,
    pub repo: GitRepo,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub tokens: Tokens,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub served: Option<tokio::task::JoinHandle<trellis_server::Result<()>>>,
}

fn project(name: &str, roles: Value) -> Value {
    json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "roles": roles,
        },
    })
}

impl Env {
    pub fn new() -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let cluster = rt.block_on(start(ServeOptions::default())).unwrap();
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let client = rt
            .block_on(Cluster::connect(&ConnectOptions {
                kubeconfig: Some(kubeconfig),
                context: None,
            }))
            .unwrap();
        let apply = |o: &Value| {
            rt.block_on(client.apply(
                o,
                &ApplyOptions {
                    field_manager: "test".into(),
                    force: true,
                    ..ApplyOptions::default()
                },
            ))
            .unwrap()
        };
        for crd in trellis_model::crd::crds() {
            apply(&crd);
        }
        apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}));
        apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}}));
        apply(&project("default", json!([])));
        apply(&project(
            "shop",
            json!([{
                "name": "ci",
                "policies": [
                    "p, proj:shop:ci, applications, get, shop/*, allow",
                    "p, proj:shop:ci, applications, sync, shop/web*, allow",
                    "p, proj:shop:ci, applications, sync, shop/web-locked, deny",
                ],
            }]),
        ));
        apply(&project("other", json!([])));
        rt.block_on(accounts::set_admin_password(&client, NS, PASSWORD))
            .unwrap();
        let token = |role: &str, project: Option<&str>| {
            rt.block_on(accounts::create_token(
                &client,
                NS,
                &NewToken {
                    name: format!("{role}-{}", project.unwrap_or("all")),
                    role: role.into(),
                    project: project.map(str::to_string),
                    expires_in: None,
                },
            ))
            .unwrap()
            .1
        };
        let tokens = Tokens {
            admin: token("admin", None),
            read: token("read", None),
            shop_sync: token("sync", Some("shop")),
            other_read: token("read", Some("other")),
            shop_ci: token("proj:shop:ci", None),
        };
        let mut env = Env {
            rt,
            _cluster: Some(cluster),
            client,
            repo: GitRepo::new(),
            dir,
            port: 0,
            tokens,
            stop: None,
            served: None,
        };
        env.start_server(ServerOptions::new(NS));
        env
    }

    /// Starts the server (again) with these options.
    pub fn start_server(&mut self, options: ServerOptions) {
        let sources = trellis_source::Sources::new(trellis_source::SourceConfig::new(
            self.dir.path().join("cache"),
        ))
        .unwrap();
        let renderer = trellis_render::AppRenderer::new(sources);
        let server = Server::new(options, self.client.clone(), renderer).unwrap();
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        self.port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(stop);
        self.served = Some(self.rt.spawn(server.serve_on(listener, async move {
            let _ = stopped.await;
        })));
        self.wait("the server to be ready", |env| {
            env.request("GET", "/readyz", &[], "").status == 200
        });
    }

    /// Stops the server; waits for it to finish.
    pub fn stop_server(&mut self) -> Duration {
        let started = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            self.rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), served).await })
                .expect("the server stops")
                .unwrap()
                .unwrap();
        }
        started.elapsed()
    }

    pub fn apply(&self, object: &Value) -> Value {
        let options = ApplyOptions {
            field_manager: "test".into(),
            force: true,
            ..ApplyOptions::default()
        };
        self.rt
            .block_on(self.client.apply(object, &options))
            .unwrap()
    }

    pub fn get(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.rt
            .block_on(self.client.get(&key(group, kind, namespace, name)))
            .unwrap()
    }

    /// The stored Application `trellis/<name>`.
    pub fn app(&self, name: &str) -> Option<Value> {
        self.get("trellis.dev", "Application", NS, name)
    }

    /// Writes an Application's status (as the controller would).
    pub fn set_status(&self, name: &str, status: Value) {
        self.rt
            .block_on(self.client.merge_patch(
                &key("trellis.dev", "Application", NS, name),
                &json!({"status": status}),
                true,
            ))
            .unwrap()
            .unwrap();
    }

    /// Waits until `check` holds, every 50 ms, for at most 20 s.
    pub fn wait(&self, what: &str, mut check: impl FnMut(&Env) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the server's list shows `name` with `check` true of its
    /// summary.
    pub fn wait_listed(&self, name: &str, mut check: impl FnMut(&Value) -> bool) {
        self.wait(&format!("{name} in the list"), |env| {
            let list = env.as_admin("GET", "/api/v1/applications", "");
            list.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["name"] == name && check(a))
        });
    }

    /// A request with no credentials.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        http(self.port, method, path, headers, body)
    }

    /// A request with a bearer token.
    pub fn with_token(&self, token: &str, method: &str, path: &str, body: &str) -> Resp {
        let auth = format!("Bearer {token}");
        self.request(
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
    }

    /// A request as the admin token.
    pub fn as_admin(&self, method: &str, path: &str, body: &str) -> Resp {
        self.with_token(&self.tokens.admin, method, path, body)
    }

    /// Logs in; returns the cookie header value and the CSRF token.
    pub fn login(&self) -> (String, String) {
        let resp = self.request(
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            &json!({"username": "admin", "password": PASSWORD}).to_string(),
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
        let set = resp.header("set-cookie").unwrap().to_string();
        let cookie = set.split(';').next().unwrap().to_string();
        (
            cookie,
            resp.json()["csrfToken"].as_str().unwrap().to_string(),
        )
    }

    /// Creates an Application `trellis/<name>` of `project` directly in the
    /// cluster.
    pub fn create_app(&self, name: &str, project: &str, labels: Value) -> Value {
        self.apply(&app(name, project, labels, &self.repo.url()))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn key(group: &str, kind: &str, namespace: &str, name: &str) -> ResourceKey {
    ResourceKey {
        group: group.into(),
        kind: kind.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

/// An Application of the test repository's `app` directory.
pub fn app(name: &str, project: &str, labels: Value, repo: &str) -> Value {
    json!({
        "apiVersion": "trellis.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "project": project,
            "source": {"repoURL": repo, "path": "app", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
        },
    })
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an error answer: the status, the JSON shape, and that the
    /// message contains `words`.
    pub fn assert_error(&self, status: u16, words: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let body = self.json();
        assert_eq!(body["code"], status, "{}", self.body);
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(words),
            "'{message}' does not contain '{words}'"
        );
    }
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

fn send(stream: &mut TcpStream, method: &str, path: &str, headers: &[(&str, &str)], body: &str) {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
}

/// A response head: status, headers, and where the body starts.
type Head = (u16, Vec<(String, String)>, usize);

fn split_head(raw: &[u8]) -> Option<Head> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some((status, headers, end + 4))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        let end = (start + size).min(body.len());
        out.extend_from_slice(&body[start..end]);
        body = &body[(end + 2).min(body.len())..];
    }
}

/// One HTTP/1.1 request over a fresh connection.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut stream = connect(port);
    send(&mut stream, method, path, headers, body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let (status, headers, start) =
        split_head(&raw).unwrap_or_else(|| panic!("no HTTP answer: {raw:?}"));
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(&raw[start..])
    } else {
        raw[start..].to_vec()
    };
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

/// An open event stream.
pub struct Events {
    stream: TcpStream,
    pub status: u16,
    pub text: String,
}

impl Events {
    pub fn open(port: u16, path: &str, token: &str) -> Events {
        let mut stream = connect(port);
        let auth = format!("Bearer {token}");
        send(&mut stream, "GET", path, &[("Authorization", &auth)], "");
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let (status, start) = loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the stream closed before its head: {raw:?}");
            raw.extend_from_slice(&buf[..n]);
            if let Some((status, _, start)) = split_head(&raw) {
                break (status, start);
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Events {
            stream,
            status,
            text: String::from_utf8_lossy(&raw[start..]).to_string(),
        }
    }

    /// Reads until the text received so far satisfies `check`, for at most
    /// 20 s; whether the stream is still open.
    pub fn until(&mut self, what: &str, check: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 4096];
        while !check(&self.text) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; got:\n{}",
                self.text
            );
            match self.stream.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("reading the stream: {e}"),
            }
        }
        true
    }

    /// Reads until the server closes the stream, for at most 20 s.
    pub fn until_closed(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 4096];
        loop {
            assert!(Instant::now() < deadline, "the stream stays open");
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => self.text.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    }
}
