//! Bringing a cluster's Applications in line with an ApplicationSet, and
//! reporting how that went in the set's status.
//!
//! Safety comes first: generation runs to completion before anything is
//! written, so a generator that fails (an unreachable repository, a malformed
//! file, a template error, a duplicate name) changes and deletes nothing;
//! the error is recorded in the set's conditions and the Applications of the
//! last good generation stay as they are. Deletion comes last and only after
//! every create and update succeeded. A generation that succeeds with no
//! Applications is taken at its word (under a policy that allows deletes,
//! the set's Applications are deleted).

use std::collections::{BTreeSet, HashMap};

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions,
    PropagationPolicy,
};
use serde_json::{Value as Json, json};
use trellis_kube::{ApplyOptions, Cluster};
use trellis_model::VERSION;
use trellis_model::appset::{ApplicationSet, ApplicationsSyncPolicy};
use trellis_model::manifest::Origin;
use trellis_source::Sources;

use crate::error::AppSetError;
use crate::generate::{generate, group_of, is_resources_finalizer, merge_patch};
use crate::status::{resource_status, write_status};

/// The field manager of every write [`reconcile`] makes.
pub const FIELD_MANAGER: &str = "trellis-appset";

/// Annotations other controllers set on Applications that a set never takes
/// back, even when its template names them (as in Argo CD).
const DEFAULT_PRESERVED_ANNOTATIONS: [&str; 3] = [
    "notified.notifications.argoproj.io",
    "argocd.argoproj.io/refresh",
    "argocd.argoproj.io/hydrate",
];

/// What one [`reconcile`] did, by Application name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Every Application the set generates, in generation order.
    pub generated: Vec<String>,
    /// Created.
    pub created: Vec<String>,
    /// Existing, and changed by the apply.
    pub updated: Vec<String>,
    /// Existing, and already as generated.
    pub unchanged: Vec<String>,
    /// Deleted because the set no longer generates them.
    pub deleted: Vec<String>,
    /// Left as they are because the sync policy forbids the update or delete
    /// they would otherwise get.
    pub kept: Vec<String>,
}

/// Reconciles one ApplicationSet (the object as read from the cluster, of
/// either API group) with the cluster:
///
/// 1. parses the set and generates its Applications ([`generate`], on a
///    blocking thread);
/// 2. lists the Applications in the set's namespace and picks those owned by
///    the set (an owner reference with its uid);
/// 3. creates or updates each generated Application by server-side apply
///    (field manager [`FIELD_MANAGER`], taking over conflicting fields), as
///    `spec.syncPolicy.applicationsSync` allows: `create-only`,
///    `create-update`, `create-delete` or `sync` (the default). Labels and
///    annotations named in `preservedFields` (and Argo CD's refresh and
///    notification annotations) keep their live values; `jsonPointers` of
///    `ignoreApplicationDifferences` keep theirs on existing Applications;
/// 4. deletes the owned Applications that are no longer generated, when the
///    policy allows deletes and every apply succeeded. With
///    `preserveResourcesOnDeletion: true` the resources finalizer is removed
///    first, so the Application goes without its resources; otherwise it
///    keeps the finalizer and the controller deletes its resources;
/// 5. writes the set's status through the status subresource: the
///    `ErrorOccurred`, `ParametersGenerated` and `ResourcesUpToDate`
///    conditions and, after a successful run, the `resources` list.
///
/// Errors are recorded in the conditions before they are returned. A
/// generation error ([`AppSetError::is_generation_error`]) is returned
/// before any Application is touched. An ApplicationSet being deleted is
/// left to the garbage collector (its Applications are owned by it).
///
/// # Deviation
/// `jqPathExpressions` of `ignoreApplicationDifferences` are not evaluated
/// (only `jsonPointers` are); Applications are written by server-side apply,
/// so fields other managers own are never removed.
pub async fn reconcile(
    cluster: &Cluster,
    set_object: &Json,
    sources: &Sources,
) -> Result<Outcome, AppSetError> {
    let origin = Origin {
        file: format!(
            "ApplicationSet {}",
            set_object["metadata"]["name"].as_str().unwrap_or_default()
        ),
        document: 1,
        line: 0,
    };
    let set = match ApplicationSet::from_value(set_object, &origin) {
        Ok(parsed) => parsed.value,
        Err(e) => {
            let error = AppSetError::Invalid(Box::new(e));
            record(cluster, set_object, Err(&error)).await;
            return Err(error);
        }
    };
    if set_object["metadata"]["deletionTimestamp"].is_string() {
        return Ok(Outcome::default());
    }
    match apply_all(cluster, &set, sources).await {
        Ok((outcome, resources)) => {
            write_status(cluster, set_object, Ok(&resources)).await?;
            Ok(outcome)
        }
        Err(error) => {
            record(cluster, set_object, Err(&error)).await;
            Err(error)
        }
    }
}

