//! The process-wide pool of native threads, one per CPU, that runs jobs' chunks.
//!
//! The registry is a `static`: every Node isolate that loads the addon (the main thread and
//! worker threads alike) feeds the same threads, so the process never has more pool threads
//! than cores. Threads start on the first submitted job. Submitted jobs wait in a FIFO queue;
//! an idle thread attaches to the first job that still has unclaimed chunks and room for
//! another worker, and claims chunks from it until none is left.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Once, OnceLock};

use crate::job::Job;
use crate::sleep::{Sleep, SPIN_FOR};

/// A pool of native threads that run submitted jobs.
#[derive(Debug)]
pub struct Registry {
    threads: usize,
    queue: Mutex<VecDeque<Arc<Job>>>,
    sleep: Sleep,
    started: Once,
}

static GLOBAL: OnceLock<Registry> = OnceLock::new();

/// The number of CPUs this process may use (`FERROPOOL_THREADS` overrides it).
pub fn cpu_count() -> usize {
    std::env::var("FERROPOOL_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Registry {
    /// The process-wide registry, sized by [`cpu_count`].
    pub fn global() -> &'static Registry {
        GLOBAL.get_or_init(|| Registry::new(cpu_count()))
    }

    fn new(threads: usize) -> Self {
        Registry {
            threads: threads.max(1),
            queue: Mutex::new(VecDeque::new()),
            sleep: Sleep::default(),
            started: Once::new(),
        }
    }

    /// The number of pool threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Queues `job` and wakes idle threads for it.
    pub fn submit(&'static self, job: Arc<Job>) {
        self.started.call_once(|| self.spawn_threads());
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(job);
        self.sleep.notify();
    }

    fn spawn_threads(&'static self) {
        for index in 0..self.threads {
            std::thread::Builder::new()
                .name(format!("ferropool-{index}"))
                .spawn(move || self.worker_loop())
                .expect("failed to spawn a ferropool thread");
        }
    }

    /// The first queued job this thread may attach to; drops fully claimed jobs.
    fn find_work(&self) -> Option<Arc<Job>> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.retain(|job| job.has_unclaimed());
        queue.iter().find(|job| job.try_attach()).cloned()
    }

    fn worker_loop(&self) {
        loop {
            let seen = self.sleep.epoch();
            match self.find_work() {
                Some(job) => {
                    job.work();
                    job.detach();
                }
                None => self.sleep.idle(seen, SPIN_FOR),
            }
        }
    }
}
