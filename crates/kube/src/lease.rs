//! Lease-based leader election and sharding of destination clusters across
//! controller replicas.
//!
//! Scale-out leans on Kubernetes itself instead of a consensus of our own: a
//! `coordination.k8s.io/v1` Lease names its holder, when it was last renewed
//! and for how long that renewal counts. Every write carries the
//! `resourceVersion` that was read, so when two replicas race, the API server
//! accepts one write and answers the other with 409 Conflict; the loser reads
//! again and finds the lease taken.
//!
//! - [`LeaderElector`]: one Lease, one holder. [`LeaderElector::run`] keeps
//!   trying (as a follower) or renewing (as the leader) in the background and
//!   reports leadership through a `watch` channel; on shutdown it releases the
//!   lease so another replica takes over at once instead of after the lease
//!   duration.
//! - [`shard_of`]: a stable hash that spreads destination clusters over a
//!   number of replicas (Argo CD's approach); the in-cluster API server always
//!   belongs to shard 0.
//! - [`ShardClaim`]: how a replica learns its shard number: it holds the first
//!   free Lease of `<prefix>-0 .. <prefix>-(N-1)`, so replicas started together
//!   end up with distinct shards, and a shard whose replica dies is picked up
//!   by a standby once its lease runs out.
//!
//! # Clocks
//! Expiry is judged from the lease's `renewTime + leaseDurationSeconds`
//! against the local wall clock, so replicas are assumed to keep their clocks
//! in step (NTP). A leader gives up leadership on its own monotonic clock
//! `renew_every` before others could take over, which absorbs modest skew.
//!
//! # Deviation
//! client-go's elector judges expiry by when it *observed* the last change of
//! the lease, which ignores clock skew but makes a newly started replica wait
//! a whole lease duration before taking over an abandoned lease; this one
//! trusts the recorded `renewTime`.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use tokio::sync::watch;

use crate::connect::Cluster;
use crate::error::{Error, Result};

/// The API server URL a controller uses for the cluster it runs in; it always
/// belongs to shard 0.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// How many times a write that lost a race (409 Conflict) is retried after
/// reading the lease again.
const CONFLICT_ATTEMPTS: u32 = 3;

/// Why a [`LeaseConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseConfigError {
    /// The lease duration is shorter than one second, the unit the Lease
    /// records it in.
    #[error("lease duration {0:?} is shorter than one second")]
    DurationTooShort(Duration),
    /// A zero renewal or retry interval would spin against the API server.
    #[error("lease renewal and retry intervals must be longer than zero")]
    ZeroInterval,
    /// A leader renewing no more often than the lease lasts would lose it
    /// between renewals.
    #[error(
        "lease renewal interval {renew_every:?} must be shorter than the lease duration {duration:?}"
    )]
    RenewTooSlow {
        /// The renewal interval asked for.
        renew_every: Duration,
        /// The lease duration asked for.
        duration: Duration,
    },
}

/// Timing of a lease: how long a renewal counts, and how often holders renew
/// and candidates retry.
///
/// A leader that has not renewed for `duration - renew_every` (on its own
/// clock) stops calling itself leader, so it has given up before anyone else
/// may take over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    duration: Duration,
    renew_every: Duration,
    retry_every: Duration,
}

impl Default for LeaseConfig {
    /// 15 s leases renewed every 5 s, candidates retrying every 2 s (the
    /// timing Kubernetes' own controllers use).
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            retry_every: Duration::from_secs(2),
        }
    }
}

impl LeaseConfig {
    /// A timing, checked: `duration` at least one second (it is recorded in
    /// whole seconds, rounded up), both intervals above zero and
    /// `renew_every` shorter than `duration`.
    pub fn new(
        duration: Duration,
        renew_every: Duration,
        retry_every: Duration,
    ) -> Result<Self, LeaseConfigError> {
        if duration < Duration::from_secs(1) {
            return Err(LeaseConfigError::DurationTooShort(duration));
        }
        if renew_every.is_zero() || retry_every.is_zero() {
            return Err(LeaseConfigError::ZeroInterval);
        }
        if renew_every >= duration {
            return Err(LeaseConfigError::RenewTooSlow {
                renew_every,
                duration,
            });
        }
        Ok(Self {
            duration,
            renew_every,
            retry_every,
        })
    }

