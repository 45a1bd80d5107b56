//! Fault injection for tests of the layers above the cluster: latency, errors per verb and
//! resource, forced conflicts, throttling and dropped watch streams, switched on and off at run
//! time through [`Faults`] (from `RunningCluster::faults`).
//!
//! Faults apply to object requests of clients over HTTP only (not to discovery, OpenAPI or
//! `/version`), never to the cluster's own controllers. They
//! are deterministic where that is possible: a rule can fire for the next N matching requests;
//! rules with a probability draw from a seeded generator ([`Faults::seed`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::api::status::ApiError;

/// What a matching request suffers.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// The request is answered this much later (latencies of several rules add up).
    Latency(Duration),
    /// The request fails with this HTTP status (`500` InternalError, `503` ServiceUnavailable,
    /// `504` Timeout, anything else with a generic reason).
    Error(u16),
    /// The request fails with `409 Conflict`, as if the object had just been modified.
    Conflict,
    /// The request fails with `429 TooManyRequests` and a `Retry-After` header.
    Throttle {
        /// The `Retry-After` the client is asked to wait (whole seconds).
        retry_after: Duration,
    },
    /// A watch stream opens normally and is cut (the connection breaks mid-stream) after this
    /// long.
    DropWatch {
        /// How long the stream lives.
        after: Duration,
    },
}

/// Which requests a rule applies to and what they suffer.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Kubernetes verbs (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`); empty means every verb.
    pub verbs: Vec<String>,
    /// Plural resource names (`configmaps`); empty means every resource.
    pub resources: Vec<String>,
    /// Namespace; `None` means any.
    pub namespace: Option<String>,
    /// What happens.
    pub action: FaultAction,
    /// Fire for this many matching requests, then retire; `None` fires for ever.
    pub times: Option<u64>,
    /// Chance that a matching request is affected (from the seeded generator); 1.0 = always.
    pub probability: f64,
}

impl FaultRule {
    /// A rule for every request, firing always, with `action`.
    pub fn new(action: FaultAction) -> FaultRule {
        FaultRule {
            verbs: Vec::new(),
            resources: Vec::new(),
            namespace: None,
            action,
            times: None,
            probability: 1.0,
        }
    }

    /// Restricts the rule to these verbs.
    pub fn verbs(mut self, verbs: &[&str]) -> FaultRule {
        self.verbs = verbs.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// Restricts the rule to these resources (plural names).
    pub fn resources(mut self, resources: &[&str]) -> FaultRule {
        self.resources = resources.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// Restricts the rule to one namespace.
    pub fn namespace(mut self, ns: &str) -> FaultRule {
        self.namespace = Some(ns.to_owned());
        self
    }

    /// Fires for the next `n` matching requests only.
    pub fn times(mut self, n: u64) -> FaultRule {
        self.times = Some(n);
        self
    }

    /// Fires with this probability.
    pub fn probability(mut self, p: f64) -> FaultRule {
        self.probability = p;
        self
    }
}

/// Identifies an added rule, for [`Faults::remove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

struct State {
    rules: Vec<(FaultId, FaultRule)>,
    next_id: u64,
    rng: fastrand::Rng,
    injected: u64,
}

/// The fault-injection switchboard of one cluster; a cheap cloneable handle.
#[derive(Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    drops: Arc<tokio::sync::watch::Sender<u64>>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("rules", &self.rules())
            .finish()
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Arc::new(Mutex::new(State {
                rules: Vec::new(),
                next_id: 0,
                rng: fastrand::Rng::with_seed(0),
                injected: 0,
            })),
            drops: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }
}

