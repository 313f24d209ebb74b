//! File descriptor tables: a process's map from fd numbers to open file descriptions, with
//! the close-on-exec flag per fd.
//!
//! Linux rules: a new fd is the lowest free number; `dup2`/`dup3` close what the target
//! held (`dup2` onto itself does nothing, `dup3` onto itself is `EINVAL`); numbers at or
//! above the table's limit (`RLIMIT_NOFILE`) are refused (`EMFILE` when allocating,
//! `EBADF` when named). `fork` copies the table, sharing the descriptions.
//!
//! The table is not locked by itself: its process holds it in a mutex. Operations that
//! remove descriptions return them, so the caller drops them (closing pipe ends, which
//! takes the pipe's lock) after releasing the table's lock.

use std::sync::Arc;

use super::errno::{Errno, KResult};
use super::file::FileDescription;

/// A file descriptor number.
pub type Fd = i32;

/// The highest fd limit a table accepts, as Linux's default `fs.nr_open` (1 << 20): the
/// table's slots are a vector indexed by fd, so the limit bounds its memory.
pub const MAX_FD_LIMIT: usize = 1 << 20;

/// `FD_CLOEXEC`, the only fd flag (`fcntl(F_GETFD/F_SETFD)`).
pub const FD_CLOEXEC: u32 = 1;

#[derive(Clone)]
struct Slot {
    file: Arc<FileDescription>,
    cloexec: bool,
}

/// A process's fd table.
#[derive(Clone)]
pub struct FdTable {
    slots: Vec<Option<Slot>>,
    /// fds must be below this (`RLIMIT_NOFILE`).
    limit: usize,
    /// How many slots are in use.
    used: usize,
}

impl std::fmt::Debug for FdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(fd, file, _)| (fd, file)))
            .finish()
    }
}

fn index(fd: Fd) -> KResult<usize> {
    usize::try_from(fd).map_err(|_| Errno::EBADF)
}

impl FdTable {
    /// An empty table whose fds must stay below `limit` (clamped to [`MAX_FD_LIMIT`]).
    pub fn new(limit: usize) -> FdTable {
        FdTable {
            slots: Vec::new(),
            limit: limit.min(MAX_FD_LIMIT),
            used: 0,
        }
    }

