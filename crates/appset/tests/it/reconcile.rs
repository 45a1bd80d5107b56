//! `reconcile` against the embedded cluster: creates, updates and deletes as
//! the sync policy allows, records status, and never touches Applications
//! when generation fails.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use trellis_appset::{AppSetError, FIELD_MANAGER, RESOURCES_FINALIZER};
use trellis_testkit::GitRepo;

use crate::support::{Env, NS};

const ARGO: &str = "argoproj.io";
const TRELLIS: &str = "trellis.dev";

/// A list set named `guestbook` with one Application per cluster name.
fn list_set(
    group: &str,
    clusters: &[&str],
    sync_policy: &str,
    extra_template_meta: &str,
) -> String {
    let elements: Vec<String> = clusters
        .iter()
        .map(|c| format!("{{cluster: {c}}}"))
        .collect();
    format!(
        r#"
apiVersion: {group}/v1alpha1
kind: ApplicationSet
metadata: {{name: guestbook}}
spec:
  syncPolicy: {sync_policy}
  generators:
  - list:
      elements: [{elements}]
  template:
    metadata:
      name: '{{{{cluster}}}}-guestbook'
      labels: {{cluster: '{{{{cluster}}}}', team: platform, other: original}}
      {extra_template_meta}
    spec:
      project: default
      source: {{repoURL: https://example.com/repo.git, path: 'guestbook/{{{{cluster}}}}'}}
      destination: {{server: https://kubernetes.default.svc, namespace: '{{{{cluster}}}}'}}
"#,
        elements = elements.join(", ")
    )
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test]
async fn creates_owned_applications_and_reports_status() {
    let env = Env::new().await;
    let set = env
        .apply_set(&list_set(ARGO, &["dev", "prod"], "{}", ""))
        .await;
    let uid = set["metadata"]["uid"].as_str().unwrap().to_string();

    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(outcome.generated, ["dev-guestbook", "prod-guestbook"]);
    assert_eq!(outcome.created, ["dev-guestbook", "prod-guestbook"]);

    let apps = env.apps(ARGO).await;
    let prod = &apps["prod-guestbook"];
    assert_eq!(prod["spec"]["source"]["path"], "guestbook/prod");
    assert_eq!(prod["metadata"]["finalizers"], json!([RESOURCES_FINALIZER]));
    let owner = &prod["metadata"]["ownerReferences"][0];
    assert_eq!(owner["uid"], uid.as_str());
    assert_eq!(owner["kind"], "ApplicationSet");
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["blockOwnerDeletion"], true);
    let managers: Vec<&str> = prod["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, [FIELD_MANAGER]);

    let up_to_date = env.condition(ARGO, "guestbook", "ResourcesUpToDate").await;
    assert_eq!(up_to_date["status"], "True");
    assert_eq!(up_to_date["reason"], "ApplicationSetUpToDate");
    assert_eq!(
        env.condition(ARGO, "guestbook", "ErrorOccurred").await["status"],
        "False"
    );
    assert_eq!(
        env.condition(ARGO, "guestbook", "ParametersGenerated")
            .await["status"],
        "True"
    );
    let status = &env.get_set(ARGO, "guestbook").await["status"];
    assert_eq!(status["resourcesCount"], 2);
    assert_eq!(
        status["resources"][1],
        json!({"group": ARGO, "version": "v1alpha1", "kind": "Application",
               "namespace": NS, "name": "prod-guestbook"})
    );

    // Nothing changed: a second pass stores nothing new.
    let before = env.versions(ARGO).await;
    let set_version = env.get_set(ARGO, "guestbook").await["metadata"]["resourceVersion"].clone();
    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(outcome.unchanged, ["dev-guestbook", "prod-guestbook"]);
    assert!(outcome.created.is_empty() && outcome.updated.is_empty());
    assert_eq!(env.versions(ARGO).await, before);
    assert_eq!(
        env.get_set(ARGO, "guestbook").await["metadata"]["resourceVersion"],
        set_version
    );
}

#[tokio::test]
async fn trellis_sets_manage_trellis_applications() {
    let env = Env::new().await;
    env.apply_set(&list_set(TRELLIS, &["dev"], "{}", "")).await;
    let outcome = env.reconcile(TRELLIS, "guestbook").await.unwrap();
    assert_eq!(outcome.created, ["dev-guestbook"]);
    let apps = env.apps(TRELLIS).await;
    assert_eq!(apps["dev-guestbook"]["apiVersion"], "trellis.dev/v1alpha1");
    assert!(env.apps(ARGO).await.is_empty());
}

#[tokio::test]
async fn a_removed_element_is_deleted_and_cascades_through_the_finalizer() {
    let env = Env::new().await;
    env.apply_set(&list_set(ARGO, &["dev", "prod"], "{}", ""))
        .await;
    env.reconcile(ARGO, "guestbook").await.unwrap();

    env.apply_set(&list_set(ARGO, &["dev"], "{}", "")).await;
    let seq = env.audit_seq();
    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(outcome.deleted, ["prod-guestbook"]);
    assert!(
        env.app_writes_since(seq)
            .contains(&"delete prod-guestbook".to_string())
    );
    // The finalizer holds it until the controller has deleted its resources.
    let apps = env.apps(ARGO).await;
    let prod = &apps["prod-guestbook"];
    assert!(prod["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(prod["metadata"]["finalizers"], json!([RESOURCES_FINALIZER]));

    // An Application already being deleted is not deleted again.
    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert!(outcome.deleted.is_empty());
    let resources = &env.get_set(ARGO, "guestbook").await["status"]["resources"];
    assert_eq!(resources.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn preserving_resources_removes_the_finalizer_before_deleting() {
    let env = Env::new().await;
    // The template names the finalizer itself, so even a preserving set
    // carries it until the Application is removed from the set.
    let meta = format!("finalizers: [{RESOURCES_FINALIZER}, example.com/keep-me]");
    let policy = "{preserveResourcesOnDeletion: true}";
    env.apply_set(&list_set(ARGO, &["dev", "prod"], policy, &meta))
        .await;
    env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(
        env.apps(ARGO).await["prod-guestbook"]["metadata"]["finalizers"],
        json!([RESOURCES_FINALIZER, "example.com/keep-me"])
    );

    env.apply_set(&list_set(ARGO, &["dev"], policy, &meta))
        .await;
    let seq = env.audit_seq();
    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(outcome.deleted, ["prod-guestbook"]);
    assert_eq!(
        env.app_writes_since(seq)
            .into_iter()
            .filter(|w| w.ends_with("prod-guestbook"))
            .collect::<Vec<_>>(),
        ["patch prod-guestbook", "delete prod-guestbook"]
    );
    // Only the foreign finalizer is left: nothing cascades.
    let prod = &env.apps(ARGO).await["prod-guestbook"];
    assert!(prod["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        prod["metadata"]["finalizers"],
        json!(["example.com/keep-me"])
    );

    // Without other finalizers the Application simply goes.
    let env = Env::new().await;
    env.apply_set(&list_set(
        ARGO,
        &["dev", "prod"],
        policy,
        &format!("finalizers: [{RESOURCES_FINALIZER}]"),
    ))
    .await;
    env.reconcile(ARGO, "guestbook").await.unwrap();
    env.apply_set(&list_set(
        ARGO,
        &["dev"],
        policy,
        &format!("finalizers: [{RESOURCES_FINALIZER}]"),
    ))
    .await;
    env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(
        env.apps(ARGO).await.into_keys().collect::<Vec<_>>(),
        ["dev-guestbook"]
    );
}

#[tokio::test]
async fn create_only_and_create_update_keep_removed_applications() {
    for policy in ["create-only", "create-update"] {
        let env = Env::new().await;
        let sync = format!("{{applicationsSync: {policy}}}");
        env.apply_set(&list_set(ARGO, &["dev", "prod"], &sync, ""))
            .await;
        let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
        assert_eq!(outcome.created.len(), 2, "{policy}");

        // A changed template and a removed element.
        let changed = list_set(ARGO, &["dev"], &sync, "")
            .replace("path: 'guestbook/{{cluster}}'", "path: 'v2/{{cluster}}'");
        env.apply_set(&changed).await;
        let seq = env.audit_seq();
        let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
        assert!(
            outcome.kept.contains(&"prod-guestbook".to_string()),
            "{policy}"
        );
        assert!(outcome.deleted.is_empty(), "{policy}");
        assert!(
            !env.app_writes_since(seq)
                .iter()
                .any(|w| w.starts_with("delete")),
            "{policy}"
        );
        let apps = env.apps(ARGO).await;
        assert!(apps["prod-guestbook"]["metadata"]["deletionTimestamp"].is_null());
        let dev_path = apps["dev-guestbook"]["spec"]["source"]["path"].clone();
        if policy == "create-only" {
            assert_eq!(dev_path, "guestbook/dev", "create-only never updates");
            assert_eq!(outcome.kept, ["dev-guestbook", "prod-guestbook"]);
        } else {
            assert_eq!(dev_path, "v2/dev", "create-update updates");
            assert_eq!(outcome.updated, ["dev-guestbook"]);
        }
    }
}

#[tokio::test]
async fn create_delete_deletes_but_never_updates() {
    let env = Env::new().await;
    let sync = "{applicationsSync: create-delete}";
    env.apply_set(&list_set(ARGO, &["dev", "prod"], sync, ""))
        .await;
    env.reconcile(ARGO, "guestbook").await.unwrap();
    let changed = list_set(ARGO, &["dev"], sync, "")
        .replace("path: 'guestbook/{{cluster}}'", "path: 'v2/{{cluster}}'");
    env.apply_set(&changed).await;
    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(outcome.deleted, ["prod-guestbook"]);
    assert_eq!(outcome.kept, ["dev-guestbook"]);
    assert_eq!(
        env.apps(ARGO).await["dev-guestbook"]["spec"]["source"]["path"],
        "guestbook/dev"
    );
}

#[tokio::test]
async fn an_empty_generation_deletes_everything_the_set_owns() {
    let env = Env::new().await;
    let policy = "{preserveResourcesOnDeletion: true}";
    env.apply_set(&list_set(ARGO, &["dev", "prod"], policy, ""))
        .await;
    env.reconcile(ARGO, "guestbook").await.unwrap();
    env.apply_set(&list_set(ARGO, &[], policy, "")).await;
    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(sorted(outcome.deleted), ["dev-guestbook", "prod-guestbook"]);
    assert!(env.apps(ARGO).await.is_empty());
}

#[tokio::test]
async fn preserved_labels_keep_their_live_values() {
    let env = Env::new().await;
    let yaml = list_set(ARGO, &["dev"], "{}", "").replace(
        "spec:\n  syncPolicy",
        "spec:\n  preservedFields: {labels: [team]}\n  syncPolicy",
    );
    env.apply_set(&yaml).await;
    env.reconcile(ARGO, "guestbook").await.unwrap();

    // Someone relabels the Application by hand.
    let info = env
        .kube
        .discovery()
        .resolve("argoproj.io/v1alpha1", "Application")
        .await
        .unwrap();
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.kube.client().clone(), NS, &info.api_resource);
    api.patch(
        "dev-guestbook",
        &PatchParams::apply("someone").force(),
        &Patch::Apply(json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "dev-guestbook", "labels": {"team": "web", "other": "hacked"}}
        })),
    )
    .await
    .unwrap();

    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(outcome.updated, ["dev-guestbook"]);
    let labels = &env.apps(ARGO).await["dev-guestbook"]["metadata"]["labels"];
    assert_eq!(labels["team"], "web", "preserved");
    assert_eq!(labels["other"], "original", "taken back");
}

#[tokio::test]
async fn ignored_differences_keep_their_live_values() {
    let env = Env::new().await;
    let yaml = list_set(ARGO, &["dev"], "{}", "").replace(
        "spec:\n  syncPolicy",
        "spec:\n  ignoreApplicationDifferences: [{jsonPointers: [/spec/source/targetRevision]}]\n  syncPolicy",
    );
    let with_revision = yaml.replace(
        "source: {repoURL: https://example.com/repo.git,",
        "source: {targetRevision: main, repoURL: https://example.com/repo.git,",
    );
    env.apply_set(&with_revision).await;
    env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(
        env.apps(ARGO).await["dev-guestbook"]["spec"]["source"]["targetRevision"],
        "main",
        "created as generated"
    );

    // Someone pins the revision; then the template changes elsewhere.
    let info = env
        .kube
        .discovery()
        .resolve("argoproj.io/v1alpha1", "Application")
        .await
        .unwrap();
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.kube.client().clone(), NS, &info.api_resource);
    api.patch(
        "dev-guestbook",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"source": {"targetRevision": "v1.2.3"}}})),
    )
    .await
    .unwrap();
    env.apply_set(
        &with_revision.replace("path: 'guestbook/{{cluster}}'", "path: 'v2/{{cluster}}'"),
    )
    .await;
    let outcome = env.reconcile(ARGO, "guestbook").await.unwrap();
    assert_eq!(outcome.updated, ["dev-guestbook"]);
    let source = &env.apps(ARGO).await["dev-guestbook"]["spec"]["source"];
    assert_eq!(
        source["targetRevision"], "v1.2.3",
        "ignored difference kept"
    );
    assert_eq!(source["path"], "v2/dev", "the rest follows the template");
}

