//! Leader election and shard claims over Leases in the embedded cluster.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use tokio::sync::{oneshot, watch};
use trellis_kube::lease::{LeaderElector, LeaseConfig, LeaseState, Shard, ShardClaim};

use crate::support::{Env, STEP};

const NS: &str = "default";
const LEASE: &str = "trellis-controller";

/// 1 s leases renewed every 300 ms, candidates retrying every 100 ms.
fn fast() -> LeaseConfig {
    LeaseConfig::new(
        Duration::from_secs(1),
        Duration::from_millis(300),
        Duration::from_millis(100),
    )
    .unwrap()
}

fn elector(env: &Env, identity: &str) -> LeaderElector {
    LeaderElector::new(&env.kube, NS, LEASE, identity, fast())
}

/// A shutdown future and the switch that completes it.
fn shutdown() -> (
    oneshot::Sender<()>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

async fn wait_for<T: Clone>(
    rx: &mut watch::Receiver<T>,
    what: &str,
    condition: impl FnMut(&T) -> bool,
) -> T {
    tokio::time::timeout(STEP, rx.wait_for(condition))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|_| panic!("channel closed while waiting for {what}"))
        .clone()
}

/// Waits until the channel's sender is gone: the task has finished.
async fn wait_closed<T>(rx: &mut watch::Receiver<T>) {
    tokio::time::timeout(STEP, async { while rx.changed().await.is_ok() {} })
        .await
        .expect("task did not finish in time");
}

async fn state(env: &Env) -> LeaseState {
    elector(env, "reader").observe().await.unwrap().unwrap()
}

