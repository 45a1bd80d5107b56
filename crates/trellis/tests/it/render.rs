use trellis_testkit::GitRepo;

use crate::support::{Env, app_yaml, infra_repo, map_to, root_app};

#[test]
fn renders_an_application_from_a_git_repository() {
    let repo = infra_repo();
    let env = Env::new();
    let app = repo.path().join("apps/staging/web.yaml");
    let run = env.run(&[
        "render",
        app.to_str().unwrap(),
        "--repo-map",
        &map_to(&repo.url()),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    // Three files, four objects, in path order, each headed by its source file.
    assert_eq!(
        run.stdout.matches("\n---\n").count() + 1,
        4,
        "{}",
        run.stdout
    );
    let deployment = run
        .stdout
        .find("# Source: services/web/staging/deployment.yaml")
        .unwrap();
    let ingress = run
        .stdout
        .find("# Source: services/web/staging/ingress.yaml")
        .unwrap();
    let service = run
        .stdout
        .find("# Source: services/web/staging/service.yaml")
        .unwrap();
    assert!(deployment < ingress && ingress < service, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("image: registry.example.com/storefront/web:1.8.0")
    );
    // YAML 1.1 strings that look like booleans stay strings.
    assert!(
        run.stdout.contains("FEATURE_NEW_CHECKOUT: \"true\""),
        "{}",
        run.stdout
    );
}

#[test]
fn json_output_is_a_list() {
    let repo = infra_repo();
    let app = repo.path().join("apps/staging/billing.yaml");
    let run = Env::new().run_examples(&[
        "render",
        app.to_str().unwrap(),
        "-o",
        "json",
        "--repo-map",
        &map_to(&repo.url()),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    // recurse: true picks up config/ as well, sorted by path.
    assert_eq!(
        kinds,
        [
            "Job",
            "ConfigMap",
            "Deployment",
            "ServiceAccount",
            "Service"
        ]
    );
}

#[test]
fn renders_ad_hoc_repo_path_and_revision() {
    let repo = GitRepo::new();
    repo.write(
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n",
    );
    repo.commit_all("one");
    repo.git(&["tag", "v1"]);
    repo.write(
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n",
    );
    repo.commit_all("two");
    let env = Env::new();
    let url = repo.url();
    let at_tag = env.run(&[
        "render",
        "--repo",
        &url,
        "--path",
        "deploy",
        "--revision",
        "v1",
    ]);
    assert_eq!(at_tag.code, 0, "{at_tag:?}");
    assert!(at_tag.stdout.contains("name: first"), "{at_tag:?}");
    let at_head = env.run(&["render", "--repo", &url, "--path", "deploy"]);
    assert!(at_head.stdout.contains("name: second"), "{at_head:?}");
}

#[test]
fn recursive_render_marks_each_manifest_with_its_application() {
    let repo = infra_repo();
    let run = Env::new().run_examples(&[
        "render",
        "--recursive",
        &root_app(&repo),
        "--repo-map",
        &map_to(&repo.url()),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    for app in [
        "trellis/root",
        "trellis/platform",
        "trellis/staging",
        "trellis/web-production",
        "trellis/billing-staging",
    ] {
        assert!(
            run.stdout.contains(&format!("# Application: {app}\n")),
            "{app}: {}",
            run.stdout
        );
    }
    let web = run
        .stdout
        .find("# Application: trellis/web-staging\n# Source: services/web/staging/deployment.yaml")
        .unwrap();
    assert!(web > 0);
}

#[test]
fn malformed_yaml_fails_with_file_and_line_and_prints_nothing() {
    let repo = GitRepo::new();
    repo.write(
        "app/good.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    );
    repo.write(
        "app/bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n",
    );
    repo.commit_all("broken");
    let env = Env::new();
    let file = env.home().join("app.yaml");
    std::fs::write(&file, app_yaml("broken", &repo.url(), "app", "main")).unwrap();
    let run = env.run(&["render", file.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.stdout, "", "no partial output");
    assert!(run.stderr.contains("application trellis/broken"), "{run:?}");
    assert!(run.stderr.contains("app/bad.yaml:4:"), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one clear line: {run:?}");
}

#[test]
fn missing_path_unknown_revision_and_unreachable_repo_fail_with_exit_3() {
    let repo = GitRepo::new();
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    );
    repo.commit_all("one");
    let env = Env::new();
    let cases = [
        (
            app_yaml("nopath", &repo.url(), "does/not/exist", "main"),
            "does/not/exist",
        ),
        (
            app_yaml("norev", &repo.url(), "app", "no-such-branch"),
            "no-such-branch",
        ),
        (
            app_yaml(
                "norepo",
                "file:///nonexistent/trellis/repo.git",
                "app",
                "main",
            ),
            "/nonexistent/trellis/repo",
        ),
    ];
    for (yaml, needle) in cases {
        let file = env.home().join("app.yaml");
        std::fs::write(&file, yaml).unwrap();
        let run = env.run(&["render", file.to_str().unwrap()]);
        assert_eq!(run.code, 3, "{run:?}");
        assert_eq!(run.stdout, "");
        assert!(run.stderr.contains(needle), "{needle}: {run:?}");
        assert!(
            run.stderr.starts_with("error: application trellis/"),
            "{run:?}"
        );
    }
}

#[test]
fn paths_escaping_the_repository_are_rejected() {
    let repo = GitRepo::new();
    repo.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    );
    repo.symlink("app/leak.yaml", "../../../../../../etc/passwd");
    repo.commit_all("escape");
    let env = Env::new();
    for (name, path) in [("dotdot", "../outside"), ("symlink", "app")] {
        let file = env.home().join("app.yaml");
        std::fs::write(&file, app_yaml(name, &repo.url(), path, "main")).unwrap();
        let run = env.run(&["render", file.to_str().unwrap()]);
        assert_eq!(run.code, 3, "{name}: {run:?}");
        assert_eq!(run.stdout, "", "{name}");
        assert!(
            !run.stderr.contains("root:x:0:0"),
            "{name} read outside: {run:?}"
        );
        assert!(
            run.stderr.contains("escapes the repository"),
            "{name}: {run:?}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    assert_eq!(env.run(&["render"]).code, 2);
    assert_eq!(env.run(&["render", "x.yaml", "-o", "toml"]).code, 2);
    assert_eq!(env.run(&["no-such-command"]).code, 2);
    let run = env.run(&["render", "x.yaml", "--repo-map", "no-equals-sign"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn a_file_without_applications_is_an_error() {
    let env = Env::new();
    let file = env.home().join("cm.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let run = env.run(&["render", file.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("no Application found"), "{run:?}");
}
