//! `trellis up`: the whole product on one machine — an embedded cluster,
//! the controller (Argo CD compatible) and the bundled example repositories
//! as local git repositories, kept in sync until interrupted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use include_dir::{Dir, include_dir};
use serde_json::Value;
use trellis_controller::{Controller, ControllerOptions};
use trellis_engine::EngineOptions;
use trellis_kube::{ApplyOptions, Cluster, ConnectOptions};
use trellis_localcluster::ServeOptions;
use trellis_model::parse_file;
use trellis_render::AppRenderer;
use trellis_server::{Server, ServerOptions};
use trellis_source::{RepoMap, SourceConfig, Sources};

use crate::Outcome;
use crate::cli::{GlobalArgs, UpArgs};
use crate::kubeclient::runtime;

/// The example repositories, built into the binary so `trellis up` works
/// from any directory.
static EXAMPLES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../examples");

/// The namespace of the controller and of the example Applications.
const NAMESPACE: &str = "trellis";

/// Runs everything until Ctrl-C (or, with `--exit-when-synced`, until every
/// application is Synced and Healthy).
pub fn run(args: &UpArgs, global: &GlobalArgs) -> Result<Outcome> {
    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => default_data_dir(),
    };
    std::fs::create_dir_all(&data)
        .with_context(|| format!("creating the data directory {}", data.display()))?;
    let data = data
        .canonicalize()
        .with_context(|| format!("reading {}", data.display()))?;
    eprintln!("trellis up: data in {}", data.display());
    let repos = prepare_repositories(&data.join("repos"))?;
    let rt = runtime()?;
    rt.block_on(async move {
        let kubeconfig = data.join("kubeconfig");
        let cluster = trellis_localcluster::start(ServeOptions {
            data: Some(data.join("cluster.db")),
            port: args.api_port.unwrap_or(0),
            kubeconfig_path: Some(kubeconfig.clone()),
            ..ServeOptions::default()
        })
        .await
        .context("starting the embedded cluster")?;
        eprintln!(
            "cluster: {} (kubeconfig: {})",
            cluster.url(),
            kubeconfig.display()
        );
        let client = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig.clone()),
            context: None,
        })
        .await
        .context("connecting to the embedded cluster")?;
        install(&client).await?;

        let mut source = SourceConfig::from_env(match &global.cache_dir {
            Some(dir) => dir.clone(),
            None => data.join("cache"),
        });
        let mut map = RepoMap::new();
        for (url, path) in &repos {
            map.insert(url, &path.to_string_lossy());
        }
        source.repo_map = map;
        let mut options = ControllerOptions::new(NAMESPACE, source);
        options.argocd_compat = true;
        options.refresh_interval = Duration::from_secs(10);
        options.refresh_jitter = Duration::from_secs(2);
        options.self_heal_delay = Duration::from_secs(2);
        // Metrics and webhooks are served by the web server, on one port.
        options.listen = None;
        options.engine = EngineOptions {
            poll_interval: Duration::from_millis(500),
            ..EngineOptions::default()
        };
        let renderer = AppRenderer::new(Sources::new(options.source.clone())?);
        let controller = Controller::new(client.clone(), options)?;
        let hooks = controller.hooks_router();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(controller.run(async {
            let _ = stop_rx.await;
        }));
        crate::commands::server::print_new_password(&client, NAMESPACE).await?;
        let mut server_options = ServerOptions::new(NAMESPACE);
        server_options.argocd_compat = true;
        let server = Server::new(server_options, client.clone(), renderer)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;
        let web = listener.local_addr()?;
        let (web_stop_tx, web_stop_rx) = tokio::sync::oneshot::channel::<()>();
        let web_task = tokio::spawn(server.serve_on_with(listener, hooks, async {
            let _ = web_stop_rx.await;
        }));
        eprintln!(
            "web: http://{web} (web UI, and the API under /api/v1; user admin; metrics and the git webhook too)"
        );
        eprintln!(
            "repositories: {} (commit there and watch it sync)",
            data.join("repos").display()
        );
        apply_root(&client).await?;

        let watch = progress(&client, args.timeout);
        let outcome = tokio::select! {
            result = watch => result?,
            () = crate::commands::controller::shutdown_signal() => {
                eprintln!("stopping");
                Outcome::Clean
            }
        };
        if outcome == Outcome::Clean && !args.exit_when_synced {
            eprintln!(
                "try: kubectl --kubeconfig {} get applications.argoproj.io -n {NAMESPACE}",
                kubeconfig.display()
            );
            eprintln!("running; Ctrl-C stops");
            crate::commands::controller::shutdown_signal().await;
            eprintln!("stopping");
        }
        let _ = web_stop_tx.send(());
        match web_task.await {
            Ok(result) => result?,
            Err(e) => bail!("the web server stopped: {e}"),
        }
        let _ = stop_tx.send(());
        match running.await {
            Ok(result) => result?,
            Err(e) => bail!("the controller stopped: {e}"),
        }
        cluster.shutdown().await.context("stopping the cluster")?;
        Ok(outcome)
    })
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("trellis")
}

