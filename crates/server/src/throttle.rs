//! Failed logins, counted per user name, so a password cannot be guessed at
//! the speed of the network: after `max_failures` failures within `window`,
//! further attempts for that name are refused (429) until the window since
//! the last failure has passed. A success clears the count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many names are tracked at most; beyond that the stalest are dropped,
/// so a flood of invented names cannot exhaust memory.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// The failed-login counter shared by every request.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// A throttle allowing `max_failures` failures per `window` (0 turns it
    /// off).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` when `user` may not try again for `wait`.
    pub fn check(&self, user: &str) -> Result<(), Duration> {
        self.check_at(user, Instant::now())
    }

    fn check_at(&self, user: &str, now: Instant) -> Result<(), Duration> {
        if self.max_failures == 0 {
            return Ok(());
        }
        match self.lock().get(user) {
            Some(f) if f.count >= self.max_failures => {
                let since = now.saturating_duration_since(f.last);
                if since < self.window {
                    Err(self.window - since)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Records a failed login of `user`.
    pub fn failed(&self, user: &str) {
        self.failed_at(user, Instant::now());
    }

    fn failed_at(&self, user: &str, now: Instant) {
        if self.max_failures == 0 {
            return;
        }
        let mut failures = self.lock();
        if failures.len() >= MAX_TRACKED && !failures.contains_key(user) {
            let window = self.window;
            failures.retain(|_, f| now.saturating_duration_since(f.last) < window);
            if failures.len() >= MAX_TRACKED
                && let Some(stalest) = failures
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
            {
                failures.remove(&stalest);
            }
        }
        let entry = failures.entry(user.to_string()).or_insert(Failures {
            count: 0,
            last: now,
        });
        // Failures older than the window are forgotten, not accumulated.
        if now.saturating_duration_since(entry.last) >= self.window {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
    }

    /// Records a successful login of `user`: its count starts over.
    pub fn succeeded(&self, user: &str) {
        self.lock().remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_until_the_window_passes() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(throttle.check_at("admin", t0), Ok(()), "attempt {i}");
            throttle.failed_at("admin", t0);
        }
        let wait = throttle.check_at("admin", t0 + Duration::from_secs(10));
        assert_eq!(wait, Err(Duration::from_secs(50)));
        // Another name is not affected.
        assert_eq!(throttle.check_at("other", t0), Ok(()));
        // After the window, one more try is allowed.
        assert_eq!(
            throttle.check_at("admin", t0 + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn a_success_or_an_old_failure_starts_the_count_over() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        throttle.failed_at("admin", t0);
        throttle.succeeded("admin");
        throttle.failed_at("admin", t0);
        assert_eq!(throttle.check_at("admin", t0), Ok(()));
        // The second failure comes after the window: the count restarts.
        throttle.failed_at("admin", t0 + Duration::from_secs(61));
        assert_eq!(
            throttle.check_at("admin", t0 + Duration::from_secs(61)),
            Ok(())
        );
    }

    #[test]
    fn zero_turns_it_off_and_memory_is_bounded() {
        let off = LoginThrottle::new(0, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..10 {
            off.failed_at("admin", t0);
        }
        assert_eq!(off.check_at("admin", t0), Ok(()));
        let throttle = LoginThrottle::new(5, Duration::from_secs(60));
        for i in 0..MAX_TRACKED + 10 {
            throttle.failed_at(&format!("user-{i}"), t0 + Duration::from_millis(i as u64));
        }
        assert!(throttle.lock().len() <= MAX_TRACKED);
    }
}
