//! A cluster per test and a connection to it through a written kubeconfig.

use std::time::Duration;

use trellis_kube::{Cluster, ConnectOptions};
use trellis_localcluster::{AuditLog, RunningCluster, ServeOptions, start};

/// Longest wait of one step.
pub const STEP: Duration = Duration::from_secs(2);

pub struct Env {
    pub cluster: RunningCluster,
    pub kube: Cluster,
    pub _dir: tempfile::TempDir,
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let cluster = start(ServeOptions::default()).await.unwrap();
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let kube = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig),
            context: None,
        })
        .await
        .unwrap();
        Env {
            cluster,
            kube,
            _dir: dir,
        }
    }

    pub fn audit(&self) -> AuditLog {
        self.cluster.audit()
    }
}