/// Writes each example repository into `root` as a git repository with
/// one commit, unless it is already there (a second `up` keeps the user's
/// commits). Returns repository URL → local path.
fn prepare_repositories(root: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let config = EXAMPLES
        .get_file("trellis.yaml")
        .and_then(|f| f.contents_utf8())
        .context("the bundled examples lack trellis.yaml")?;
    let parsed = parse_file(config, "examples/trellis.yaml")?;
    let map = parsed
        .first()
        .and_then(|m| m.object.get("repoMap"))
        .and_then(Value::as_object)
        .context("examples/trellis.yaml has no repoMap")?;
    let mut out = BTreeMap::new();
    for (url, folder) in map {
        let folder = folder
            .as_str()
            .context("a repoMap location is not a string")?;
        let dir = root.join(folder);
        if !dir.join(".git").exists() {
            let source = EXAMPLES
                .get_dir(folder)
                .with_context(|| format!("the bundled examples lack {folder}"))?;
            write_dir(source, folder, &dir)?;
            git(&dir, &["init", "--quiet", "--initial-branch=main"])?;
            git(&dir, &["add", "--all"])?;
            git(
                &dir,
                &[
                    "-c",
                    "user.name=Trellis",
                    "-c",
                    "user.email=trellis@localhost",
                    "commit",
                    "--quiet",
                    "-m",
                    "Example repository",
                ],
            )?;
        }
        out.insert(url.clone(), dir);
    }
    // The fleet pins services to release tags: give each repository the
    // tags the example names, on its first commit, when missing.
    for (url, tag) in pinned_revisions()? {
        let Some(dir) = out.get(&url) else { continue };
        let exists = Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/tags/{tag}"),
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .status()
            .context("running git")?
            .success();
        if !exists {
            git(dir, &["tag", &tag])?;
        }
    }
    Ok(out)
}

/// (repository URL, tag) for each service revision the fleet's values
/// files pin to something other than a branch.
fn pinned_revisions() -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let Some(fleet) = EXAMPLES.get_dir("infrastructure/fleet") else {
        return Ok(out);
    };
    for file in fleet.files() {
        let name = file.path().to_string_lossy().to_string();
        if !name.ends_with(".yaml") {
            continue;
        }
        let Some(text) = file.contents_utf8() else {
            continue;
        };
        for manifest in parse_file(text, &name)? {
            let Some(services) = manifest.object.get("services").and_then(Value::as_array) else {
                continue;
            };
            for service in services {
                let url = service.get("repoURL").and_then(Value::as_str);
                let revision = service.get("targetRevision").and_then(Value::as_str);
                if let (Some(url), Some(revision)) = (url, revision)
                    && revision.starts_with('v')
                {
                    out.push((url.to_string(), revision.to_string()));
                }
            }
        }
    }
    Ok(out)
}

fn write_dir(source: &Dir<'_>, prefix: &str, target: &Path) -> Result<()> {
    for file in source.files() {
        let relative = file
            .path()
            .strip_prefix(prefix)
            .unwrap_or_else(|_| file.path());
        let path = target.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, file.contents())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    for dir in source.dirs() {
        write_dir(dir, prefix, target)?;
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .context("running git")?;
    if !status.success() {
        bail!("git {} failed in {}", args.join(" "), dir.display());
    }
    Ok(())
}

/// CRDs and the controller's namespace.
async fn install(client: &Cluster) -> Result<()> {
    let options = ApplyOptions {
        field_manager: "trellis-up".into(),
        force: true,
        ..ApplyOptions::default()
    };
    for crd in trellis_model::crd::crds() {
        client
            .apply(&crd, &options)
            .await
            .context("installing the CRDs")?;
    }
    let namespace = serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}
    });
    client
        .apply(&namespace, &options)
        .await
        .context("creating the namespace")?;
    Ok(())
}

async fn apply_root(client: &Cluster) -> Result<()> {
    let text = EXAMPLES
        .get_file("infrastructure/bootstrap/root.yaml")
        .and_then(|f| f.contents_utf8())
        .context("the bundled examples lack the root application")?;
    let options = ApplyOptions {
        field_manager: "trellis-up".into(),
        force: true,
        ..ApplyOptions::default()
    };
    for manifest in parse_file(text, "bootstrap/root.yaml")? {
        client
            .apply(&manifest.object, &options)
            .await
            .context("creating the root application")?;
    }
    Ok(())
}

/// Prints each application's sync and health as they change, until all
/// are Synced and Healthy (Clean) or the timeout passes (Failed).
async fn progress(client: &Cluster, timeout: Duration) -> Result<Outcome> {
    let started = Instant::now();
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    loop {
        let mut apps = Vec::new();
        for group in [trellis_model::ARGO_GROUP, trellis_model::TRELLIS_GROUP] {
            apps.extend(
                client
                    .list(group, "Application", NAMESPACE, None)
                    .await
                    .unwrap_or_default(),
            );
        }
        let mut ready = 0;
        for app in &apps {
            let name = app
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let sync = app
                .pointer("/status/sync/status")
                .and_then(Value::as_str)
                .unwrap_or("Unknown")
                .to_string();
            let health = app
                .pointer("/status/health/status")
                .and_then(Value::as_str)
                .unwrap_or("Unknown")
                .to_string();
            let running = app
                .pointer("/status/operationState/phase")
                .and_then(Value::as_str)
                == Some("Running");
            if sync == "Synced" && health == "Healthy" && !running {
                ready += 1;
            }
            let state = (sync.clone(), health.clone());
            if seen.get(&name) != Some(&state) {
                eprintln!("  {name:<28} {sync:<10} {health}");
                seen.insert(name, state);
            }
        }
        if apps.len() > 1 && ready == apps.len() {
            eprintln!(
                "all {} applications are Synced and Healthy ({:.1} s)",
                apps.len(),
                started.elapsed().as_secs_f64()
            );
            return Ok(Outcome::Clean);
        }
        if started.elapsed() > timeout {
            eprintln!(
                "error: {ready} of {} applications Synced and Healthy after {:?}",
                apps.len(),
                timeout
            );
            return Ok(Outcome::Failed);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