#[tokio::test]
async fn an_application_owned_by_another_set_is_not_taken_over() {
    let env = Env::new().await;
    env.apply_set(&list_set(ARGO, &["dev"], "{}", "")).await;
    env.reconcile(ARGO, "guestbook").await.unwrap();
    let other = list_set(ARGO, &["dev"], "{}", "").replace("name: guestbook}", "name: intruder}");
    env.apply_set(&other).await;
    let before = env.versions(ARGO).await;
    let err = env.reconcile(ARGO, "intruder").await.unwrap_err();
    assert!(matches!(err, AppSetError::Conflict { .. }), "{err:?}");
    assert_eq!(env.versions(ARGO).await, before);
    let condition = env.condition(ARGO, "intruder", "ErrorOccurred").await;
    assert_eq!(condition["status"], "True");
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .contains("controlled by ApplicationSet/guestbook"),
        "{condition}"
    );
}

fn git_set(url: &str) -> String {
    format!(
        r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: clusters}}
spec:
  generators:
  - git:
      repoURL: {url}
      revision: main
      files: [{{path: 'clusters/*.yaml'}}]
  template:
    metadata: {{name: '{{{{name}}}}'}}
    spec:
      project: default
      source: {{repoURL: https://example.com/repo.git, path: '{{{{path}}}}/{{{{name}}}}'}}
      destination: {{server: '{{{{server}}}}', namespace: default}}
"#
    )
}