    /// How long a renewal counts.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// How often a holder renews.
    pub fn renew_every(&self) -> Duration {
        self.renew_every
    }

    /// How often a candidate tries again.
    pub fn retry_every(&self) -> Duration {
        self.retry_every
    }

    /// How long a holder keeps calling itself holder without a successful
    /// renewal.
    fn renew_deadline(&self) -> Duration {
        self.duration.saturating_sub(self.renew_every)
    }

    /// The duration as recorded in the Lease: whole seconds, rounded up so
    /// the record never promises less than the holder keeps.
    fn duration_seconds(&self) -> i32 {
        let secs = self.duration.as_secs() + u64::from(self.duration.subsec_nanos() > 0);
        i32::try_from(secs).unwrap_or(i32::MAX)
    }
}

/// What a Lease says, as read from the API server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseState {
    /// The identity holding the lease; `None` when free (never taken, or
    /// released).
    pub holder: Option<String>,
    /// When the current holder took the lease.
    pub acquire_time: Option<Timestamp>,
    /// When the holder last renewed it.
    pub renew_time: Option<Timestamp>,
    /// How long a renewal counts, in seconds.
    pub duration_seconds: Option<i32>,
    /// How many times the lease changed hands.
    pub transitions: i32,
}

impl LeaseState {
    fn of(lease: &Lease) -> Self {
        let spec = lease.spec.as_ref();
        Self {
            holder: spec
                .and_then(|s| s.holder_identity.clone())
                .filter(|h| !h.is_empty()),
            acquire_time: spec.and_then(|s| s.acquire_time.as_ref()).map(|t| t.0),
            renew_time: spec.and_then(|s| s.renew_time.as_ref()).map(|t| t.0),
            duration_seconds: spec.and_then(|s| s.lease_duration_seconds),
            transitions: spec.and_then(|s| s.lease_transitions).unwrap_or(0),
        }
    }

    /// When the last renewal stops counting; `None` when the lease lacks a
    /// renewal time or a duration.
    pub fn expiry(&self) -> Option<Timestamp> {
        let renewed = self.renew_time?;
        let duration = SignedDuration::from_secs(i64::from(self.duration_seconds?));
        Some(renewed.saturating_add(duration).unwrap_or(Timestamp::MAX))
    }

    /// Whether someone holds the lease at `now`: a holder is named and its
    /// last renewal still counts. A lease with a holder but no renewal time or
    /// duration is treated as free, since nothing says how long it counts.
    pub fn is_held_at(&self, now: Timestamp) -> bool {
        self.holder.is_some() && self.expiry().is_some_and(|expiry| now < expiry)
    }
}

/// Acquires, renews and releases one Lease on behalf of one identity.
///
/// Create one per replica with a unique identity (the pod name, say); all
/// replicas name the same lease.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    config: LeaseConfig,
}

impl LeaderElector {
    /// An elector for the Lease `name` in `namespace` (created on first
    /// acquisition), acting as `identity`.
    pub fn new(
        cluster: &Cluster,
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
        config: LeaseConfig,
    ) -> Self {
        let namespace = namespace.into();
        Self {
            api: Api::namespaced(cluster.client().clone(), &namespace),
            namespace,
            name: name.into(),
            identity: identity.into(),
            config,
        }
    }

    /// The identity this elector acts as.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The Lease's name.
    pub fn lease_name(&self) -> &str {
        &self.name
    }

    /// The timing.
    pub fn config(&self) -> LeaseConfig {
        self.config
    }

    fn what(&self) -> String {
        format!("Lease {}/{}", self.namespace, self.name)
    }

