//! Trellis's embedded Kubernetes API server.
//!
//! A cluster and nothing more: it speaks the Kubernetes API over HTTP to unchanged clients
//! (kubectl, kube-rs), keeps its objects in SQLite, and knows nothing of Trellis. Because the
//! sync engine is tested against it, fidelity to a real API server is the point; every known
//! difference is listed in `DIFFERENCES.md` beside this crate.
//!
//! Start one with [`start`] (tests) or [`serve_blocking`] (`trellis cluster serve`); reach it
//! only through its kubeconfig.
//!
//! It behaves like a living cluster: garbage collection and namespace termination always run,
//! and simulated controllers ([`sim`], on unless [`ServeOptions::simulate`] is off) roll out
//! Deployments, StatefulSets and DaemonSets, run Jobs, bind claims and give load balancers an
//! address. Tests of the layers above can break it on purpose through
//! [`RunningCluster::faults`] ([`faults`]).
//!
//! ```
//! # async fn demo() -> Result<(), trellis_localcluster::Error> {
//! let dir = std::env::temp_dir().join(format!("trellis-doc-{}", std::process::id()));
//! let cluster = trellis_localcluster::start(trellis_localcluster::ServeOptions {
//!     kubeconfig_path: Some(dir.join("kubeconfig")), // port 0, in memory, loopback
//!     ..Default::default()
//! })
//! .await?;
//! assert!(cluster.url().starts_with("http://127.0.0.1:"));
//! // ... point kubectl or kube-rs at `dir/kubeconfig` ...
//! let requests = cluster.audit().entries(); // what clients asked, in order
//! assert!(requests.is_empty());
//! cluster.shutdown().await?;
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod audit;
pub mod crd;
pub mod defaults;
pub mod faults;
pub mod merge;
pub mod registry;
pub mod schema;
mod server;
pub mod sim;
pub mod store;
pub mod util;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod schema_gen;

pub use audit::{AuditEntry, AuditLog};
pub use defaults::AdmissionRule;
pub use faults::{FaultAction, FaultId, FaultRule, Faults};
pub use server::{Error, RunningCluster, ServeOptions, serve_blocking, start};
pub use sim::SimulationOptions;
