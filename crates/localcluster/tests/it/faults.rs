//! Injected faults, each observed by a client: errors per verb and resource, forced conflicts,
//! throttling with Retry-After, latency and dropped watch streams.

use std::time::{Duration, Instant};

use trellis_localcluster::{FaultAction, FaultRule};

use crate::http;
use crate::support::Env;

const CM: &str =
    r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}"#;
const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[test]
fn errors_conflicts_and_throttling_hit_exactly_the_matching_requests() {
    let env = Env::new();
    let cluster = env.cluster.as_ref().unwrap();
    let faults = cluster.faults();
    let addr = cluster.addr();

    // The next two creates of configmaps fail with 500; other verbs and resources pass.
    faults.add(
        FaultRule::new(FaultAction::Error(500))
            .verbs(&["create"])
            .resources(&["configmaps"])
            .times(2),
    );
    assert_eq!(http::request(addr, "GET", CMS, "", "").status, 200);
    let r = http::request(addr, "POST", CMS, "application/json", CM);
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["reason"], "InternalError");
    // kubectl sees the second.
    let f = env.write("cm.yaml", CM);
    let e = env.fails(&["create", "-f", f.to_str().unwrap()]);
    assert!(e.contains("Internal error"), "{e}");
    assert_eq!(
        http::request(addr, "POST", CMS, "application/json", CM).status,
        201
    );
    assert!(faults.rules().is_empty());

    // A forced conflict on the next update, seen by kubectl.
    faults.add(
        FaultRule::new(FaultAction::Conflict)
            .verbs(&["patch"])
            .times(1),
    );
    let e = env.fails(&["label", "cm", "a", "x=y"]);
    assert!(e.contains("the object has been modified"), "{e}");
    env.ok(&["label", "cm", "a", "x=y"]);

    // Throttling: 429 with Retry-After.
    faults.add(
        FaultRule::new(FaultAction::Throttle {
            retry_after: Duration::from_secs(3),
        })
        .times(1),
    );
    let r = http::request(addr, "GET", &format!("{CMS}/a"), "", "");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("Retry-After"), Some("3"));
    assert_eq!(r.json()["details"]["retryAfterSeconds"], 3);
    assert_eq!(
        http::request(addr, "GET", &format!("{CMS}/a"), "", "").status,
        200
    );

    // Failed requests are in the audit log with their codes.
    let codes: Vec<u16> = env
        .audit()
        .entries()
        .iter()
        .filter(|e| !e.internal())
        .map(|e| e.code)
        .collect();
    assert!(
        codes.contains(&500) && codes.contains(&409) && codes.contains(&429),
        "{codes:?}"
    );
}

#[test]
fn latency_and_seeded_error_rates() {
    let env = Env::new();
    let cluster = env.cluster.as_ref().unwrap();
    let faults = cluster.faults();
    let addr = cluster.addr();
    let id = faults
        .add(FaultRule::new(FaultAction::Latency(Duration::from_millis(300))).verbs(&["list"]));
    let t = Instant::now();
    assert_eq!(http::request(addr, "GET", CMS, "", "").status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    faults.remove(id);

    let outcomes = |seed| {
        faults.clear();
        faults.seed(seed);
        faults.add(
            FaultRule::new(FaultAction::Error(503))
                .verbs(&["get"])
                .probability(0.5),
        );
        (0..20)
            .map(|_| http::request(addr, "GET", "/api/v1/namespaces/default", "", "").status)
            .collect::<Vec<_>>()
    };
    let a = outcomes(42);
    assert_eq!(a, outcomes(42), "the same seed fails the same requests");
    assert!(a.contains(&503) && a.contains(&200), "{a:?}");
    faults.clear();
}

#[test]
fn watch_streams_are_dropped() {
    let env = Env::new();
    let cluster = env.cluster.as_ref().unwrap();
    let faults = cluster.faults();
    let addr = cluster.addr();
    http::request(addr, "POST", CMS, "application/json", CM);
    // A rule cuts the next watch after a moment: the client sees the initial event, then a
    // broken stream instead of a clean end.
    faults.add(
        FaultRule::new(FaultAction::DropWatch {
            after: Duration::from_millis(200),
        })
        .resources(&["configmaps"])
        .times(1),
    );
    let (events, clean) = http::watch(addr, &format!("{CMS}?watch=1&timeoutSeconds=5"));
    assert_eq!(events.len(), 1);
    assert!(!clean);
    // A clean watch ends cleanly at its timeout.
    let (_, clean) = http::watch(addr, &format!("{CMS}?watch=1&timeoutSeconds=1"));
    assert!(clean);
    // Cutting every open watch at once.
    let waiter =
        std::thread::spawn(move || http::watch(addr, &format!("{CMS}?watch=1&timeoutSeconds=5")));
    crate::support::eventually(|| {
        env.audit()
            .entries()
            .iter()
            .filter(|e| e.verb == "watch")
            .count()
            .eq(&3)
            .then_some(())
    });
    // The audit entry is written once the stream is set up, so the cut reaches it.
    faults.drop_watches();
    let (_, clean) = waiter.join().unwrap();
    assert!(!clean);
}