    async fn read(&self) -> Result<Option<Lease>> {
        self.api
            .get_opt(&self.name)
            .await
            .map_err(|e| Error::from_kube("get", self.what(), e))
    }

    /// Reads the Lease; `None` when it does not exist yet.
    pub async fn observe(&self) -> Result<Option<LeaseState>> {
        Ok(self.read().await?.as_ref().map(LeaseState::of))
    }

    /// Takes the Lease when it is free (absent, released or expired), renews
    /// it when this identity holds it, and leaves it alone when someone else
    /// holds it. Returns whether this identity holds the lease afterwards.
    ///
    /// Losing a race with another replica's write is not an error: the lease
    /// is read again and judged anew.
    pub async fn try_acquire_or_renew(&self) -> Result<bool> {
        for _ in 0..CONFLICT_ATTEMPTS {
            let now = Timestamp::now();
            let written = match self.read().await? {
                None => {
                    let lease = Lease {
                        metadata: ObjectMeta {
                            name: Some(self.name.clone()),
                            namespace: Some(self.namespace.clone()),
                            ..ObjectMeta::default()
                        },
                        spec: Some(LeaseSpec {
                            holder_identity: Some(self.identity.clone()),
                            acquire_time: Some(MicroTime(now)),
                            renew_time: Some(MicroTime(now)),
                            lease_duration_seconds: Some(self.config.duration_seconds()),
                            lease_transitions: Some(0),
                            ..LeaseSpec::default()
                        }),
                    };
                    self.api
                        .create(&PostParams::default(), &lease)
                        .await
                        .map_err(|e| ("create", e))
                }
                Some(mut lease) => {
                    let state = LeaseState::of(&lease);
                    let mine = state.holder.as_deref() == Some(self.identity.as_str());
                    if !mine && state.is_held_at(now) {
                        return Ok(false);
                    }
                    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
                    if !mine {
                        tracing::info!(
                            lease = %self.what(),
                            identity = %self.identity,
                            previous = state.holder.as_deref().unwrap_or(""),
                            "taking over lease"
                        );
                        spec.holder_identity = Some(self.identity.clone());
                        spec.acquire_time = Some(MicroTime(now));
                        spec.lease_transitions = Some(state.transitions.saturating_add(1));
                    }
                    spec.renew_time = Some(MicroTime(now));
                    spec.lease_duration_seconds = Some(self.config.duration_seconds());
                    // The resourceVersion read above makes this write fail
                    // with 409 if anyone wrote in between.
                    self.api
                        .replace(&self.name, &PostParams::default(), &lease)
                        .await
                        .map_err(|e| ("update", e))
                }
            };
            match written {
                Ok(_) => return Ok(true),
                Err((_, kube::Error::Api(status))) if status.code == 409 => {
                    tracing::debug!(lease = %self.what(), "lost a race for the lease, reading again");
                }
                Err((verb, e)) => return Err(Error::from_kube(verb, self.what(), e)),
            }
        }
        Ok(false)
    }

    /// Gives the Lease up if this identity holds it, clearing the holder so
    /// another replica takes over at its next attempt instead of waiting for
    /// the lease to expire. Returns whether there was anything to release.
    pub async fn release(&self) -> Result<bool> {
        for _ in 0..CONFLICT_ATTEMPTS {
            let Some(mut lease) = self.read().await? else {
                return Ok(false);
            };
            if LeaseState::of(&lease).holder.as_deref() != Some(self.identity.as_str()) {
                return Ok(false);
            }
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
            }
            match self
                .api
                .replace(&self.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => {
                    tracing::info!(lease = %self.what(), identity = %self.identity, "released lease");
                    return Ok(true);
                }
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(e) => return Err(Error::from_kube("update", self.what(), e)),
            }
        }
        Ok(false)
    }

    /// Keeps competing for the Lease in the background until `shutdown`
    /// completes, then releases it.
    ///
    /// The channel reads `true` while this identity leads. A leader that
    /// cannot renew for `duration - renew_every` reports `false` before
    /// anyone else may take over. On shutdown the channel turns `false`
    /// first, then the lease is released, then the sender is dropped: a
    /// `changed()` that returns an error marks the end of the handover.
    ///
    /// Must be called within a Tokio runtime.
    pub fn run<S>(self, shutdown: S) -> watch::Receiver<bool>
    where
        S: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let elector = self;
            hold(
                &elector.what(),
                elector.config,
                || async { Ok(elector.try_acquire_or_renew().await?.then_some(())) },
                |held| publish(&tx, held.is_some()),
                shutdown,
            )
            .await;
            if let Err(e) = elector.release().await {
                tracing::warn!(lease = %elector.what(), error = %e, "could not release lease");
            }
            drop(tx);
        });
        rx
    }
}

