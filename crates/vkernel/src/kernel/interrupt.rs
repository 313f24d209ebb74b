//! Interruptible blocking: the cancel token every blocking wait honours.
//!
//! Each guest process runs on its own OS thread, and a kernel operation that must wait (a
//! pipe read, `wait4`, a host stream read) blocks that thread on a `Condvar`. The engine
//! stops a process that is killed or runs out of time by setting its [`Interrupt`]; every
//! wait registers a [`Waker`] with the interrupt first, so setting it wakes the waiter at
//! once (no polling), and the wait returns `EINTR`.
//!
//! The wake-up cannot be lost: a waiter registers, then checks the flag while holding its
//! own mutex, then sleeps on its condvar (which releases that mutex atomically). The
//! interrupter sets the flag first, then takes each registered waiter's mutex before
//! notifying, so it either runs before the waiter's check (which then sees the flag) or
//! after the waiter is asleep (which the notification wakes).
//!
//! This module owns [`Interrupt`], [`Waker`] and the crate's `WaitCell` (a mutex, a
//! condvar and the interruptible wait loop), and [`Watch`]: a waker registered with a
//! `WaitCell` so that one thread can wait for several objects at once (`poll`). It does not
//! decide what an interrupt means (signal, kill, time-out): the engine and the ABI layers do.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::errno::{Errno, KResult};

/// Locks `m`, taking over the data if a thread panicked while holding it: the kernel's
/// invariants are kept by each critical section before anything that could panic, and a
/// poisoned lock must not turn into a panic reachable from the guest.
pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a thread waiting on several objects sleeps on (WASI's `poll_oneoff`, the Linux
/// ABI's poll, select and blocking waits): every watched object, and the interrupt,
/// wakes it by bumping the generation.
#[derive(Default)]
pub struct Waiter {
    generation: Mutex<u64>,
    changed: Condvar,
}

impl Waker for Waiter {
    fn wake(&self) {
        *lock(&self.generation) += 1;
        self.changed.notify_all();
    }
}

impl Waiter {
    /// The generation now: read it before checking what to wait for.
    pub fn generation(&self) -> u64 {
        *lock(&self.generation)
    }

    /// Sleeps until the generation moves past `seen` or `until` passes (`None`: no
    /// deadline).
    pub fn wait(&self, seen: u64, until: Option<Instant>) {
        let mut g = lock(&self.generation);
        while *g == seen {
            match until {
                None => {
                    g = self
                        .changed
                        .wait(g)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                Some(t) => {
                    let Some(left) = t.checked_duration_since(Instant::now()) else {
                        return;
                    };
                    g = self
                        .changed
                        .wait_timeout(g, left)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
}

/// Something a blocked thread sleeps on and that can be woken from outside.
pub trait Waker: Send + Sync {
    /// Wakes every thread sleeping on this object so that it re-checks its condition. Must
    /// take the same mutex the sleepers check their condition under (see the module docs).
    fn wake(&self);
}

#[derive(Default)]
struct InterruptInner {
    /// Set by [`Interrupt::interrupt`], cleared by [`Interrupt::clear`].
    flag: AtomicBool,
    /// Waiters currently blocked on behalf of this interrupt's process, by registration id.
    /// A leaf lock: never held while taking another lock (wakers run after it is released).
    wakers: Mutex<Vec<(u64, Arc<dyn Waker>)>>,
    next_id: AtomicU64,
}

/// A cancel token for one process's blocking waits. Cloning shares the token.
#[derive(Clone, Default)]
pub struct Interrupt {
    inner: Arc<InterruptInner>,
}

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt")
            .field("interrupted", &self.is_interrupted())
            .finish()
    }
}

impl Interrupt {
    /// A token that is not set.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Sets the token and wakes every wait blocked on it; they return `EINTR`. The token
    /// stays set (later waits fail at once) until [`Interrupt::clear`].
    pub fn interrupt(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        let wakers: Vec<Arc<dyn Waker>> = lock(&self.inner.wakers)
            .iter()
            .map(|(_, w)| Arc::clone(w))
            .collect();
        for w in wakers {
            w.wake();
        }
    }

    /// Whether the token is set.
    pub fn is_interrupted(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Unsets the token (for example once the ABI layer has delivered a signal).
    pub fn clear(&self) {
        self.inner.flag.store(false, Ordering::SeqCst);
    }

    /// Fails with `EINTR` if the token is set.
    pub fn check(&self) -> KResult<()> {
        if self.is_interrupted() {
            Err(Errno::EINTR)
        } else {
            Ok(())
        }
    }

    /// Registers `waker` to be woken when the token is set, until the returned guard is
    /// dropped. Register before checking [`Interrupt::is_interrupted`] under the waker's
    /// mutex, so no interrupt falls between the check and the sleep.
    pub fn register(&self, waker: Arc<dyn Waker>) -> Registration<'_> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.wakers).push((id, waker));
        Registration {
            interrupt: self,
            id,
        }
    }
}

impl Interrupt {
    /// Sets `to` whenever this token is set (at once if it already is), until the
    /// returned [`Forward`] is dropped. For a second token that also fires for reasons of
    /// its own (the Linux ABI's "a signal is to be delivered") and must still see every
    /// stop of the process.
    pub fn forward(&self, to: &Interrupt) -> Forward {
        struct Fwd(Interrupt);
        impl Waker for Fwd {
            fn wake(&self) {
                self.0.interrupt();
            }
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.wakers).push((id, Arc::new(Fwd(to.clone())) as Arc<dyn Waker>));
        if self.is_interrupted() {
            to.interrupt();
        }
        Forward {
            from: self.clone(),
            id,
        }
    }
}

/// Keeps one [`Interrupt`] forwarded to another ([`Interrupt::forward`]); stops on drop.
pub struct Forward {
    from: Interrupt,
    id: u64,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward").field("id", &self.id).finish()
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        lock(&self.from.inner.wakers).retain(|(id, _)| *id != self.id);
    }
}

/// Keeps a [`Waker`] registered with an [`Interrupt`]; unregisters on drop.
pub struct Registration<'a> {
    interrupt: &'a Interrupt,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        lock(&self.interrupt.inner.wakers).retain(|(id, _)| *id != self.id);
    }
}

/// Wakers to call on every change of an object's state: what lets one thread wait for
/// several objects at once (`poll`), each object waking the same [`Waker`].
///
/// Added for the WASI ABI's `poll_oneoff` (multi-object waits without polling in a loop).
/// A leaf lock, like the interrupt's waker list: the wakers run after it is released.
#[derive(Default)]
pub(crate) struct Watchers {
    list: Mutex<Vec<(u64, Arc<dyn Waker>)>>,
    /// How many are registered, so that notifying an unwatched object costs no lock.
    count: AtomicU64,
    next_id: AtomicU64,
}

impl Watchers {
    /// Registers `waker` until the returned guard is dropped.
    pub(crate) fn watch(self: &Arc<Self>, waker: Arc<dyn Waker>) -> Watch {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.list).push((id, waker));
        self.count.fetch_add(1, Ordering::SeqCst);
        Watch {
            watchers: Arc::clone(self),
            id,
        }
    }

    /// Wakes every registered waker.
    pub(crate) fn wake_all(&self) {
        if self.count.load(Ordering::SeqCst) == 0 {
            return;
        }
        let wakers: Vec<Arc<dyn Waker>> = lock(&self.list)
            .iter()
            .map(|(_, w)| Arc::clone(w))
            .collect();
        for w in wakers {
            w.wake();
        }
    }
}