/// What the server does to one request.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Wait this long first.
    pub delay: Duration,
    /// Answer with this error instead.
    pub error: Option<ApiError>,
    /// `Retry-After` seconds to send with the error.
    pub retry_after: Option<u64>,
    /// Cut a watch stream after this long.
    pub drop_watch: Option<Duration>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a rule; it applies from the next request on.
    pub fn add(&self, rule: FaultRule) -> FaultId {
        let mut s = self.lock();
        s.next_id += 1;
        let id = FaultId(s.next_id);
        s.rules.push((id, rule));
        id
    }

    /// Removes a rule.
    pub fn remove(&self, id: FaultId) {
        self.lock().rules.retain(|(i, _)| *i != id);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// The active rules (with what is left of their counts).
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().rules.iter().map(|(_, r)| r.clone()).collect()
    }

    /// Reseeds the generator behind probabilistic rules.
    pub fn seed(&self, seed: u64) {
        self.lock().rng = fastrand::Rng::with_seed(seed);
    }

    /// How many requests have been affected so far.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Cuts every open watch stream now (their connections break mid-stream).
    pub fn drop_watches(&self) {
        self.drops.send_modify(|n| *n += 1);
    }

    /// A receiver that changes whenever [`Faults::drop_watches`] is called.
    pub(crate) fn drop_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.drops.subscribe()
    }

    /// Decides what happens to a request.
    pub(crate) fn judge(&self, verb: &str, resource: &str, namespace: &str, name: &str) -> Verdict {
        let mut v = Verdict::default();
        let mut s = self.lock();
        if s.rules.is_empty() {
            return v;
        }
        let State {
            rules,
            rng,
            injected,
            ..
        } = &mut *s;
        for (_, r) in rules.iter_mut() {
            let matches = (r.verbs.is_empty() || r.verbs.iter().any(|x| x == verb))
                && (r.resources.is_empty() || r.resources.iter().any(|x| x == resource))
                && r.namespace.as_deref().is_none_or(|n| n == namespace)
                && r.times != Some(0);
            if !matches {
                continue;
            }
            let is_watch_rule = matches!(r.action, FaultAction::DropWatch { .. });
            if is_watch_rule && verb != "watch" {
                continue;
            }
            let blocking = matches!(
                r.action,
                FaultAction::Error(_) | FaultAction::Conflict | FaultAction::Throttle { .. }
            );
            if blocking && v.error.is_some() {
                continue;
            }
            if r.probability < 1.0 && rng.f64() >= r.probability {
                continue;
            }
            if let Some(n) = r.times.as_mut() {
                *n -= 1;
            }
            *injected += 1;
            match &r.action {
                FaultAction::Latency(d) => v.delay += *d,
                FaultAction::Error(code) => v.error = Some(error_for(*code, resource, name)),
                FaultAction::Conflict => {
                    v.error = Some(ApiError::conflict(
                        "",
                        resource,
                        name,
                        "the object has been modified; please apply your changes to the latest version and try again",
                    ))
                }
                FaultAction::Throttle { retry_after } => {
                    let secs = retry_after.as_secs().max(1);
                    let mut e = ApiError {
                        code: 429,
                        reason: "TooManyRequests",
                        message: "the server has received too many requests and has asked us to try again later".into(),
                        details: None,
                    };
                    e.details = Some(serde_json::json!({"retryAfterSeconds": secs}));
                    v.error = Some(e);
                    v.retry_after = Some(secs);
                }
                FaultAction::DropWatch { after } => v.drop_watch = Some(*after),
            }
        }
        rules.retain(|(_, r)| r.times != Some(0));
        v
    }
}

fn error_for(code: u16, resource: &str, name: &str) -> ApiError {
    let (reason, message) = match code {
        500 => (
            "InternalError",
            format!("Internal error occurred: injected fault on {resource} {name}"),
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request".to_owned(),
        ),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted".to_owned(),
        ),
        _ => ("", format!("injected fault with status {code}")),
    };
    ApiError {
        code,
        reason,
        message,
        details: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_fire_exactly_n_times_and_retire() {
        let f = Faults::default();
        f.add(
            FaultRule::new(FaultAction::Error(500))
                .verbs(&["create"])
                .times(2),
        );
        assert!(f.judge("get", "configmaps", "default", "a").error.is_none());
        assert_eq!(
            f.judge("create", "configmaps", "default", "a")
                .error
                .map(|e| e.code),
            Some(500)
        );
        assert_eq!(
            f.judge("create", "secrets", "default", "a")
                .error
                .map(|e| e.code),
            Some(500)
        );
        assert!(
            f.judge("create", "configmaps", "default", "a")
                .error
                .is_none()
        );
        assert!(f.rules().is_empty());
        assert_eq!(f.injected(), 2);
    }

    #[test]
    fn probabilities_follow_the_seed() {
        let run = |seed| {
            let f = Faults::default();
            f.seed(seed);
            f.add(FaultRule::new(FaultAction::Conflict).probability(0.5));
            (0..64)
                .map(|_| f.judge("update", "x", "", "n").error.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let hits = run(7).iter().filter(|b| **b).count();
        assert!(hits > 10 && hits < 54, "{hits}");
    }
}