async fn git_env() -> (Env, GitRepo) {
    let env = Env::new().await;
    let repo = GitRepo::new();
    repo.write(
        "clusters/a.yaml",
        "name: alpha\nserver: https://a.example.com\n",
    );
    repo.write("clusters/b.json", "{\"name\": \"ignored\"}\n");
    repo.write(
        "clusters/list.yaml",
        "- {name: beta, server: https://b.example.com}\n- {name: gamma, server: https://c.example.com}\n",
    );
    repo.commit_all("clusters");
    env.apply_set(&git_set(&repo.url())).await;
    let outcome = env.reconcile(ARGO, "clusters").await.unwrap();
    assert_eq!(outcome.created, ["alpha", "beta", "gamma"]);
    (env, repo)
}

/// Asserts that a failed reconcile left every Application as it was and
/// recorded the error.
async fn assert_untouched(env: &Env, err: &AppSetError, expect_in_message: &str) {
    assert!(err.is_generation_error(), "{err:?}");
    let condition = env.condition(ARGO, "clusters", "ErrorOccurred").await;
    assert_eq!(condition["status"], "True");
    let message = condition["message"].as_str().unwrap();
    assert!(message.contains(expect_in_message), "{message}");
    assert_eq!(
        env.condition(ARGO, "clusters", "ParametersGenerated").await["status"],
        "False"
    );
    assert_eq!(
        env.condition(ARGO, "clusters", "ResourcesUpToDate").await["status"],
        "False"
    );
    // The last good resources stay listed.
    let status = &env.get_set(ARGO, "clusters").await["status"];
    assert_eq!(status["resourcesCount"], 3);
}

