//! How idle pool threads wait for work: spin for a short while, then park.
//!
//! Waking a parked thread costs far more than waking a spinning one (a futex wake and a
//! reschedule against a store the spinner sees at once). A thread that has just finished a chunk therefore spins for [`SPIN_FOR`]
//! (paced by crossbeam's `Backoff`, which yields the CPU as it goes) before it parks, so the
//! next call of a hot loop finds it awake. The pool never has more threads than cores, so
//! spinning threads do not outnumber cores.
//!
//! # The protocol, and why no wake-up is lost
//! One atomic word holds both the *epoch* (bumped to announce work; upper 48 bits) and the
//! number of *sleepers* (lower 16 bits). A thread that found no work remembers the epoch it
//! saw *before* it looked ([`Sleep::epoch`]) and sleeps only while the epoch is unchanged.
//! - Notifier: one `fetch_add` of an epoch unit; if the sleepers it returns are non-zero, it
//!   takes the mutex and notifies.
//! - Sleeper: takes the mutex, one `fetch_add` of a sleeper; only if the epoch it returns is
//!   still the one it saw does it wait on the condvar, which releases the mutex atomically.
//!
//! Read-modify-writes of one location are totally ordered, whatever the memory ordering:
//! if the sleeper's comes first, the notifier's returns a sleeper and it notifies — after
//! taking the mutex, which the sleeper holds until it is inside `wait`, so the notification
//! cannot fall in between; if the notifier's comes first, the sleeper's returns the new
//! epoch and it does not wait. (An earlier version kept the two in separate atomics and
//! relied on SeqCst store-load ordering; loom, which models SeqCst as acquire/release,
//! could not prove it: `crates/core/tests/loom_sleep.rs` now explores this one.)

// Under `--cfg loom` the protocol runs on loom's atomics, mutex and condvar, which explore
// every interleaving (crates/core/tests/loom_sleep.rs); otherwise on std's.
#[cfg(loom)]
use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(loom)]
use loom::sync::{Condvar, Mutex};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

/// How long an idle thread spins before it parks.
pub const SPIN_FOR: Duration = Duration::from_micros(100);

/// One epoch in [`Sleep`]'s word; below it, the count of sleepers.
const EPOCH: u64 = 1 << 16;
const SLEEPERS: u64 = EPOCH - 1;

/// The shared sleep state of a pool's threads.
#[derive(Debug, Default)]
pub struct Sleep {
    /// `epoch << 16 | sleepers`.
    state: AtomicU64,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Sleep {
    /// The current epoch; read it before looking for work and pass it to [`Sleep::idle`].
    pub fn epoch(&self) -> u64 {
        self.state.load(Ordering::SeqCst) / EPOCH
    }

    /// Announces new work to idle threads.
    pub fn notify(&self) {
        if self.state.fetch_add(EPOCH, Ordering::SeqCst) & SLEEPERS != 0 {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.notify_all();
        }
    }

    /// Waits until the epoch differs from `seen`: spins for up to `spin_for`, then parks.
    pub fn idle(&self, seen: u64, spin_for: Duration) {
        let started = Instant::now();
        let backoff = Backoff::new();
        while self.epoch() == seen {
            if backoff.is_completed() {
                if started.elapsed() >= spin_for {
                    return self.park(seen);
                }
                std::thread::yield_now();
            } else {
                backoff.snooze();
            }
        }
    }

    /// Parks until the epoch differs from `seen` (what [`Sleep::idle`] does once it has
    /// spun): public so that the loom model can drive the protocol without the spin, which
    /// only decides *when* to park.
    pub fn park(&self, seen: u64) {
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.state.fetch_add(1, Ordering::SeqCst) / EPOCH == seen {
            // Woken (or spuriously): the notifier bumped the epoch before it took the mutex
            // we now hold again, so this load sees the bump.
            loop {
                guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
                if self.epoch() != seen {
                    break;
                }
            }
        }
        self.state.fetch_sub(1, Ordering::SeqCst);
    }
}
