//! Linux error numbers: what a guest sees when a kernel operation fails.
//!
//! This module owns the [`Errno`] table (x86-64 / generic Linux numbering) and the
//! [`KResult`] alias every kernel operation returns. It does not own host failures (I/O on
//! the daemon's side, traps of the engine): those have their own error types and never turn
//! into an errno by accident. The table is data-driven (one line per errno, gVisor's
//! `linuxerr` style) so the names, numbers and descriptions cannot drift apart.

use std::fmt;

/// The result of a kernel operation: a value, or the errno the guest will see.
pub type KResult<T> = Result<T, Errno>;

macro_rules! errnos {
    ($($name:ident = $num:literal => $desc:literal,)*) => {
        /// A Linux error number. The discriminant is the number the guest sees (positive; the
        /// syscall ABI negates it).
        #[repr(i32)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(clippy::upper_case_acronyms, reason = "errno names are Linux's own spelling")]
        pub enum Errno {
            $(
                #[doc = $desc]
                $name = $num,
            )*
        }

        impl Errno {
            /// Every errno of the table, in numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];

            /// The symbolic name, as in `<errno.h>`: `"ENOENT"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// What `strerror` would say, in lower case.
            pub fn description(self) -> &'static str {
                match self {
                    $(Errno::$name => $desc,)*
                }
            }

            /// The errno with this number, if the table has it.
            pub fn from_i32(num: i32) -> Option<Errno> {
                match num {
                    $($num => Some(Errno::$name),)*
                    _ => None,
                }
            }

            /// The errno with this symbolic name. `ENOTSUP` and `EWOULDBLOCK`, which Linux
            /// defines as aliases, are accepted too.
            pub fn from_name(name: &str) -> Option<Errno> {
                match name {
                    $(stringify!($name) => Some(Errno::$name),)*
                    "ENOTSUP" => Some(Errno::ENOTSUP),
                    "EWOULDBLOCK" => Some(Errno::EWOULDBLOCK),
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1 => "operation not permitted",
    ENOENT = 2 => "no such file or directory",
    ESRCH = 3 => "no such process",
    EINTR = 4 => "interrupted system call",
    EIO = 5 => "input/output error",
    ENXIO = 6 => "no such device or address",
    E2BIG = 7 => "argument list too long",
    ENOEXEC = 8 => "exec format error",
    EBADF = 9 => "bad file descriptor",
    ECHILD = 10 => "no child processes",
    EAGAIN = 11 => "resource temporarily unavailable",
    ENOMEM = 12 => "cannot allocate memory",
    EACCES = 13 => "permission denied",
    EFAULT = 14 => "bad address",
    ENOTBLK = 15 => "block device required",
    EBUSY = 16 => "device or resource busy",
    EEXIST = 17 => "file exists",
    EXDEV = 18 => "invalid cross-device link",
    ENODEV = 19 => "no such device",
    ENOTDIR = 20 => "not a directory",
    EISDIR = 21 => "is a directory",
    EINVAL = 22 => "invalid argument",
    ENFILE = 23 => "too many open files in system",
    EMFILE = 24 => "too many open files",
    ENOTTY = 25 => "inappropriate ioctl for device",
    ETXTBSY = 26 => "text file busy",
    EFBIG = 27 => "file too large",
    ENOSPC = 28 => "no space left on device",
    ESPIPE = 29 => "illegal seek",
    EROFS = 30 => "read-only file system",
    EMLINK = 31 => "too many links",
    EPIPE = 32 => "broken pipe",
    EDOM = 33 => "numerical argument out of domain",
    ERANGE = 34 => "numerical result out of range",
    EDEADLK = 35 => "resource deadlock avoided",
    ENAMETOOLONG = 36 => "file name too long",
    ENOLCK = 37 => "no locks available",
    ENOSYS = 38 => "function not implemented",
    ENOTEMPTY = 39 => "directory not empty",
    ELOOP = 40 => "too many levels of symbolic links",
    ENODATA = 61 => "no data available",
    EOVERFLOW = 75 => "value too large for defined data type",
    EILSEQ = 84 => "invalid or incomplete multibyte or wide character",
    ENOTSOCK = 88 => "socket operation on non-socket",
    EDESTADDRREQ = 89 => "destination address required",
    EMSGSIZE = 90 => "message too long",
    EPROTOTYPE = 91 => "protocol wrong type for socket",
    ENOPROTOOPT = 92 => "protocol not available",
    EPROTONOSUPPORT = 93 => "protocol not supported",
    EOPNOTSUPP = 95 => "operation not supported",
    EAFNOSUPPORT = 97 => "address family not supported by protocol",
    EADDRINUSE = 98 => "address already in use",
    EADDRNOTAVAIL = 99 => "cannot assign requested address",
    ENETUNREACH = 101 => "network is unreachable",
    ECONNABORTED = 103 => "software caused connection abort",
    ECONNRESET = 104 => "connection reset by peer",
    EISCONN = 106 => "transport endpoint is already connected",
    ENOTCONN = 107 => "transport endpoint is not connected",
    ETIMEDOUT = 110 => "connection timed out",
    ECONNREFUSED = 111 => "connection refused",
    EHOSTUNREACH = 113 => "no route to host",
    EALREADY = 114 => "operation already in progress",
    EINPROGRESS = 115 => "operation now in progress",
    ESTALE = 116 => "stale file handle",
    EDQUOT = 122 => "disk quota exceeded",
    ECANCELED = 125 => "operation canceled",
}

impl Errno {
    /// Linux defines `ENOTSUP` as `EOPNOTSUPP` (both 95).
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;
    /// Linux defines `EWOULDBLOCK` as `EAGAIN` (both 11).
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;

    /// The number the guest sees.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_linux() {
        assert_eq!(Errno::ENOENT.as_i32(), 2);
        assert_eq!(Errno::EAGAIN as i32, 11);
        assert_eq!(Errno::ENOTEMPTY as i32, 39);
        assert_eq!(Errno::ELOOP as i32, 40);
        assert_eq!(Errno::ENOTSUP as i32, 95);
        assert_eq!(Errno::ECANCELED as i32, 125);
        assert_eq!(Errno::ETIMEDOUT as i32, 110);
    }

    #[test]
    fn names_round_trip() {
        for &e in Errno::ALL {
            assert_eq!(Errno::from_name(e.name()), Some(e));
            assert_eq!(Errno::from_i32(e.as_i32()), Some(e));
        }
        assert_eq!(Errno::from_name("ENOTSUP"), Some(Errno::EOPNOTSUPP));
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
        assert_eq!(Errno::from_name("ENOPE"), None);
        assert_eq!(Errno::from_i32(0), None);
        assert_eq!(Errno::from_i32(-2), None);
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for w in Errno::ALL.windows(2) {
            assert!(w[0].as_i32() < w[1].as_i32(), "{:?} {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn display_names_the_errno() {
        assert_eq!(
            Errno::ENOENT.to_string(),
            "ENOENT (no such file or directory)"
        );
    }

    /// The host agrees on the numbers (std reports raw OS errors).
    #[cfg(target_os = "linux")]
    #[test]
    fn host_agrees() {
        let err = std::fs::metadata("/definitely/not/here").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::ENOENT.as_i32()));
    }
}
