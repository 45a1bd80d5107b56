use trellis_testkit::GitRepo;

use crate::support::{Env, INFRA_URL, app_yaml, examples_dir, infra_repo, map_to, root_app};

#[test]
fn tree_of_the_example_repository() {
    let repo = infra_repo();
    let commit = repo.head();
    let run =
        Env::new().run_examples(&["tree", &root_app(&repo), "--repo-map", &map_to(&repo.url())]);
    assert_eq!(run.code, 0, "{run:?}");
    let short = &commit[..7];
    let expected_lines = [
        format!("trellis/root  {INFRA_URL} apps @ {short}  5 Application"),
        format!(
            "├── trellis/platform  platform @ {short}  1 ClusterRole, 1 ClusterRoleBinding, 4 Namespace, 1 ServiceAccount"
        ),
        format!(
            "│   ├── trellis/billing-production  services/billing/production @ {short}  1 ConfigMap, 1 Deployment, 1 Job, 1 Service, 1 ServiceAccount"
        ),
        format!(
            "    └── trellis/web-staging  services/web/staging @ {short}  1 ConfigMap, 1 Deployment, 1 Ingress, 1 Service"
        ),
    ];
    for line in &expected_lines {
        assert!(
            run.stdout.contains(line.as_str()),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.ends_with("\n14 applications, 50 resources\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn tree_over_a_plain_directory_as_the_readme_runs_it() {
    // The README's command: the examples folder of a checkout, no git repo of its own.
    let location = examples_dir();
    let root = location.join("bootstrap/root.yaml");
    let run = Env::new().run(&[
        "tree",
        "examples/infrastructure/bootstrap/root.yaml",
        "--config",
        "examples/trellis.yaml",
    ]);
    assert!(root.is_file());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("apps @ local  5 Application"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("14 applications"), "{}", run.stdout);
}

#[test]
fn a_failing_application_is_shown_and_the_others_still_render() {
    let repo = infra_repo();
    repo.write(
        "services/web/staging/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {a: b\n",
    );
    repo.commit_all("break web-staging");
    let run =
        Env::new().run_examples(&["tree", &root_app(&repo), "--repo-map", &map_to(&repo.url())]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("trellis/web-staging"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("ERROR: services/web/staging/deployment.yaml:5:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("trellis/billing-staging"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("14 applications, 46 resources, 1 failed"),
        "{}",
        run.stdout
    );
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{run:?}");
    assert!(
        errors[0].starts_with(
            "error: application trellis/web-staging: services/web/staging/deployment.yaml:5:"
        ),
        "{run:?}"
    );
}

#[test]
fn cycles_are_detected_and_named() {
    let repo = GitRepo::new();
    let url = repo.url();
    repo.write("a/app.yaml", &app_yaml("b", &url, "b", "main"));
    repo.write("b/app.yaml", &app_yaml("a", &url, "a", "main"));
    repo.commit_all("cycle");
    let env = Env::new();
    let root = env.home().join("root.yaml");
    std::fs::write(&root, app_yaml("a", &url, "a", "main")).unwrap();
    let run = env.run(&["tree", root.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("app-of-apps cycle: trellis/a → trellis/b → trellis/a"),
        "{run:?}"
    );
}

#[test]
fn depth_limit_stops_runaway_trees() {
    let repo = GitRepo::new();
    let url = repo.url();
    for level in 0..5 {
        repo.write(
            &format!("l{level}/app.yaml"),
            &app_yaml(
                &format!("app{}", level + 1),
                &url,
                &format!("l{}", level + 1),
                "main",
            ),
        );
    }
    repo.write(
        "l5/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leaf\n",
    );
    repo.commit_all("deep");
    let env = Env::new();
    let root = env.home().join("root.yaml");
    std::fs::write(&root, app_yaml("app0", &url, "l0", "main")).unwrap();
    let deep_enough = env.run(&["tree", root.to_str().unwrap()]);
    assert_eq!(deep_enough.code, 0, "{deep_enough:?}");
    let limited = env.run(&["tree", root.to_str().unwrap(), "--max-depth", "3"]);
    assert_eq!(limited.code, 3, "{limited:?}");
    assert!(
        limited
            .stderr
            .contains("application trellis/app4: app-of-apps depth limit of 3 reached"),
        "{limited:?}"
    );
}

#[test]
fn tree_json_carries_sources_and_children() {
    let repo = infra_repo();
    let run = Env::new().run_examples(&[
        "tree",
        &root_app(&repo),
        "-o",
        "json",
        "--repo-map",
        &map_to(&repo.url()),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let tree: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(tree[0]["name"], "root");
    assert_eq!(tree[0]["sources"][0]["commit"], repo.head());
    assert_eq!(tree[0]["children"].as_array().unwrap().len(), 5);
}

#[test]
fn a_fetch_happens_once_per_repository_not_per_application() {
    // Ten applications name one git repository: one clone into the cache, and a
    // second run over the warm cache needs no fetch at all.
    let repo = infra_repo();
    let env = Env::new();
    let first = env.run_examples(&[
        "tree",
        &root_app(&repo),
        "--repo-map",
        &map_to(&repo.url()),
        "-vv",
    ]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stderr.contains("fetches=1 "), "{first:?}");
    let second = env.run_examples(&[
        "tree",
        &root_app(&repo),
        "--repo-map",
        &map_to(&repo.url()),
        "-vv",
    ]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(second.stderr.contains("fetches=0 "), "{second:?}");
}

#[test]
fn repository_map_from_a_config_file_with_paths_relative_to_it() {
    let repo = infra_repo();
    let env = Env::new();
    let config_dir = env.home().join("conf");
    std::fs::create_dir_all(&config_dir).unwrap();
    // A relative location resolves against the config file's folder.
    let relative = pathdiff(repo.path(), &config_dir);
    std::fs::write(
        config_dir.join("trellis.yaml"),
        format!("repoMap:\n  {INFRA_URL}: {relative}\ncacheDir: cache\n"),
    )
    .unwrap();
    let config = config_dir.join("trellis.yaml");
    let run = env.run_examples(&[
        "tree",
        &root_app(&repo),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("apps @ {}", &repo.head()[..7])),
        "{run:?}"
    );
    assert!(
        config_dir.join("cache").is_dir(),
        "cacheDir relative to the config file"
    );

    std::fs::write(&config, "repomap: {}\n").unwrap();
    let bad = env.run(&[
        "tree",
        &root_app(&repo),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(bad.code, 3, "{bad:?}");
    assert!(bad.stderr.contains("repomap"), "{bad:?}");
}

/// `target` relative to `base` (both absolute), with `..` as needed.
fn pathdiff(target: &std::path::Path, base: &std::path::Path) -> String {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); b.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[test]
fn unknown_fields_are_warnings_naming_their_path() {
    let repo = GitRepo::new();
    let url = repo.url();
    let child = app_yaml("child", &url, "svc", "main").replace(
        "  project: default\n",
        "  project: default\n  syncPolicyy: {}\n",
    );
    repo.write("apps/child.yaml", &child);
    repo.write(
        "svc/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    repo.commit_all("typo");
    let env = Env::new();
    let root = env.home().join("root.yaml");
    std::fs::write(&root, app_yaml("root", &url, "apps", "main")).unwrap();
    let run = env.run(&["tree", root.to_str().unwrap()]);
    assert_eq!(run.code, 0, "a warning is not a failure: {run:?}");
    assert!(
        run.stderr.contains("warning: application trellis/child: apps/child.yaml:1 (document 1): unknown field spec.syncPolicyy"),
        "{run:?}"
    );
}
