//! Kubernetes Events on Applications: sync start, success and failure.

use serde_json::json;
use tracing::debug;
use trellis_kube::ApplyOptions;

use crate::AppKey;
use crate::controller::Ctx;

/// Records an Event about an Application. Failing to record one is logged,
/// never an error: events are a courtesy, the status is the record.
pub(crate) async fn record(ctx: &Ctx, key: &AppKey, type_: &str, reason: &str, message: &str) {
    let now = crate::status::now();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let uid = ctx
        .app(key)
        .and_then(|o| {
            o.pointer("/metadata/uid")
                .and_then(|u| u.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": format!("{}.{nanos:x}", key.name),
            "namespace": key.namespace,
        },
        "involvedObject": {
            "apiVersion": format!("{}/{}", key.group, trellis_model::VERSION),
            "kind": "Application",
            "name": key.name,
            "namespace": key.namespace,
            "uid": uid,
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "trellis-controller"},
        "reportingComponent": "trellis-controller",
        "reportingInstance": ctx.options.identity,
    });
    let options = ApplyOptions {
        field_manager: "trellis-controller".into(),
        ..ApplyOptions::default()
    };
    if let Err(error) = ctx.cluster.apply(&event, &options).await {
        debug!(app = %key, %error, "cannot record an event");
    }
}