fn publish<T: PartialEq>(tx: &watch::Sender<T>, value: T) {
    tx.send_if_modified(|current| {
        if *current == value {
            false
        } else {
            *current = value;
            true
        }
    });
}

/// The loop shared by the elector and the shard claim: attempt (bounded by
/// `renew_every`), publish what is held, wait `renew_every` while holding or
/// `retry_every` otherwise, until `shutdown`. Publishes `None` on the way out.
async fn hold<T, A, AF, S>(
    what: &str,
    config: LeaseConfig,
    mut attempt: A,
    publish: impl Fn(Option<T>),
    shutdown: S,
) where
    T: Clone,
    A: FnMut() -> AF,
    AF: Future<Output = Result<Option<T>>>,
    S: Future<Output = ()>,
{
    tokio::pin!(shutdown);
    let mut held: Option<(T, Instant)> = None;
    loop {
        let started = Instant::now();
        let renewed = match tokio::time::timeout(config.renew_every, attempt()).await {
            Ok(Ok(Some(value))) => {
                held = Some((value, started));
                true
            }
            Ok(Ok(None)) => {
                held = None;
                false
            }
            Ok(Err(e)) => {
                tracing::warn!(lease = what, error = %e, "lease attempt failed");
                false
            }
            Err(_) => {
                tracing::warn!(lease = what, "lease attempt timed out");
                false
            }
        };
        if held
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() >= config.renew_deadline())
        {
            tracing::warn!(lease = what, "lease not renewed in time, giving it up");
            held = None;
        }
        publish(held.as_ref().map(|(value, _)| value.clone()));
        let wait = match &held {
            Some(_) if renewed => config.renew_every,
            // Renewal failed: retry sooner, and wake up by the deadline.
            Some((_, at)) => config
                .retry_every
                .min(config.renew_deadline().saturating_sub(at.elapsed())),
            None => config.retry_every,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => break,
        }
    }
    publish(None);
}

/// The shard of a destination cluster among `replicas` controller replicas:
/// a stable hash (32-bit FNV-1a) of the API server URL, trimmed of
/// surrounding whitespace and trailing `/` and lower-cased, modulo the
/// replica count. The in-cluster server ([`IN_CLUSTER_SERVER`]) is always
/// shard 0, and with fewer than two replicas everything is.
///
/// The value depends only on the URL and the count, never on the process or
/// the Trellis version, so every replica computes the same assignment.
///
/// # Deviation
/// Argo CD hashes the ID of the cluster's Secret; the URL is what a Trellis
/// destination always has.
pub fn shard_of(server_url: &str, replicas: u32) -> u32 {
    if replicas < 2 {
        return 0;
    }
    let url = server_url.trim().trim_end_matches('/').to_lowercase();
    if url == IN_CLUSTER_SERVER {
        return 0;
    }
    fnv1a_32(url.as_bytes()) % replicas
}

/// 32-bit FNV-1a: std's hashers are free to change between releases, and
/// replicas running different builds must agree.
fn fnv1a_32(bytes: &[u8]) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(PRIME))
}

/// The shard a replica holds, out of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// This replica's shard, `0 .. replicas`.
    pub index: u32,
    /// The number of shards (replicas).
    pub replicas: u32,
}