/// Keeps a [`Waker`] watching an object (a pipe end, a host stream): it is woken on every
/// change of the object's state until this guard is dropped. Register the watch before
/// checking the object's readiness, so that no change falls between the check and the sleep.
pub struct Watch {
    watchers: Arc<Watchers>,
    id: u64,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("id", &self.id).finish()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut list = lock(&self.watchers.list);
        let before = list.len();
        list.retain(|(id, _)| *id != self.id);
        let removed = (before - list.len()) as u64;
        drop(list);
        self.watchers.count.fetch_sub(removed, Ordering::SeqCst);
    }
}

/// State guarded by a mutex, with a condvar to wait for changes of it: the building block
/// of every blocking object of the kernel (pipes, the process table, host input streams).
#[derive(Default)]
pub(crate) struct WaitCell<T> {
    state: Mutex<T>,
    changed: Condvar,
    /// Wakers of multi-object waits, woken by [`WaitCell::notify`] too.
    watchers: Arc<Watchers>,
}

impl<T: Send + 'static> Waker for WaitCell<T> {
    fn wake(&self) {
        // Taking the lock orders this wake-up after the waiter's check (module docs).
        drop(lock(&self.state));
        self.changed.notify_all();
    }
}

impl<T: Send + 'static> WaitCell<T> {
    pub(crate) fn new(state: T) -> WaitCell<T> {
        WaitCell {
            state: Mutex::new(state),
            changed: Condvar::new(),
            watchers: Arc::default(),
        }
    }

    /// Registers `waker` to be woken on every [`WaitCell::notify`] until the guard is
    /// dropped (for `poll`).
    pub(crate) fn watch(&self, waker: Arc<dyn Waker>) -> Watch {
        self.watchers.watch(waker)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        lock(&self.state)
    }

    /// Wakes every waiter to re-check its condition. Call after changing the state.
    pub(crate) fn notify(&self) {
        self.changed.notify_all();
        self.watchers.wake_all();
    }

    /// Runs `ready` under the lock until it returns `Some`, sleeping between tries until the
    /// state changes. Fails with `EINTR` (without calling `ready` again) once `intr` is set,
    /// but a condition already met wins over a pending interrupt, as in Linux, which only
    /// looks at signals when about to sleep.
    pub(crate) fn wait_until<R>(
        self: &Arc<Self>,
        intr: &Interrupt,
        mut ready: impl FnMut(&mut T) -> Option<R>,
    ) -> KResult<R> {
        let _registration = intr.register(Arc::clone(self) as Arc<dyn Waker>);
        let mut guard = self.lock();
        loop {
            if let Some(r) = ready(&mut guard) {
                return Ok(r);
            }
            intr.check()?;
            guard = self
                .changed
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn interrupt_wakes_a_waiter() {
        let cell = Arc::new(WaitCell::new(false));
        let intr = Interrupt::new();
        let (c, i) = (Arc::clone(&cell), intr.clone());
        let t = thread::spawn(move || c.wait_until(&i, |done| done.then_some(())));
        thread::sleep(Duration::from_millis(50));
        intr.interrupt();
        assert_eq!(t.join().unwrap(), Err(Errno::EINTR));
        // The registration is gone once the wait returned.
        assert!(lock(&intr.inner.wakers).is_empty());
    }

    #[test]
    fn forward_sets_the_second_token_until_dropped() {
        let (a, b) = (Interrupt::new(), Interrupt::new());
        let fwd = a.forward(&b);
        let cell = Arc::new(WaitCell::new(false));
        let (c, waiter) = (Arc::clone(&cell), b.clone());
        let t = thread::spawn(move || c.wait_until(&waiter, |done| done.then_some(())));
        thread::sleep(Duration::from_millis(30));
        a.interrupt();
        assert_eq!(t.join().unwrap(), Err(Errno::EINTR), "a waiter on b wakes");
        b.clear();
        a.clear();
        drop(fwd);
        a.interrupt();
        assert!(!b.is_interrupted());
        assert!(lock(&a.inner.wakers).is_empty());
        // Already set: forwarded at once.
        let c = Interrupt::new();
        let _f = a.forward(&c);
        assert!(c.is_interrupted());
    }

    #[test]
    fn ready_state_wins_over_pending_interrupt() {
        let cell = Arc::new(WaitCell::new(true));
        let intr = Interrupt::new();
        intr.interrupt();
        assert_eq!(cell.wait_until(&intr, |done| done.then_some(7)), Ok(7));
        let cell = Arc::new(WaitCell::new(false));
        assert_eq!(
            cell.wait_until(&intr, |done| done.then_some(7)),
            Err(Errno::EINTR)
        );
        intr.clear();
        assert!(!intr.is_interrupted());
        assert_eq!(intr.check(), Ok(()));
    }

    /// A watch sees every notify until it is dropped.
    #[test]
    fn watchers_are_woken_until_dropped() {
        let cell = Arc::new(WaitCell::new(0u32));
        struct Count(std::sync::atomic::AtomicU64);
        impl Waker for Count {
            fn wake(&self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicU64::new(0)));
        let watch = cell.watch(Arc::clone(&count) as Arc<dyn Waker>);
        cell.notify();
        cell.notify();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        drop(watch);
        cell.notify();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert_eq!(cell.watchers.count.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn state_change_wakes_a_waiter() {
        let cell = Arc::new(WaitCell::new(0u32));
        let intr = Interrupt::new();
        let c = Arc::clone(&cell);
        let t = thread::spawn(move || c.wait_until(&intr, |n| (*n >= 3).then_some(*n)));
        for _ in 0..3 {
            thread::sleep(Duration::from_millis(10));
            *cell.lock() += 1;
            cell.notify();
        }
        assert_eq!(t.join().unwrap(), Ok(3));
    }
}
