//! From an ApplicationSet to complete Application objects.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};
use trellis_model::manifest::Origin;
use trellis_model::{Application, ApplicationSet, VERSION};
use trellis_source::Sources;

use crate::error::AppSetError;
use crate::generators::{Context, run_top};
use crate::params::{Params, to_json};
use crate::render::Renderer;

/// The finalizer that makes the controller delete an Application's resources
/// before the Application goes. Generated Applications carry it unless the
/// set says `preserveResourcesOnDeletion: true` or its template names
/// finalizers of its own (the name Argo CD uses, for both API groups).
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// Whether a finalizer is the resources finalizer or one of its
/// propagation-specific forms (`.../background`, `.../foreground`).
pub(crate) fn is_resources_finalizer(finalizer: &str) -> bool {
    finalizer == RESOURCES_FINALIZER
        || finalizer
            .strip_prefix(RESOURCES_FINALIZER)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The API group of an `apiVersion` (`argoproj.io/v1alpha1` → `argoproj.io`).
pub(crate) fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

/// Generates the Applications an ApplicationSet stands for, in generator
/// order, as complete objects ready to apply: `apiVersion` (the set's group,
/// `v1alpha1`), `kind`, `metadata` (name; the set's namespace; the template's
/// labels, annotations and finalizers; an owner reference to the set when it
/// has a uid, with `controller` and `blockOwnerDeletion` set) and `spec`.
///
/// Git generators read through `sources` (a blocking call: from async code,
/// run this on a blocking thread, as [`reconcile`](crate::reconcile) does).
///
/// Fails on the first problem, naming the generator (index and kind), the
/// file or field, and the cause: a generator error, a template that does not
/// render, a generated Application that is invalid, or two Applications of
/// the same name. A generator that succeeds with no parameter sets simply
/// contributes no Applications.
///
/// # Deviation
/// Argo CD skips an invalid generated Application (and creates the others);
/// Trellis fails the whole generation, so a half-valid result never reaches
/// the cluster.
pub fn generate(set: &ApplicationSet, sources: &Sources) -> Result<Vec<Json>, AppSetError> {
    let name = set.metadata.name.clone().unwrap_or_default();
    let spec_error = |message: String| AppSetError::Spec {
        name: name.clone(),
        message,
    };
    let renderer = Renderer::new(set.spec.go_template, &set.spec.go_template_options)
        .map_err(|e| spec_error(e.to_string()))?;
    let template = serde_json::to_value(&set.spec.template)
        .map_err(|e| spec_error(format!("cannot read spec.template: {e}")))?;
    let cx = Context {
        sources,
        renderer: &renderer,
        apply_nested_selectors: set.spec.apply_nested_selectors,
    };
    let mut apps = Vec::new();
    let mut seen: HashMap<String, (usize, &'static str)> = HashMap::new();
    for (index, generator) in set.spec.generators.iter().enumerate() {
        for (kind, result) in run_top(generator, &template, &cx) {
            let generated = result.map_err(|source| AppSetError::Generator {
                index,
                kind,
                source: Box::new(source),
            })?;
            tracing::debug!(
                set = %name,
                generator = index,
                kind,
                parameter_sets = generated.params.len(),
                "generated parameters"
            );
            for (n, params) in generated.params.iter().enumerate() {
                let at = At {
                    index,
                    kind,
                    set: n,
                };
                let app = build(set, &generated.template, params, &renderer, &at)?;
                let app_name = app["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some((first, first_kind)) = seen.get(&app_name) {
                    return Err(AppSetError::DuplicateName {
                        name: app_name,
                        first: *first,
                        first_kind,
                        second: index,
                        second_kind: kind,
                    });
                }
                seen.insert(app_name, (index, kind));
                apps.push(app);
            }
        }
    }
    Ok(apps)
}

/// Which generator and parameter set an Application comes from.
struct At {
    index: usize,
    kind: &'static str,
    set: usize,
}

fn build(
    set: &ApplicationSet,
    template: &Json,
    params: &Params,
    renderer: &Renderer,
    at: &At,
) -> Result<Json, AppSetError> {
    // As in Argo CD, a parameter set without parameters leaves the template
    // as written.
    let rendered = if params.is_empty() {
        template.clone()
    } else {
        renderer
            .render_json(template, params, "spec.template")
            .map_err(|source| AppSetError::Template {
                index: at.index,
                kind: at.kind,
                set: at.set,
                source,
            })?
    };
    let group = group_of(&set.api_version);
    let meta = rendered.get("metadata").cloned().unwrap_or(Json::Null);
    let mut metadata = Map::new();
    metadata.insert(
        "name".into(),
        meta.get("name")
            .cloned()
            .unwrap_or(Json::String(String::new())),
    );
    for field in ["labels", "annotations"] {
        if let Some(map) = meta
            .get(field)
            .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()))
        {
            metadata.insert(field.into(), map.clone());
        }
    }
    let mut finalizers: Vec<Json> = meta
        .get("finalizers")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let preserve = set
        .spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.preserve_resources_on_deletion);
    if finalizers.is_empty() && !preserve {
        finalizers.push(Json::String(RESOURCES_FINALIZER.into()));
    }
    if !finalizers.is_empty() {
        metadata.insert("finalizers".into(), Json::Array(finalizers));
    }
    let mut app = json!({
        "apiVersion": format!("{group}/{VERSION}"),
        "kind": "Application",
        "metadata": metadata,
        "spec": rendered.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    if let Some(patch) = set.spec.template_patch.as_deref() {
        apply_template_patch(&mut app, patch, params, renderer, at)?;
    }
    if let Some(meta) = app["metadata"].as_object_mut() {
        if let Some(namespace) = set.metadata.namespace.as_deref().filter(|n| !n.is_empty()) {
            meta.insert("namespace".into(), Json::String(namespace.into()));
        }
        if let Some(uid) = set.metadata.uid.as_deref().filter(|u| !u.is_empty()) {
            meta.insert(
                "ownerReferences".into(),
                json!([{
                    "apiVersion": set.api_version,
                    "kind": "ApplicationSet",
                    "name": set.metadata.name.clone().unwrap_or_default(),
                    "uid": uid,
                    "controller": true,
                    "blockOwnerDeletion": true,
                }]),
            );
        }
    }
    let origin = Origin {
        file: format!(
            "ApplicationSet {}",
            set.metadata.name.as_deref().unwrap_or_default()
        ),
        document: at.set + 1,
        line: 0,
    };
    if let Err(source) = Application::from_value(&app, &origin) {
        return Err(AppSetError::InvalidApplication {
            index: at.index,
            kind: at.kind,
            set: at.set,
            name: app["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            source: Box::new(source),
        });
    }
    Ok(app)
}

/// Renders `spec.templatePatch` with the parameters and merges it into the
/// Application (maps merge, `null` removes, lists are replaced). The project
/// cannot be patched, as in Argo CD: a patch must not move an Application
/// into a more privileged project.
///
/// # Deviation
/// Argo CD applies the patch as a strategic merge patch; the Application
/// types declare no merge keys, so that differs from a JSON merge patch only
/// in corner cases (`$patch` directives, which are not supported here).
fn apply_template_patch(
    app: &mut Json,
    patch: &str,
    params: &Params,
    renderer: &Renderer,
    at: &At,
) -> Result<(), AppSetError> {
    let fail = |message: String| AppSetError::TemplatePatch {
        index: at.index,
        kind: at.kind,
        set: at.set,
        message,
    };
    let text = renderer
        .render_str(patch, params, "spec.templatePatch")
        .map_err(|e| fail(e.to_string()))?;
    let parsed = trellis_helm::from_yaml_value(&text).map_err(|e| fail(e.to_string()))?;
    let patch =
        to_json(&parsed).ok_or_else(|| fail("the patch holds values JSON cannot".into()))?;
    match patch {
        Json::Null => Ok(()),
        Json::Object(_) => {
            let project = app["spec"]["project"].clone();
            merge_patch(app, &patch);
            if let Some(spec) = app.get_mut("spec").and_then(Json::as_object_mut) {
                spec.insert("project".into(), project);
            }
            Ok(())
        }
        other => Err(fail(format!(
            "the rendered patch must be a map, found {}",
            match other {
                Json::Array(_) => "a list",
                Json::String(_) => "a string",
                _ => "a scalar",
            }
        ))),
    }
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    if let Json::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Json::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_merges_maps_replaces_lists_and_removes_nulls() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "k": "v"});
        merge_patch(
            &mut target,
            &json!({"a": {"b": null, "d": 4}, "l": [3], "n": {"x": 1}}),
        );
        assert_eq!(
            target,
            json!({"a": {"c": 2, "d": 4}, "l": [3], "k": "v", "n": {"x": 1}})
        );
    }

    #[test]
    fn resources_finalizer_forms() {
        assert!(is_resources_finalizer(RESOURCES_FINALIZER));
        assert!(is_resources_finalizer(
            "resources-finalizer.argocd.argoproj.io/background"
        ));
        assert!(!is_resources_finalizer(
            "resources-finalizer.argocd.argoproj.iox"
        ));
        assert!(!is_resources_finalizer(
            "post-delete-finalizer.argocd.argoproj.io"
        ));
    }
}