#[tokio::test]
async fn an_unreachable_repository_changes_nothing() {
    let (env, repo) = git_env().await;
    let before = env.versions(ARGO).await;
    assert_eq!(before.len(), 3);

    let missing = format!("{}-gone", repo.url());
    env.apply_set(&git_set(&missing)).await;
    let seq = env.audit_seq();
    let err = env.reconcile(ARGO, "clusters").await.unwrap_err();
    assert_untouched(&env, &err, "-gone").await;
    assert_eq!(env.versions(ARGO).await, before);
    assert_eq!(env.app_writes_since(seq), Vec::<String>::new());

    // Fixed again: back to normal, and the error is cleared.
    env.apply_set(&git_set(&repo.url())).await;
    let outcome = env.reconcile(ARGO, "clusters").await.unwrap();
    assert_eq!(outcome.unchanged, ["alpha", "beta", "gamma"]);
    assert_eq!(
        env.condition(ARGO, "clusters", "ErrorOccurred").await["status"],
        "False"
    );
}

#[tokio::test]
async fn a_malformed_file_changes_nothing() {
    let (env, repo) = git_env().await;
    let before = env.versions(ARGO).await;
    // The list file loses an element and another file breaks: the removal
    // must not happen while the generation fails.
    repo.write(
        "clusters/list.yaml",
        "- {name: beta, server: https://b.example.com}\n",
    );
    repo.write("clusters/z.yaml", "name: [unclosed\n");
    repo.commit_all("broken");
    env.sources.refresh();
    let seq = env.audit_seq();
    let err = env.reconcile(ARGO, "clusters").await.unwrap_err();
    assert_untouched(&env, &err, "clusters/z.yaml").await;
    assert_eq!(env.versions(ARGO).await, before);
    assert_eq!(env.app_writes_since(seq), Vec::<String>::new());

    // Repaired: now the removal is real and gamma goes.
    repo.remove("clusters/z.yaml");
    repo.commit_all("repaired");
    env.sources.refresh();
    let outcome = env.reconcile(ARGO, "clusters").await.unwrap();
    assert_eq!(outcome.deleted, ["gamma"]);
}

#[tokio::test]
async fn a_duplicate_name_is_recorded_and_changes_nothing() {
    let (env, repo) = git_env().await;
    let before = env.versions(ARGO).await;
    repo.write(
        "clusters/again.yaml",
        "name: alpha\nserver: https://other.example.com\n",
    );
    repo.commit_all("duplicate");
    env.sources.refresh();
    let seq = env.audit_seq();
    let err = env.reconcile(ARGO, "clusters").await.unwrap_err();
    assert!(matches!(err, AppSetError::DuplicateName { .. }), "{err:?}");
    assert_untouched(&env, &err, "\"alpha\" is generated twice").await;
    assert_eq!(env.versions(ARGO).await, before);
    assert_eq!(env.app_writes_since(seq), Vec::<String>::new());
}