    /// The fd limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Sets the fd limit (`setrlimit(RLIMIT_NOFILE)`; clamped to [`MAX_FD_LIMIT`]). As on
    /// Linux, fds already open at or above it stay open and usable; new ones (allocated,
    /// or named by `dup2`) must be below it.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_FD_LIMIT);
    }

    /// Open fds.
    pub fn len(&self) -> usize {
        self.used
    }

    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    fn slot(&self, fd: Fd) -> KResult<&Slot> {
        self.slots
            .get(index(fd)?)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    /// The description `fd` refers to.
    pub fn get(&self, fd: Fd) -> KResult<Arc<FileDescription>> {
        self.slot(fd).map(|s| Arc::clone(&s.file))
    }

    /// The lowest free fd at or above `min`.
    fn lowest_free(&self, min: usize) -> KResult<usize> {
        let free = (min..self.slots.len())
            .find(|&i| self.slots[i].is_none())
            .unwrap_or(self.slots.len().max(min));
        if free >= self.limit {
            Err(Errno::EMFILE)
        } else {
            Ok(free)
        }
    }

    /// Puts `slot` at `i` (below the limit), returning what was there.
    fn put(&mut self, i: usize, slot: Slot) -> Option<Arc<FileDescription>> {
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        let old = self.slots[i].replace(slot);
        if old.is_none() {
            self.used += 1;
        }
        old.map(|s| s.file)
    }

    /// Installs `file` at the lowest free fd.
    pub fn insert(&mut self, file: Arc<FileDescription>, cloexec: bool) -> KResult<Fd> {
        self.insert_from(0, file, cloexec)
    }

    /// Installs `file` at the lowest free fd at or above `min` (`fcntl(F_DUPFD)`).
    pub fn insert_from(
        &mut self,
        min: Fd,
        file: Arc<FileDescription>,
        cloexec: bool,
    ) -> KResult<Fd> {
        let min = usize::try_from(min).map_err(|_| Errno::EINVAL)?;
        if min >= self.limit {
            return Err(Errno::EINVAL);
        }
        let i = self.lowest_free(min)?;
        self.put(i, Slot { file, cloexec });
        // i < limit <= MAX_FD_LIMIT < i32::MAX.
        Ok(i as Fd)
    }

    /// Installs `file` at exactly `fd`, returning what `fd` held (for the caller to drop).
    /// `EBADF` if `fd` is negative or not below the limit.
    pub fn insert_at(
        &mut self,
        fd: Fd,
        file: Arc<FileDescription>,
        cloexec: bool,
    ) -> KResult<Option<Arc<FileDescription>>> {
        let i = index(fd)?;
        if i >= self.limit {
            return Err(Errno::EBADF);
        }
        Ok(self.put(i, Slot { file, cloexec }))
    }

    /// Close implements Linux syscall close(2): frees `fd`, returning its description for
    /// the caller to drop outside any lock.
    pub fn close(&mut self, fd: Fd) -> KResult<Arc<FileDescription>> {
        let slot = self
            .slots
            .get_mut(index(fd)?)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        self.used -= 1;
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        Ok(slot.file)
    }

    /// Dup implements Linux syscall dup(2): the lowest free fd, sharing `fd`'s description,
    /// without `FD_CLOEXEC`.
    pub fn dup(&mut self, fd: Fd) -> KResult<Fd> {
        let file = self.get(fd)?;
        self.insert(file, false)
    }

    /// Dup2 implements Linux syscall dup2(2): `newfd` shares `oldfd`'s description (what it
    /// held is returned, closed), without `FD_CLOEXEC`. Onto itself: nothing happens, if
    /// `oldfd` is open.
    pub fn dup2(&mut self, oldfd: Fd, newfd: Fd) -> KResult<(Fd, Option<Arc<FileDescription>>)> {
        let file = self.get(oldfd)?;
        if oldfd == newfd {
            return Ok((newfd, None));
        }
        Ok((newfd, self.insert_at(newfd, file, false)?))
    }

    /// Dup3 implements Linux syscall dup3(2): dup2 with `O_CLOEXEC` as `cloexec`, and
    /// `EINVAL` onto itself.
    pub fn dup3(
        &mut self,
        oldfd: Fd,
        newfd: Fd,
        cloexec: bool,
    ) -> KResult<(Fd, Option<Arc<FileDescription>>)> {
        if oldfd == newfd {
            return Err(Errno::EINVAL);
        }
        let file = self.get(oldfd)?;
        Ok((newfd, self.insert_at(newfd, file, cloexec)?))
    }

    /// `fcntl(F_GETFD)`: whether `fd` has `FD_CLOEXEC`.
    pub fn cloexec(&self, fd: Fd) -> KResult<bool> {
        self.slot(fd).map(|s| s.cloexec)
    }

    /// `fcntl(F_SETFD)`.
    pub fn set_cloexec(&mut self, fd: Fd, cloexec: bool) -> KResult<()> {
        let slot = self
            .slots
            .get_mut(index(fd)?)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?;
        slot.cloexec = cloexec;
        Ok(())
    }

    /// The copy a forked child gets: same fds and flags, shared descriptions.
    pub fn fork(&self) -> FdTable {
        self.clone()
    }

    /// Closes every fd with `FD_CLOEXEC` (at exec), returning their descriptions.
    pub fn close_on_exec(&mut self) -> Vec<Arc<FileDescription>> {
        let mut closed = Vec::new();
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| s.cloexec)
                && let Some(s) = slot.take()
            {
                closed.push(s.file);
            }
        }
        self.used -= closed.len();
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        closed
    }

    /// Closes every fd (at exit), returning the descriptions.
    pub fn close_all(&mut self) -> Vec<Arc<FileDescription>> {
        self.used = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .map(|s| s.file)
            .collect()
    }

    /// Open fds in order, with their description and `FD_CLOEXEC`.
    pub fn iter(&self) -> impl Iterator<Item = (Fd, &Arc<FileDescription>, bool)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as Fd, &s.file, s.cloexec)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::flags::OFlags;
    use crate::kernel::stream::BytesStream;

    fn file() -> Arc<FileDescription> {
        FileDescription::host(BytesStream::new(Vec::new()), OFlags::RDONLY)
    }

    #[test]
    fn lowest_free_fd() {
        let mut t = FdTable::new(16);
        assert_eq!(t.insert(file(), false), Ok(0));
        assert_eq!(t.insert(file(), false), Ok(1));
        assert_eq!(t.insert(file(), false), Ok(2));
        t.close(1).unwrap();
        assert_eq!(t.insert(file(), false), Ok(1));
        assert_eq!(t.insert_from(10, file(), false), Ok(10));
        assert_eq!(t.insert(file(), false), Ok(3));
        assert_eq!(t.len(), 5);
        assert_eq!(t.insert_from(16, file(), false), Err(Errno::EINVAL));
        assert_eq!(t.insert_from(-1, file(), false), Err(Errno::EINVAL));
    }

    #[test]
    fn close_errors() {
        let mut t = FdTable::new(16);
        assert_eq!(t.close(0).err(), Some(Errno::EBADF));
        assert_eq!(t.close(-1).err(), Some(Errno::EBADF));
        assert_eq!(t.close(1000).err(), Some(Errno::EBADF));
        t.insert(file(), false).unwrap();
        assert!(t.close(0).is_ok());
        assert_eq!(t.close(0).err(), Some(Errno::EBADF));
        assert!(t.is_empty());
    }

    #[test]
    fn a_lowered_limit_keeps_open_fds_and_refuses_new_ones() {
        let mut t = FdTable::new(16);
        for fd in 0..6 {
            assert_eq!(t.insert(file(), false), Ok(fd));
        }
        t.set_limit(5);
        assert_eq!(t.limit(), 5);
        assert!(t.get(5).is_ok(), "an fd above the new limit stays open");
        assert_eq!(t.insert(file(), false), Err(Errno::EMFILE));
        assert_eq!(t.dup2(0, 7).map(|(fd, _)| fd), Err(Errno::EBADF));
        assert_eq!(t.insert_from(5, file(), false), Err(Errno::EINVAL));
        t.close(1).unwrap();
        assert_eq!(t.insert(file(), false), Ok(1));
        t.set_limit(usize::MAX);
        assert_eq!(t.limit(), MAX_FD_LIMIT);
    }

    #[test]
    fn emfile_at_the_limit() {
        let mut t = FdTable::new(3);
        for want in 0..3 {
            assert_eq!(t.insert(file(), false), Ok(want));
        }
        assert_eq!(t.insert(file(), false), Err(Errno::EMFILE));
        assert_eq!(t.dup(0), Err(Errno::EMFILE));
        assert_eq!(t.dup2(0, 3).err(), Some(Errno::EBADF));
        assert_eq!(FdTable::new(usize::MAX).limit(), MAX_FD_LIMIT);
    }

    #[test]
    fn dup_family() {
        let mut t = FdTable::new(64);
        let a = file();
        t.insert(Arc::clone(&a), true).unwrap();
        let d = t.dup(0).unwrap();
        assert_eq!(d, 1);
        assert!(Arc::ptr_eq(&t.get(1).unwrap(), &a));
        assert_eq!(t.cloexec(0), Ok(true));
        assert_eq!(t.cloexec(1), Ok(false), "dup clears FD_CLOEXEC");
        // dup2 onto itself: no-op, flags kept.
        assert_eq!(t.dup2(0, 0).unwrap().0, 0);
        assert_eq!(t.cloexec(0), Ok(true));
        assert_eq!(t.dup2(5, 5).err(), Some(Errno::EBADF));
        // dup2 onto an open fd closes it.
        let b = file();
        t.insert_at(7, Arc::clone(&b), false).unwrap();
        let (fd, closed) = t.dup2(0, 7).unwrap();
        assert_eq!(fd, 7);
        assert!(Arc::ptr_eq(&closed.unwrap(), &b));
        assert!(Arc::ptr_eq(&t.get(7).unwrap(), &a));
        assert_eq!(t.dup2(0, -1).err(), Some(Errno::EBADF));
        assert_eq!(t.dup3(0, 0, false).err(), Some(Errno::EINVAL));
        t.dup3(0, 9, true).unwrap();
        assert_eq!(t.cloexec(9), Ok(true));
        t.set_cloexec(9, false).unwrap();
        assert_eq!(t.cloexec(9), Ok(false));
        assert_eq!(t.set_cloexec(30, true), Err(Errno::EBADF));
    }

    #[test]
    fn fork_shares_and_exec_closes() {
        let mut t = FdTable::new(64);
        let a = file();
        t.insert(Arc::clone(&a), false).unwrap();
        t.insert(file(), true).unwrap();
        t.insert(file(), false).unwrap();
        let mut child = t.fork();
        assert!(Arc::ptr_eq(&child.get(0).unwrap(), &a));
        assert_eq!(Arc::strong_count(&a), 3);
        let closed = child.close_on_exec();
        assert_eq!(closed.len(), 1);
        assert_eq!(
            child.iter().map(|(fd, _, _)| fd).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(child.len(), 2);
        assert_eq!(t.len(), 3, "the parent keeps its fds");
        assert_eq!(child.close_all().len(), 2);
        assert!(child.is_empty());
        assert_eq!(Arc::strong_count(&a), 2);
    }
}
