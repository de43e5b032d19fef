//! The threads that run deferred guards (input guards that only flag, run beside the upstream
//! call): a fixed pool, one thread per core, fed by one queue.

use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// Threads for the deferred guards, one per core the process may use, started once.
///
/// Every thread that runs an expression keeps its own scratch space in it (lazy DFA states,
/// several MiB across the guards), built on that thread's first search. On the blocking pool a
/// run could land on any of its threads, or on a new one: each one that ever ran guards kept
/// its own copy, and a run on a fresh thread paid to rebuild it. A fixed set of threads bounds
/// the copies and keeps them warm, and also bounds how many runs go at once; the rest queue,
/// first come first served.
///
/// Idle threads wait on one condition variable and each job wakes one of them, as tokio's
/// blocking pool does; general-purpose pools spin idle threads before they sleep, or wake a
/// second thread to take over the queue, and either takes turns from the async workers on a
/// small machine.
pub struct GuardPool {
    queue: Arc<Queue>,
}

type Job = Box<dyn FnOnce() + Send>;

struct Queue {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Set when the pool is dropped: threads finish what is queued, then end.
    closed: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock, so a poisoned lock still guards a consistent queue.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next job, or none once the pool is dropped and the queue is empty.
    fn next(&self) -> Option<Job> {
        let mut st = self.lock();
        loop {
            if let Some(j) = st.jobs.pop_front() {
                return Some(j);
            }
            if st.closed {
                return None;
            }
            st = self.ready.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for GuardPool {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.ready.notify_all();
    }
}

/// A deferred run that did not return a result.
#[derive(Debug, thiserror::Error)]
pub enum GuardRunError {
    /// The run panicked (a bug: guards are written not to).
    #[error("a guard run panicked")]
    Panicked,
    /// The pool's threads are gone.
    #[error("the guard threads stopped")]
    Stopped,
}

impl GuardPool {
    /// One thread per core (at least one).
    pub fn new() -> Result<GuardPool> {
        let n = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        GuardPool::with_threads(n)
    }

    /// A pool of `n` threads (at least one); they end when the pool is dropped.
    pub fn with_threads(n: usize) -> Result<GuardPool> {
        // Made first, so that if a thread cannot start, dropping it ends those that did.
        let pool = GuardPool {
            queue: Arc::new(Queue {
                state: Mutex::default(),
                ready: Condvar::new(),
            }),
        };
        for i in 0..n.max(1) {
            let q = pool.queue.clone();
            std::thread::Builder::new()
                .name(format!("rampart-guard-{i}"))
                .spawn(move || {
                    while let Some(job) = q.next() {
                        job();
                    }
                })
                .map_err(|e| {
                    Error::Io(std::io::Error::new(
                        e.kind(),
                        format!("cannot start the guard threads: {e}"),
                    ))
                })?;
        }
        Ok(pool)
    }

    /// Queues `f` now; the returned future gives its result.
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl std::future::Future<Output = std::result::Result<T, GuardRunError>> + Send + 'static
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic must not take the thread with it: the pool never grows back.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .map_err(|_| GuardRunError::Panicked);
            let _ = tx.send(r);
        });
        self.queue.lock().jobs.push_back(job);
        self.queue.ready.notify_one();
        async move { rx.await.unwrap_or(Err(GuardRunError::Stopped)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn guard_runs_stay_on_the_pools_threads_two_at_a_time() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let pool = GuardPool::with_threads(2).unwrap();
        let runs: Vec<_> = (0..32)
            .map(|i| {
                let (now, most) = (now.clone(), most.clone());
                pool.run(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    now.fetch_sub(1, Ordering::SeqCst);
                    let t = std::thread::current();
                    (i, t.id(), t.name().map(str::to_string))
                })
            })
            .collect();
        let mut done = Vec::new();
        let mut threads = std::collections::HashSet::new();
        for r in runs {
            let (i, id, name) = r.await.unwrap();
            assert!(
                name.as_deref()
                    .is_some_and(|n| n.starts_with("rampart-guard-")),
                "ran on {name:?}, not on a guard thread"
            );
            threads.insert(id);
            done.push(i);
        }
        assert_eq!(done, (0..32).collect::<Vec<_>>(), "every run finished");
        assert!(most.load(Ordering::SeqCst) <= 2, "at most two at once");
        assert!(threads.len() <= 2, "32 runs used {} threads", threads.len());
    }

    #[tokio::test]
    async fn a_panicking_guard_run_is_an_error_and_the_pool_goes_on() {
        let pool = GuardPool::with_threads(1).unwrap();
        let bad = pool.run(|| -> u32 { panic!("harmless test panic") });
        assert!(matches!(bad.await, Err(GuardRunError::Panicked)));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[test]
    fn dropping_the_guard_pool_ends_its_threads() {
        let pool = GuardPool::with_threads(2).unwrap();
        let queue = Arc::downgrade(&pool.queue);
        drop(pool);
        // Each thread holds the queue until it returns.
        let t = Instant::now();
        while queue.upgrade().is_some() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "guard threads still running"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