impl Shard {
    /// Whether the destination cluster at `server_url` belongs to this shard
    /// ([`shard_of`]).
    pub fn owns(&self, server_url: &str) -> bool {
        shard_of(server_url, self.replicas) == self.index
    }
}

/// A replica's claim on one of `replicas` shard numbers, each a Lease named
/// `<prefix>-<n>`.
///
/// A claim keeps the shard it holds; without one it takes a lease it still
/// holds from before (a restart under the same identity) or else the
/// lowest-numbered free lease. Replicas beyond the shard count stay on
/// standby and take over the shard of a replica whose lease runs out.
#[derive(Debug)]
pub struct ShardClaim {
    electors: Vec<LeaderElector>,
    replicas: u32,
    held: Mutex<Option<u32>>,
    config: LeaseConfig,
}

impl ShardClaim {
    /// A claim on the Leases `<prefix>-0 .. <prefix>-(replicas-1)` in
    /// `namespace`, acting as `identity`. A `replicas` of 0 counts as 1.
    pub fn new(
        cluster: &Cluster,
        namespace: &str,
        prefix: &str,
        identity: &str,
        replicas: u32,
        config: LeaseConfig,
    ) -> Self {
        let replicas = replicas.max(1);
        Self {
            electors: (0..replicas)
                .map(|n| {
                    LeaderElector::new(
                        cluster,
                        namespace,
                        Self::lease_name(prefix, n),
                        identity,
                        config,
                    )
                })
                .collect(),
            replicas,
            held: Mutex::new(None),
            config,
        }
    }

    /// The Lease name of shard `index`.
    pub fn lease_name(prefix: &str, index: u32) -> String {
        format!("{prefix}-{index}")
    }

    /// The number of shards.
    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    fn shard(&self, index: u32) -> Shard {
        Shard {
            index,
            replicas: self.replicas,
        }
    }

