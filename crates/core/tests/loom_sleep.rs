//! A loom model of the idle threads' sleep/wake protocol (`crates/core/src/sleep.rs`): loom
//! runs the closure under every interleaving of the threads' atomic operations, mutex and
//! condvar calls, and reports a deadlock if some interleaving leaves a thread waiting with
//! nobody to wake it, which is what a lost wake-up would be.
//!
//! The model is the pool's own code: `Sleep` compiled on loom's primitives (`--cfg loom`),
//! driven as `registry.rs` drives it — a worker reads the epoch, looks for work (a flag
//! here, the job queue there), and parks with the epoch it read if it found none; a
//! submitter publishes work, then notifies. The spin before parking is left out: it only
//! decides when a thread parks, never whether a notify reaches it.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p ferropool-core --test loom_sleep --release`
//! (`.ci/run` does, in its own target directory).
#![cfg(loom)]

use ferropool_core::sleep::Sleep;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// One worker looking for work and parking; `submitters` threads each publishing one unit
/// of work and notifying. The worker must end up with all of it.
fn model(submitters: usize) {
    loom::model(move || {
        let sleep = Arc::new(Sleep::default());
        let work = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..submitters)
            .map(|_| {
                let (sleep, work) = (sleep.clone(), work.clone());
                thread::spawn(move || {
                    work.fetch_add(1, Ordering::SeqCst);
                    sleep.notify();
                })
            })
            .collect();
        let mut taken = 0;
        while taken < submitters {
            let seen = sleep.epoch();
            let available = work.load(Ordering::SeqCst);
            if available > taken {
                taken = available;
            } else {
                // No work after reading the epoch: park. A lost wake-up deadlocks here.
                sleep.park(seen);
            }
        }
        for h in handles {
            h.join().expect("a submitter panicked");
        }
    });
}

#[test]
fn one_submitter_never_loses_the_wake_up() {
    model(1);
}

#[test]
fn two_submitters_never_lose_a_wake_up() {
    model(2);
}