#[tokio::test]
async fn two_electors_yield_exactly_one_leader() {
    let env = Env::new().await;
    let (stop_a, shutdown_a) = shutdown();
    let (stop_b, shutdown_b) = shutdown();
    let mut a = elector(&env, "replica-a").run(shutdown_a);
    let mut b = elector(&env, "replica-b").run(shutdown_b);

    // Whichever wins, the other must stay a follower while the leader renews.
    let (mut leader, follower, leader_id) = tokio::time::timeout(STEP, async {
        loop {
            tokio::select! {
                r = a.changed() => { r.unwrap(); if *a.borrow() { break (a, b, "replica-a"); } }
                r = b.changed() => { r.unwrap(); if *b.borrow() { break (b, a, "replica-b"); } }
            }
        }
    })
    .await
    .expect("nobody became leader");

    let first = state(&env).await;
    assert_eq!(first.holder.as_deref(), Some(leader_id));
    assert_eq!(first.transitions, 0);
    // Wait (on the lease itself) until the leader has renewed past its first
    // lease duration: the follower had every chance to take over by then.
    let outlived = first.acquire_time.unwrap() + SignedDuration::from_secs(1);
    tokio::time::timeout(STEP, async {
        loop {
            let now = state(&env).await;
            assert_eq!(now.holder.as_deref(), Some(leader_id));
            if now.renew_time.unwrap() > outlived {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("leader did not keep renewing");
    assert!(*leader.borrow());
    assert!(!*follower.borrow());
    assert_eq!(state(&env).await.transitions, 0);

    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    wait_closed(&mut leader).await;
}

#[tokio::test]
async fn released_lease_is_taken_over_at_once() {
    let env = Env::new().await;
    let a = elector(&env, "replica-a");
    assert!(a.try_acquire_or_renew().await.unwrap());
    let held = state(&env).await;

    let (stop_b, shutdown_b) = shutdown();
    let mut b = elector(&env, "replica-b").run(shutdown_b);
    // B keeps trying but stays a follower while A holds the lease.
    assert!(!*b.borrow());
    assert!(a.release().await.unwrap());
    assert!(!a.release().await.unwrap(), "nothing left to release");
    wait_for(&mut b, "replica-b to lead", |leads| *leads).await;

    let taken = state(&env).await;
    assert_eq!(taken.holder.as_deref(), Some("replica-b"));
    assert_eq!(taken.transitions, 1);
    // Taken before A's last renewal could have expired: the release, not the
    // expiry, handed it over.
    assert!(taken.acquire_time.unwrap() < held.expiry().unwrap());
    // A is now refused.
    assert!(!a.try_acquire_or_renew().await.unwrap());

    stop_b.send(()).unwrap();
    wait_closed(&mut b).await;
    assert_eq!(
        state(&env).await.holder,
        None,
        "shutdown releases the lease"
    );
}

#[tokio::test]
async fn silent_leader_is_replaced_after_the_lease_duration() {
    let env = Env::new().await;
    let a = elector(&env, "replica-a");
    assert!(a.try_acquire_or_renew().await.unwrap());
    // A "crashes": it neither renews nor releases.
    drop(a);
    let held = state(&env).await;

    let (stop_b, shutdown_b) = shutdown();
    let mut b = elector(&env, "replica-b").run(shutdown_b);
    wait_for(&mut b, "replica-b to lead", |leads| *leads).await;

    let taken = state(&env).await;
    assert_eq!(taken.holder.as_deref(), Some("replica-b"));
    assert_eq!(taken.transitions, 1);
    assert!(
        taken.acquire_time.unwrap() >= held.expiry().unwrap(),
        "taken over at {:?}, before the lease expired at {:?}",
        taken.acquire_time,
        held.expiry()
    );

    stop_b.send(()).unwrap();
    wait_closed(&mut b).await;
}

#[tokio::test]
async fn leader_that_loses_the_lease_says_so() {
    let env = Env::new().await;
    let (stop_a, shutdown_a) = shutdown();
    let mut a = elector(&env, "replica-a").run(shutdown_a);
    wait_for(&mut a, "replica-a to lead", |leads| *leads).await;
    // Someone else forces the lease over (an operator, a split brain); A must
    // notice at its next renewal instead of carrying on.
    let intruder = elector(&env, "intruder");
    let api: Api<Lease> = Api::namespaced(env.kube.client().clone(), NS);
    tokio::time::timeout(STEP, async {
        loop {
            let mut lease = api.get(LEASE).await.unwrap();
            let spec = lease.spec.as_mut().unwrap();
            spec.holder_identity = Some("intruder".into());
            spec.renew_time = Some(MicroTime(Timestamp::now()));
            // A 409 means A renewed in between: read again.
            if api
                .replace(LEASE, &PostParams::default(), &lease)
                .await
                .is_ok()
            {
                break;
            }
        }
    })
    .await
    .expect("could not force the lease over");
    wait_for(&mut a, "replica-a to step down", |leads| !*leads).await;
    assert!(intruder.try_acquire_or_renew().await.unwrap());
    stop_a.send(()).unwrap();
    wait_closed(&mut a).await;
    assert_eq!(
        state(&env).await.holder.as_deref(),
        Some("intruder"),
        "shutdown releases only a lease it holds"
    );
}

fn claim(env: &Env, identity: &str, replicas: u32) -> ShardClaim {
    ShardClaim::new(&env.kube, NS, "trellis-shard", identity, replicas, fast())
}

#[tokio::test]
async fn claimers_started_together_get_distinct_shards() {
    let env = Env::new().await;
    let (a, b, c) = (
        claim(&env, "replica-a", 2),
        claim(&env, "replica-b", 2),
        claim(&env, "replica-c", 2),
    );
    let (sa, sb) = tokio::join!(a.try_claim(), b.try_claim());
    let (sa, sb) = (sa.unwrap().unwrap(), sb.unwrap().unwrap());
    let mut indexes = [sa.index, sb.index];
    indexes.sort();
    assert_eq!(indexes, [0, 1]);
    assert_eq!((sa.replicas, sb.replicas), (2, 2));

    // A third replica is a standby until a shard frees up.
    assert_eq!(c.try_claim().await.unwrap(), None);
    // Renewing keeps the same shard.
    assert_eq!(a.try_claim().await.unwrap(), Some(sa));

    a.release().await.unwrap();
    assert_eq!(c.try_claim().await.unwrap(), Some(sa));
    assert_eq!(b.try_claim().await.unwrap(), Some(sb));
    assert_eq!(a.try_claim().await.unwrap(), None);
}

#[tokio::test]
async fn restarted_replica_keeps_its_own_shard() {
    let env = Env::new().await;
    let a = claim(&env, "replica-a", 3);
    let b = claim(&env, "replica-b", 3);
    assert_eq!(a.try_claim().await.unwrap().unwrap().index, 0);
    assert_eq!(b.try_claim().await.unwrap().unwrap().index, 1);
    // Shard 0 is released; B restarts (a fresh claim, same identity) and
    // finds its own lease on shard 1 rather than the lower free one.
    a.release().await.unwrap();
    drop(b);
    let b = claim(&env, "replica-b", 3);
    assert_eq!(b.try_claim().await.unwrap().unwrap().index, 1);
}

#[tokio::test]
async fn running_claims_report_their_shards() {
    let env = Env::new().await;
    let (stop_a, shutdown_a) = shutdown();
    let (stop_b, shutdown_b) = shutdown();
    let mut a = claim(&env, "replica-a", 2).run(shutdown_a);
    let mut b = claim(&env, "replica-b", 2).run(shutdown_b);
    let sa: Shard = wait_for(&mut a, "a shard for replica-a", Option::is_some)
        .await
        .unwrap();
    let sb: Shard = wait_for(&mut b, "a shard for replica-b", Option::is_some)
        .await
        .unwrap();
    assert_ne!(sa.index, sb.index);
    // Every server belongs to exactly one of them.
    for url in [
        "https://kubernetes.default.svc",
        "https://a.example.com",
        "https://b.example.com:6443",
    ] {
        assert!(sa.owns(url) != sb.owns(url), "{url}");
    }
    assert!(
        [sa, sb]
            .iter()
            .any(|s| s.index == 0 && s.owns("https://kubernetes.default.svc"))
    );

    // A standby started after A leaves takes over A's shard at once.
    stop_a.send(()).unwrap();
    wait_closed(&mut a).await;
    let (stop_c, shutdown_c) = shutdown();
    let mut c = claim(&env, "replica-c", 2).run(shutdown_c);
    let sc = wait_for(&mut c, "a shard for replica-c", Option::is_some)
        .await
        .unwrap();
    assert_eq!(sc, sa);

    stop_b.send(()).unwrap();
    stop_c.send(()).unwrap();
    wait_closed(&mut b).await;
    wait_closed(&mut c).await;
}