    fn held(&self) -> Option<u32> {
        *self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_held(&self, index: Option<u32>) {
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = index;
    }

    /// Renews the shard held, or claims one: returns the shard this replica
    /// holds afterwards, `None` when every shard is held by others.
    pub async fn try_claim(&self) -> Result<Option<Shard>> {
        if let Some(index) = self.held() {
            if self.electors[index as usize].try_acquire_or_renew().await? {
                return Ok(Some(self.shard(index)));
            }
            tracing::warn!(shard = index, "lost shard lease");
            self.set_held(None);
        }
        let now = Timestamp::now();
        let mut own = Vec::new();
        let mut free = Vec::new();
        for (index, elector) in (0u32..).zip(&self.electors) {
            match elector.observe().await? {
                Some(state) if state.holder.as_deref() == Some(elector.identity()) => {
                    own.push(index)
                }
                Some(state) if state.is_held_at(now) => {}
                _ => free.push(index),
            }
        }
        for index in own.iter().chain(&free).copied() {
            if self.electors[index as usize].try_acquire_or_renew().await? {
                self.set_held(Some(index));
                // A restart may have left this identity on further leases:
                // hand them back instead of letting them expire.
                for &other in own.iter().filter(|&&o| o != index) {
                    self.electors[other as usize].release().await?;
                }
                tracing::info!(shard = index, replicas = self.replicas, "claimed shard");
                return Ok(Some(self.shard(index)));
            }
        }
        Ok(None)
    }

    /// Gives up the shard held, if any, so a standby can take it at once.
    pub async fn release(&self) -> Result<()> {
        if let Some(index) = self.held() {
            self.set_held(None);
            self.electors[index as usize].release().await?;
        }
        Ok(())
    }

    /// Keeps the claim in the background until `shutdown` completes, then
    /// releases it; the channel reads the shard held (`None` on standby).
    /// As with [`LeaderElector::run`], the channel turns `None` before the
    /// release and its sender is dropped after it.
    ///
    /// Must be called within a Tokio runtime.
    pub fn run<S>(self, shutdown: S) -> watch::Receiver<Option<Shard>>
    where
        S: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let claim = self;
            let what = format!("shard claim over {} leases", claim.replicas);
            hold(
                &what,
                claim.config,
                || claim.try_claim(),
                |held| publish(&tx, held),
                shutdown,
            )
            .await;
            if let Err(e) = claim.release().await {
                tracing::warn!(error = %e, "could not release shard lease");
            }
            drop(tx);
        });
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert!(LeaseConfig::new(s(2), ms(500), ms(100)).is_ok());
        assert_eq!(
            LeaseConfig::new(ms(900), ms(100), ms(100)),
            Err(LeaseConfigError::DurationTooShort(ms(900)))
        );
        assert_eq!(
            LeaseConfig::new(s(1), s(0), ms(100)),
            Err(LeaseConfigError::ZeroInterval)
        );
        assert_eq!(
            LeaseConfig::new(s(1), s(1), ms(100))
                .unwrap_err()
                .to_string(),
            "lease renewal interval 1s must be shorter than the lease duration 1s"
        );
        let c = LeaseConfig::new(ms(1500), ms(500), ms(100)).unwrap();
        assert_eq!(c.duration_seconds(), 2);
        assert_eq!(c.renew_deadline(), ms(1000));
        assert_eq!(LeaseConfig::default().duration_seconds(), 15);
    }

    #[test]
    fn lease_state_expiry() {
        let t0: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let state = LeaseState {
            holder: Some("a".into()),
            renew_time: Some(t0),
            duration_seconds: Some(10),
            ..LeaseState::default()
        };
        let at = |secs: i64| t0.saturating_add(SignedDuration::from_secs(secs)).unwrap();
        assert_eq!(state.expiry(), Some(at(10)));
        assert!(state.is_held_at(at(9)));
        assert!(!state.is_held_at(at(10)));
        let released = LeaseState {
            holder: None,
            ..state.clone()
        };
        assert!(!released.is_held_at(at(1)));
        let undated = LeaseState {
            renew_time: None,
            ..state
        };
        assert!(!undated.is_held_at(at(1)));
    }

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn shard_of_is_stable() {
        // FNV-1a of the URL modulo the replica count, computed independently.
        assert_eq!(
            shard_of("https://cluster-a.example.com:6443", 3),
            0xb5b0_b14a % 3
        );
        assert_eq!(
            shard_of("https://cluster-a.example.com:6443", 3),
            shard_of(" HTTPS://Cluster-A.example.com:6443/ ", 3)
        );
        for replicas in [0, 1, 2, 5, 10] {
            assert_eq!(shard_of(IN_CLUSTER_SERVER, replicas), 0);
            assert_eq!(shard_of("https://kubernetes.default.svc/", replicas), 0);
        }
        assert_eq!(shard_of("https://anything", 0), 0);
        assert_eq!(shard_of("https://anything", 1), 0);
    }

    #[test]
    fn shard_of_is_roughly_balanced() {
        for replicas in [2u32, 3, 4, 7] {
            let mut counts = vec![0u32; replicas as usize];
            let total = 7000;
            for i in 0..total {
                let url = format!("https://cluster-{i}.region-{}.example.com:6443", i % 13);
                counts[shard_of(&url, replicas) as usize] += 1;
            }
            let expected = total / replicas;
            for (shard, &count) in counts.iter().enumerate() {
                assert!(
                    count.abs_diff(expected) * 10 < expected,
                    "shard {shard} of {replicas} got {count}, expected about {expected}: {counts:?}"
                );
            }
        }
    }

    #[test]
    fn shard_owns_its_servers() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, replicas: 3 }).collect();
        for i in 0..50 {
            let url = format!("https://c{i}.example.com");
            assert_eq!(shards.iter().filter(|s| s.owns(&url)).count(), 1);
        }
        assert!(shards[0].owns(IN_CLUSTER_SERVER));
    }
}
