//! The flood limit: a token bucket per client.
//!
//! The bucket holds at most `burst` tokens and refills at `rate` tokens a second; every
//! line takes one. A client that finds it empty is flooding: the server answers
//! `! flooding, bye` and closes the connection. A person typing never gets near the limit;
//! a script pasting a file does.

use std::time::Instant;

/// A token bucket.
#[derive(Debug, Clone)]
pub(crate) struct FloodGate {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl FloodGate {
    /// A full bucket refilling at `per_second` lines a second, holding twice that (at least 1).
    pub(crate) fn new(per_second: u32, now: Instant) -> FloodGate {
        let rate = f64::from(per_second.max(1));
        let burst = rate * 2.0;
        FloodGate {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes a token for one line; false when the client is flooding.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut gate = FloodGate::new(5, t0);
        assert!((0..10).all(|_| gate.allow(t0)));
        assert!(!gate.allow(t0));
        assert!(gate.allow(t0 + Duration::from_millis(200)));
        assert!(!gate.allow(t0 + Duration::from_millis(200)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(3600);
        assert!((0..10).all(|_| gate.allow(later)));
        assert!(!gate.allow(later));
    }
}
