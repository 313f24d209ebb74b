//! Wall-clock limits for guests that are blocked in the host.
//!
//! A run's time limit is counted in epoch ticks, which only a guest executing
//! WASM code notices; a guest blocked in a host call (a pipe read, `nanosleep`,
//! a futex wait of a lifted program) would outlive its limit. One thread for
//! the whole process keeps the deadlines of running processes and, when one
//! passes, interrupts that process's stop token: its blocking call returns, the
//! guest stops, and the engine reports the run as timed out.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Instant;

use crate::kernel::Interrupt;

/// A registered deadline; dropping it cancels the watch.
pub struct Watch {
    state: Arc<WatchState>,
}

struct WatchState {
    fired: AtomicBool,
    cancelled: AtomicBool,
    stop: Interrupt,
}

impl Watch {
    /// Whether the deadline passed and the process was interrupted for it.
    pub fn fired(&self) -> bool {
        self.state.fired.load(Ordering::Acquire)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state.cancelled.store(true, Ordering::Release);
    }
}

struct Entry {
    deadline: Instant,
    seq: u64,
    state: Arc<WatchState>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

struct Watchdog {
    queue: Mutex<Queue>,
    wake: Condvar,
}

fn watchdog() -> &'static Watchdog {
    static DOG: OnceLock<&'static Watchdog> = OnceLock::new();
    DOG.get_or_init(|| {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            queue: Mutex::default(),
            wake: Condvar::new(),
        }));
        // If the thread cannot start, deadlines are still enforced for guests
        // that run WASM code (the epoch), as before.
        let _ = std::thread::Builder::new()
            .name("vkernel watchdog".into())
            .spawn(move || dog.serve());
        dog
    })
}

impl Watchdog {
    fn serve(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // Drop cancelled watches at the front.
            while q
                .heap
                .peek()
                .is_some_and(|Reverse(e)| e.state.cancelled.load(Ordering::Acquire))
            {
                q.heap.pop();
            }
            let Some(Reverse(next)) = q.heap.peek() else {
                q = self.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            let now = Instant::now();
            if next.deadline <= now {
                if let Some(Reverse(e)) = q.heap.pop()
                    && !e.state.cancelled.load(Ordering::Acquire)
                {
                    e.state.fired.store(true, Ordering::Release);
                    e.state.stop.interrupt();
                }
                continue;
            }
            let wait = next.deadline - now;
            q = self
                .wake
                .wait_timeout(q, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Interrupts `stop` at `deadline` unless the returned watch is dropped first.
pub fn watch(deadline: Instant, stop: Interrupt) -> Watch {
    let state = Arc::new(WatchState {
        fired: AtomicBool::new(false),
        cancelled: AtomicBool::new(false),
        stop,
    });
    let dog = watchdog();
    let mut q = dog.queue.lock().unwrap_or_else(|e| e.into_inner());
    q.seq += 1;
    let seq = q.seq;
    let earliest = q.heap.peek().map(|Reverse(e)| e.deadline);
    q.heap.push(Reverse(Entry {
        deadline,
        seq,
        state: Arc::clone(&state),
    }));
    drop(q);
    if earliest.is_none_or(|e| deadline < e) {
        dog.wake.notify_one();
    }
    Watch { state }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_deadline_interrupts_and_a_dropped_watch_does_not() {
        let late = Interrupt::new();
        let w_late = watch(Instant::now() + Duration::from_secs(3600), late.clone());
        let soon = Interrupt::new();
        let w_soon = watch(Instant::now() + Duration::from_millis(20), soon.clone());
        let cancelled = Interrupt::new();
        drop(watch(
            Instant::now() + Duration::from_millis(10),
            cancelled.clone(),
        ));
        let start = Instant::now();
        while !soon.is_interrupted() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(soon.is_interrupted() && w_soon.fired());
        std::thread::sleep(Duration::from_millis(30));
        assert!(!cancelled.is_interrupted());
        assert!(!late.is_interrupted() && !w_late.fired());
    }
}
