use crate::support::{Env, INFRA_URL, infra_repo, map_to, root_app};

/// A pull request against the example repository: web-staging gets a new
/// image, billing-production's secret-bearing config changes, and a new
/// service appears in staging.
fn repo_with_change() -> (trellis_testkit::GitRepo, String, String) {
    let repo = infra_repo();
    let base = repo.head();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let deployment = repo.path().join("services/web/staging/deployment.yaml");
    let text = std::fs::read_to_string(&deployment)
        .unwrap()
        .replace("web:1.8.0", "web:1.9.0");
    repo.write("services/web/staging/deployment.yaml", &text);
    repo.write(
        "services/billing/production/config/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-db\nstringData:\n  password: hunter2\n",
    );
    let app = std::fs::read_to_string(repo.path().join("apps/staging/web.yaml"))
        .unwrap()
        .replace("web-staging", "search-staging");
    repo.write("apps/staging/search.yaml", &app);
    let head = repo.commit_all("web 1.9.0, billing secret, search service");
    repo.git(&["checkout", "-q", "main"]);
    (repo, base, head)
}

#[test]
fn preview_reports_added_and_changed_applications_with_diffs() {
    let (repo, _, _) = repo_with_change();
    let run = Env::new().run_examples(&[
        "preview",
        &root_app(&repo),
        "--base",
        "main",
        "--head",
        "feature",
        "--repo-map",
        &map_to(&repo.url()),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let out = &run.stdout;
    assert!(
        out.starts_with("1 added, 0 removed, 3 changed, 11 unchanged applications\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "=== Application trellis/web-staging (changed)\n  changed Deployment.apps web\n"
        ),
        "{out}"
    );
    assert!(out.contains("-        image: registry.example.com/storefront/web:1.8.0\n+        image: registry.example.com/storefront/web:1.9.0\n"), "{out}");
    assert!(
        out.contains("=== Application trellis/search-staging (added)"),
        "{out}"
    );
    // staging gained an Application; billing-production gained a Secret, masked.
    assert!(out.contains("=== Application trellis/staging (changed)\n  added Application.argoproj.io trellis/search-staging\n"), "{out}");
    assert!(out.contains("  added Secret billing-db\n"), "{out}");
    assert!(!out.contains("hunter2"), "secret leaked: {out}");
}

#[test]
fn preview_as_markdown_and_json() {
    let (repo, base, head) = repo_with_change();
    let env = Env::new();
    let args = |format: &'static str| {
        vec![
            "preview".to_string(),
            root_app(&repo),
            "--base".into(),
            base.clone(),
            "--head".into(),
            head.clone(),
            "--repo-map".into(),
            map_to(&repo.url()),
            "-o".into(),
            format.into(),
        ]
    };
    let md_args = args("markdown");
    let md = env.run_examples(&md_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(md.code, 1, "{md:?}");
    assert!(
        md.stdout
            .contains("| trellis/web-staging | changed | +0 −0 ~1 |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("<details><summary>trellis/web-staging (changed)</summary>"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("```diff\n"), "{}", md.stdout);
    let json_args = args("json");
    let json = env.run_examples(&json_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(json.code, 1, "{json:?}");
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["unchanged"], 11);
    let apps: Vec<&str> = report["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert_eq!(
        apps,
        [
            "trellis/billing-production",
            "trellis/search-staging",
            "trellis/staging",
            "trellis/web-staging"
        ]
    );
}

#[test]
fn preview_of_identical_revisions_is_clean() {
    let (repo, base, _) = repo_with_change();
    let run = Env::new().run_examples(&[
        "preview",
        &root_app(&repo),
        "--base",
        &base,
        "--head",
        "main",
        "--repo-map",
        &map_to(&repo.url()),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("0 added, 0 removed, 0 changed, 14 unchanged applications"),
        "{run:?}"
    );
}

#[test]
fn preview_fails_when_the_head_breaks_a_render() {
    let repo = infra_repo();
    repo.git(&["checkout", "-q", "-b", "broken"]);
    repo.write("services/billing/staging/deployment.yaml", "kind: [\n");
    repo.commit_all("oops");
    repo.git(&["checkout", "-q", "main"]);
    let run = Env::new().run_examples(&[
        "preview",
        &root_app(&repo),
        "--base",
        "main",
        "--head",
        "broken",
        "--repo-map",
        &map_to(&repo.url()),
        "--repo",
        INFRA_URL,
    ]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("error: application trellis/billing-staging at head broken: services/billing/staging/deployment.yaml:"), "{run:?}");
}

#[test]
fn preview_refuses_a_repository_mapped_to_a_plain_directory() {
    let location = crate::support::examples_dir();
    let root = location.join("bootstrap/root.yaml");
    let run = Env::new().run_examples(&[
        "preview",
        root.to_str().unwrap(),
        "--base",
        "main",
        "--head",
        "feature",
        "--repo-map",
        &map_to(location.to_str().unwrap()),
    ]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .contains("mapped to a plain directory, which has no revisions"),
        "{run:?}"
    );
}
