//! Deleting an application's resources: what the resources finalizer of an
//! Application does when the Application is deleted with cascade.

use std::cmp::Reverse;

use trellis_kube::Propagation;
use trellis_model::{Application, ResourceKey};

use crate::engine::{Engine, Prepared, app_id};
use crate::error::Result;
use crate::plan::{ResourceOptions, kind_rank};

/// What deleting an application's resources did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppDeletion {
    /// Resources deleted (or already gone when the delete was sent).
    pub deleted: Vec<ResourceKey>,
    /// Resources left in place because they say `Delete=false`.
    pub kept: Vec<ResourceKey>,
}

impl Engine {
    /// Deletes every live resource tracked as this application's, except the
    /// ones annotated `Delete=false`, in reverse install order (workloads
    /// before the ConfigMaps they read, Namespaces and CRDs last).
    ///
    /// Only objects whose tracking annotation names this application and that
    /// very object are touched, so another application's resources never are.
    pub async fn delete_app(
        &self,
        app: &Application,
        propagation: Propagation,
    ) -> Result<AppDeletion> {
        let id = app_id(app);
        let live = self.live_objects(&id, &Prepared::default()).await?;
        let mut targets: Vec<(ResourceKey, bool)> = live
            .iter()
            .map(|(key, object)| {
                let keep = ResourceOptions::of(object, ResourceOptions::default()).no_delete;
                (key.clone(), keep)
            })
            .collect();
        targets.sort_by_key(|(key, _)| (Reverse(kind_rank(&key.kind)), key.clone()));
        let mut report = AppDeletion::default();
        for (key, keep) in targets {
            if keep {
                report.kept.push(key);
                continue;
            }
            self.cluster().delete(&key, propagation).await?;
            self.wrote(&id, &key, None);
            report.deleted.push(key);
        }
        Ok(report)
    }
}
