//! Per-key quotas: a rate (a token bucket: so many calls per second, with a burst) and a number of
//! streams open at once. A call over either is refused with RESOURCE_EXHAUSTED saying when to
//! retry; nothing is queued.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// The quotas every key gets (`[auth]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaSettings {
    /// Calls per second per key, sustained.
    pub requests_per_second: u32,
    /// Calls per key allowed at once above the rate.
    pub burst: u32,
    /// Streams (StreamVerbatims, WatchAlerts) one key may hold open at once.
    pub max_streams: usize,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            requests_per_second: 1000,
            burst: 2000,
            max_streams: 32,
        }
    }
}

/// The per-key rate limiter and stream counts.
pub struct Quotas {
    settings: QuotaSettings,
    rate: DefaultKeyedRateLimiter<String>,
    streams: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Quotas {
    pub fn new(settings: QuotaSettings) -> Quotas {
        let per_second = NonZeroU32::new(settings.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.burst).unwrap_or(per_second);
        Quotas {
            settings,
            rate: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            streams: Mutex::default(),
        }
    }

    /// Takes one call from the key's bucket, or says how long to wait.
    pub fn admit(&self, key_id: &str) -> Result<()> {
        self.rate
            .check_key(&key_id.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Error::RateLimited {
                    retry_after: wait.max(Duration::from_millis(1)),
                    limit: format!(
                        "auth.requests_per_second={} (burst {})",
                        self.settings.requests_per_second, self.settings.burst
                    ),
                }
            })
    }

    /// A place for one more open stream of the key, held until dropped.
    pub fn open_stream(&self, key_id: &str) -> Result<OwnedSemaphorePermit> {
        let semaphore = self
            .streams
            .lock()
            .entry(key_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.max_streams)))
            .clone();
        semaphore
            .try_acquire_owned()
            .map_err(|_| Error::LimitExceeded {
                limit: "auth.max_streams",
                value: self.settings.max_streams,
                message: format!("key {key_id} has every stream it may open"),
            })
    }

    /// The settings in force.
    pub fn settings(&self) -> QuotaSettings {
        self.settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_its_rate_waits_and_others_do_not() {
        let quotas = Quotas::new(QuotaSettings {
            requests_per_second: 1,
            burst: 2,
            max_streams: 1,
        });
        assert!(quotas.admit("a").is_ok() && quotas.admit("a").is_ok());
        match quotas.admit("a") {
            Err(Error::RateLimited { retry_after, .. }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1))
            }
            other => panic!("{other:?}"),
        }
        assert!(quotas.admit("b").is_ok(), "keys have their own buckets");
        let held = quotas.open_stream("a").unwrap();
        assert!(quotas.open_stream("a").is_err());
        assert!(quotas.open_stream("b").is_ok());
        drop(held);
        assert!(quotas.open_stream("a").is_ok());
    }
}
