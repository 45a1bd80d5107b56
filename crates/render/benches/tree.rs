//! App-of-apps rendering at scale: a generated tree of N plain-manifest
//! applications in one local repository.
//!
//! Measures (warm cache): `tree` expansion of the whole tree, and a preview
//! (both trees and their comparison) between two commits that change one
//! application. Size from `TRELLIS_BENCH_APPS` (default 20, a smoke run; the
//! figures in BENCHMARKS.md use 500). Run with
//! `TRELLIS_BENCH_APPS=500 cargo bench -p trellis-render --bench tree`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use trellis_model::{Application, parse_yaml_stream};
use trellis_render::AppRenderer;
use trellis_render::preview::compare;
use trellis_render::tree::{Root, TreeOptions, expand};
use trellis_source::{SourceConfig, Sources};
use trellis_testkit::GitRepo;

const URL: &str = "https://git.example.com/bench/infrastructure.git";

fn app(name: &str, path: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  namespace: trellis\nspec:\n  project: default\n  source:\n    repoURL: {URL}\n    targetRevision: main\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {name}\n"
    )
}

fn service(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - name: app\n          image: {image}\n          ports: [{{containerPort: 8080}}]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector: {{app: {name}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  LOG_LEVEL: info\n  REGION: eu-west-1\n"
    )
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let apps: usize = std::env::var("TRELLIS_BENCH_APPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let repo = GitRepo::new();
    for i in 0..apps {
        let name = format!("svc-{i:04}");
        repo.write(
            &format!("apps/{name}.yaml"),
            &app(&name, &format!("services/{name}")),
        );
        repo.write(
            &format!("services/{name}/manifests.yaml"),
            &service(&name, "registry.example.com/app:1.0.0"),
        );
    }
    let base = repo.commit_all("base");
    repo.write(
        "services/svc-0000/manifests.yaml",
        &service("svc-0000", "registry.example.com/app:1.1.0"),
    );
    let head = repo.commit_all("change one service");

    let cache = tempfile::tempdir().unwrap();
    let mut config = SourceConfig::new(cache.path().to_path_buf());
    config
        .repo_map
        .insert(URL, &repo.path().display().to_string());
    let sources = Sources::new(config).unwrap();
    let renderer = AppRenderer::new(sources.clone());
    let root_text = app("root", "apps");
    let root_manifest = parse_yaml_stream(&root_text, "root.yaml")
        .unwrap()
        .remove(0);
    let root = Root {
        app: Application::from_manifest(&root_manifest).unwrap().value,
        origin: None,
        warnings: Vec::new(),
    };
    let options = TreeOptions::default();

    // Cold: the first run clones into the cache.
    let cold = best_of(1, || {
        let tree = expand(&renderer, vec![root.clone()], &options);
        assert!(!tree[0].any_failed());
        assert_eq!(tree[0].children.len(), apps);
    });
    let warm = best_of(5, || {
        sources.refresh();
        let tree = expand(&renderer, vec![root.clone()], &options);
        assert!(!tree[0].any_failed());
    });
    let base_renderer = renderer.clone().with_revision_override(URL, &base);
    let head_renderer = renderer.clone().with_revision_override(URL, &head);
    let preview = best_of(5, || {
        let (b, h) = rayon::join(
            || expand(&base_renderer, vec![root.clone()], &options),
            || expand(&head_renderer, vec![root.clone()], &options),
        );
        let report = compare(&b, &h);
        assert_eq!(report.applications.len(), 1);
        assert_eq!(report.unchanged, apps);
    });
    let stats = sources.stats();
    println!("tree: {apps} applications, {} resources", apps * 3 + apps);
    println!(
        "  cold (clone + render)      {:>8.1} ms",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "  warm tree (best of 5)      {:>8.1} ms",
        warm.as_secs_f64() * 1e3
    );
    println!(
        "  warm preview (best of 5)   {:>8.1} ms",
        preview.as_secs_f64() * 1e3
    );
    println!(
        "  git network operations: {} fetches, {} ls-remotes",
        stats.fetches, stats.ls_remotes
    );
}