/// Records a failure in the status; a failure to record it is logged, since
/// the error being recorded is the one worth returning.
async fn record(cluster: &Cluster, set_object: &Json, result: Result<&[Json], &AppSetError>) {
    if let Err(e) = write_status(cluster, set_object, result).await {
        tracing::warn!(error = %e, "cannot record the ApplicationSet's status");
    }
}

async fn apply_all(
    cluster: &Cluster,
    set: &ApplicationSet,
    sources: &Sources,
) -> Result<(Outcome, Vec<Json>), AppSetError> {
    let name = set.metadata.name.clone().unwrap_or_default();
    let namespace = set
        .metadata
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AppSetError::Spec {
            name: name.clone(),
            message: "has no namespace to create Applications in".into(),
        })?;
    let uid = set
        .metadata
        .uid
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| AppSetError::Spec {
            name: name.clone(),
            message: "has no uid (was it read from the cluster?)".into(),
        })?;

    let desired = {
        let set = set.clone();
        let sources = sources.clone();
        tokio::task::spawn_blocking(move || generate(&set, &sources))
            .await
            .map_err(|e| AppSetError::Interrupted(e.to_string()))??
    };

    let group = group_of(&set.api_version);
    let api_version = format!("{group}/{VERSION}");
    let info = cluster
        .discovery()
        .resolve(&api_version, "Application")
        .await
        .map_err(|source| AppSetError::Cluster {
            action: format!("find the Application resource of {group}"),
            source,
        })?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client().clone(), &namespace, &info.api_resource);
    let listed = api
        .list(&ListParams::default())
        .await
        .map_err(|e| AppSetError::Kube {
            action: format!("list Applications in {namespace}"),
            source: Box::new(e),
        })?;
    let mut existing: HashMap<String, Json> = HashMap::new();
    for item in listed.items {
        if let (Some(app_name), Ok(value)) =
            (item.metadata.name.clone(), serde_json::to_value(&item))
        {
            existing.insert(app_name, value);
        }
    }
    let is_owned = |live: &Json| owner_refs(live).any(|r| r["uid"].as_str() == Some(uid.as_str()));

    let policy = set
        .spec
        .sync_policy
        .as_ref()
        .and_then(|p| p.applications_sync)
        .unwrap_or(ApplicationsSyncPolicy::Sync);
    let allow_update = matches!(
        policy,
        ApplicationsSyncPolicy::Sync | ApplicationsSyncPolicy::CreateUpdate
    );
    let allow_delete = matches!(
        policy,
        ApplicationsSyncPolicy::Sync | ApplicationsSyncPolicy::CreateDelete
    );
    let preserve = set
        .spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.preserve_resources_on_deletion);

    let options = ApplyOptions {
        field_manager: FIELD_MANAGER.into(),
        force: true,
        ..Default::default()
    };
    let mut outcome = Outcome::default();
    let mut live_after: HashMap<String, Json> = HashMap::new();
    let mut first_error: Option<AppSetError> = None;
    for app in &desired {
        let app_name = app["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        outcome.generated.push(app_name.clone());
        let body = match existing.get(&app_name) {
            Some(live) if is_owned(live) => {
                if !allow_update {
                    outcome.kept.push(app_name.clone());
                    live_after.insert(app_name, live.clone());
                    continue;
                }
                keep_live_fields(app, live, set)
            }
            Some(live) => {
                if let Some(owner) = foreign_controller(live, &uid) {
                    first_error.get_or_insert(AppSetError::Conflict {
                        namespace: namespace.clone(),
                        name: app_name,
                        owner,
                    });
                    continue;
                }
                // An Application of that name without a controller is
                // adopted, as Argo CD does.
                keep_live_fields(app, live, set)
            }
            None => app.clone(),
        };
        let live = existing.get(&app_name);
        match apply_if_changed(cluster, &body, live, &options).await {
            Ok(stored) => {
                match live.map(|l| &l["metadata"]["resourceVersion"]) {
                    None => outcome.created.push(app_name.clone()),
                    Some(rv) if *rv == stored["metadata"]["resourceVersion"] => {
                        outcome.unchanged.push(app_name.clone())
                    }
                    Some(_) => outcome.updated.push(app_name.clone()),
                }
                live_after.insert(app_name, stored);
            }
            Err(source) => {
                first_error.get_or_insert(AppSetError::Cluster {
                    action: format!("apply Application {namespace}/{app_name}"),
                    source,
                });
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }

    let wanted: BTreeSet<&str> = outcome.generated.iter().map(String::as_str).collect();
    let mut stale: Vec<(&String, &Json)> = existing
        .iter()
        .filter(|(n, live)| is_owned(live) && !wanted.contains(n.as_str()))
        .collect();
    stale.sort_by_key(|(n, _)| n.as_str());
    for (app_name, live) in stale {
        if !allow_delete {
            outcome.kept.push(app_name.clone());
            continue;
        }
        let deleting = live["metadata"]["deletionTimestamp"].is_string();
        if preserve {
            remove_resources_finalizers(&api, &namespace, app_name, live).await?;
        }
        if deleting {
            // Already on its way; the finalizers decide when it goes.
            continue;
        }
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: Some(Preconditions {
                uid: live["metadata"]["uid"].as_str().map(str::to_string),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(app_name, &params).await {
            Ok(_) => outcome.deleted.push(app_name.clone()),
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => {
                return Err(AppSetError::Kube {
                    action: format!("delete Application {namespace}/{app_name}"),
                    source: Box::new(e),
                });
            }
        }
    }

    let resources = outcome
        .generated
        .iter()
        .map(|app_name| resource_status(group, &namespace, app_name, live_after.get(app_name)))
        .collect();
    tracing::info!(
        set = %name,
        namespace = %namespace,
        generated = outcome.generated.len(),
        created = outcome.created.len(),
        updated = outcome.updated.len(),
        deleted = outcome.deleted.len(),
        kept = outcome.kept.len(),
        "reconciled ApplicationSet"
    );
    Ok((outcome, resources))
}

/// Applies `body`, unless a dry run shows the apply would store exactly what
/// is live: then nothing is written (an identical apply would still cost a
/// write on some servers, and a watch event for every Application).
async fn apply_if_changed(
    cluster: &Cluster,
    body: &Json,
    live: Option<&Json>,
    options: &ApplyOptions,
) -> Result<Json, trellis_kube::Error> {
    if let Some(live) = live {
        let dry_run = ApplyOptions {
            dry_run: true,
            ..options.clone()
        };
        let would_store = cluster.apply(body, &dry_run).await?;
        if comparable(&would_store) == comparable(live) {
            return Ok(live.clone());
        }
    }
    cluster.apply(body, options).await
}

/// An object without what changes on every write (resource version, the
/// times of managed fields entries).
fn comparable(object: &Json) -> Json {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.remove("resourceVersion");
        if let Some(entries) = meta.get_mut("managedFields").and_then(Json::as_array_mut) {
            for entry in entries.iter_mut().filter_map(Json::as_object_mut) {
                entry.remove("time");
            }
        }
    }
    object
}

fn owner_refs(object: &Json) -> impl Iterator<Item = &Json> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
}

/// The controller owning an object, when it is not the set (`Kind/name`).
fn foreign_controller(live: &Json, uid: &str) -> Option<String> {
    owner_refs(live)
        .find(|r| r["controller"].as_bool() == Some(true) && r["uid"].as_str() != Some(uid))
        .map(|r| {
            format!(
                "{}/{}",
                r["kind"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default()
            )
        })
}

/// The generated Application with the live values of what the set must not
/// overwrite: preserved labels and annotations the template also names, and
/// the `jsonPointers` of matching `ignoreApplicationDifferences` entries
/// (taken from the live object, or dropped when it has none).
fn keep_live_fields(app: &Json, live: &Json, set: &ApplicationSet) -> Json {
    let mut body = app.clone();
    let preserved = set.spec.preserved_fields.as_ref();
    let annotations = preserved
        .map(|p| p.annotations.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(DEFAULT_PRESERVED_ANNOTATIONS.iter().map(|s| s.to_string()));
    let labels = preserved.map(|p| p.labels.clone()).unwrap_or_default();
    for (field, keys) in [
        ("annotations", annotations.collect::<Vec<_>>()),
        ("labels", labels),
    ] {
        for key in keys {
            let Some(value) = live["metadata"][field].get(&key) else {
                continue;
            };
            if let Some(map) = body["metadata"][field].as_object_mut()
                && map.contains_key(&key)
            {
                map.insert(key, value.clone());
            }
        }
    }
    let app_name = app["metadata"]["name"].as_str().unwrap_or_default();
    for ignore in &set.spec.ignore_application_differences {
        if ignore
            .name
            .as_deref()
            .is_some_and(|n| !n.is_empty() && n != app_name)
        {
            continue;
        }
        if !ignore.jq_path_expressions.is_empty() {
            tracing::warn!(
                application = app_name,
                "ignoreApplicationDifferences.jqPathExpressions are not supported; ignored"
            );
        }
        for pointer in &ignore.json_pointers {
            match live.pointer(pointer) {
                Some(value) => set_pointer(&mut body, pointer, value.clone()),
                None => remove_pointer(&mut body, pointer),
            }
        }
    }
    body
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(pointer: &str) -> Option<(String, String)> {
    let (parent, last) = pointer.rsplit_once('/')?;
    Some((parent.to_string(), unescape(last)))
}

fn set_pointer(body: &mut Json, pointer: &str, value: Json) {
    let Some((parent, last)) = split_pointer(pointer) else {
        return;
    };
    if body.pointer(&parent).is_none() {
        // Build the missing parents as maps, so the kept value has a place.
        let mut nested = Json::Object(serde_json::Map::from_iter([(last, value)]));
        for segment in parent
            .split('/')
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            nested = Json::Object(serde_json::Map::from_iter([(unescape(segment), nested)]));
        }
        merge_patch(body, &nested);
        return;
    }
    match body.pointer_mut(&parent) {
        Some(Json::Object(map)) => {
            map.insert(last, value);
        }
        Some(Json::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items[i] = value;
            }
        }
        _ => {}
    }
}

fn remove_pointer(body: &mut Json, pointer: &str) {
    let Some((parent, last)) = split_pointer(pointer) else {
        return;
    };
    if let Some(Json::Object(map)) = body.pointer_mut(&parent) {
        map.remove(&last);
    }
}

/// Removes the resources finalizer from an Application about to be deleted,
/// so deleting it leaves its resources in place.
async fn remove_resources_finalizers(
    api: &Api<DynamicObject>,
    namespace: &str,
    name: &str,
    live: &Json,
) -> Result<(), AppSetError> {
    let finalizers: Vec<&str> = live["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    if !finalizers.iter().any(|f| is_resources_finalizer(f)) {
        return Ok(());
    }
    let remaining: Vec<&str> = finalizers
        .into_iter()
        .filter(|f| !is_resources_finalizer(f))
        .collect();
    let patch = json!({
        "metadata": {
            "finalizers": remaining,
            "resourceVersion": live["metadata"]["resourceVersion"],
        }
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch(name, &params, &Patch::Merge(&patch))
        .await
        .map_err(|e| AppSetError::Kube {
            action: format!("remove the resources finalizer of Application {namespace}/{name}"),
            source: Box::new(e),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_set_and_removed() {
        let mut body = json!({"spec": {"source": {"targetRevision": "main"}}});
        set_pointer(&mut body, "/spec/source/targetRevision", json!("v2"));
        set_pointer(
            &mut body,
            "/spec/syncPolicy/automated",
            json!({"prune": true}),
        );
        assert_eq!(
            body,
            json!({"spec": {
                "source": {"targetRevision": "v2"},
                "syncPolicy": {"automated": {"prune": true}}
            }})
        );
        remove_pointer(&mut body, "/spec/syncPolicy/automated");
        assert_eq!(body["spec"]["syncPolicy"], json!({}));
    }
}
