//! WASI preview1 error numbers and how a call's failure turns into one.
//!
//! WASI numbers its errnos in its own order (the `$errno` enum of `typenames.witx`), not
//! Linux's: `ENOENT` is 2 on Linux and 44 in WASI. This module owns the WASI table
//! ([`WasiErrno`]), the one mapping from kernel errnos ([`WasiErrno::from_kernel`]), and
//! `Fail`, the ways a host call can fail (a kernel errno, a WASI errno decided by the ABI
//! layer itself, or the end of the process).

use super::HostExit;
use crate::kernel::Errno;

/// A WASI preview1 errno (the `u16` a function returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WasiErrno(pub u16);

macro_rules! wasi_errnos {
    ($($name:ident = $num:literal,)*) => {
        impl WasiErrno {
            $(pub const $name: WasiErrno = WasiErrno($num);)*

            /// Every errno of the table, in numeric order.
            pub const ALL: &'static [WasiErrno] = &[$(WasiErrno::$name,)*];

            /// The name WASI gives it, upper case: `"NOENT"`.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($num => stringify!($name),)*
                    _ => "UNKNOWN",
                }
            }
        }
    };
}

// The order of `$errno` in wasi_snapshot_preview1's typenames.witx.
wasi_errnos! {
    SUCCESS = 0, TOOBIG = 1, ACCES = 2, ADDRINUSE = 3, ADDRNOTAVAIL = 4, AFNOSUPPORT = 5,
    AGAIN = 6, ALREADY = 7, BADF = 8, BADMSG = 9, BUSY = 10, CANCELED = 11, CHILD = 12,
    CONNABORTED = 13, CONNREFUSED = 14, CONNRESET = 15, DEADLK = 16, DESTADDRREQ = 17,
    DOM = 18, DQUOT = 19, EXIST = 20, FAULT = 21, FBIG = 22, HOSTUNREACH = 23, IDRM = 24,
    ILSEQ = 25, INPROGRESS = 26, INTR = 27, INVAL = 28, IO = 29, ISCONN = 30, ISDIR = 31,
    LOOP = 32, MFILE = 33, MLINK = 34, MSGSIZE = 35, MULTIHOP = 36, NAMETOOLONG = 37,
    NETDOWN = 38, NETRESET = 39, NETUNREACH = 40, NFILE = 41, NOBUFS = 42, NODEV = 43,
    NOENT = 44, NOEXEC = 45, NOLCK = 46, NOLINK = 47, NOMEM = 48, NOMSG = 49,
    NOPROTOOPT = 50, NOSPC = 51, NOSYS = 52, NOTCONN = 53, NOTDIR = 54, NOTEMPTY = 55,
    NOTRECOVERABLE = 56, NOTSOCK = 57, NOTSUP = 58, NOTTY = 59, NXIO = 60, OVERFLOW = 61,
    OWNERDEAD = 62, PERM = 63, PIPE = 64, PROTO = 65, PROTONOSUPPORT = 66, PROTOTYPE = 67,
    RANGE = 68, ROFS = 69, SPIPE = 70, SRCH = 71, STALE = 72, TIMEDOUT = 73, TXTBSY = 74,
    XDEV = 75, NOTCAPABLE = 76,
}

impl WasiErrno {
    /// The WASI errno for a kernel (Linux) errno. The match is exhaustive on purpose: a new
    /// kernel errno must be given its WASI meaning here. The two kernel errnos WASI has no
    /// name for map to the nearest one: `ENOTBLK` to `INVAL`, `ENODATA` to `NOMSG`.
    pub fn from_kernel(e: Errno) -> WasiErrno {
        match e {
            Errno::EPERM => WasiErrno::PERM,
            Errno::ENOENT => WasiErrno::NOENT,
            Errno::ESRCH => WasiErrno::SRCH,
            Errno::EINTR => WasiErrno::INTR,
            Errno::EIO => WasiErrno::IO,
            Errno::ENXIO => WasiErrno::NXIO,
            Errno::E2BIG => WasiErrno::TOOBIG,
            Errno::ENOEXEC => WasiErrno::NOEXEC,
            Errno::EBADF => WasiErrno::BADF,
            Errno::ECHILD => WasiErrno::CHILD,
            Errno::EAGAIN => WasiErrno::AGAIN,
            Errno::ENOMEM => WasiErrno::NOMEM,
            Errno::EACCES => WasiErrno::ACCES,
            Errno::EFAULT => WasiErrno::FAULT,
            Errno::ENOTBLK => WasiErrno::INVAL,
            Errno::EBUSY => WasiErrno::BUSY,
            Errno::EEXIST => WasiErrno::EXIST,
            Errno::EXDEV => WasiErrno::XDEV,
            Errno::ENODEV => WasiErrno::NODEV,
            Errno::ENOTDIR => WasiErrno::NOTDIR,
            Errno::EISDIR => WasiErrno::ISDIR,
            Errno::EINVAL => WasiErrno::INVAL,
            Errno::ENFILE => WasiErrno::NFILE,
            Errno::EMFILE => WasiErrno::MFILE,
            Errno::ENOTTY => WasiErrno::NOTTY,
            Errno::ETXTBSY => WasiErrno::TXTBSY,
            Errno::EFBIG => WasiErrno::FBIG,
            Errno::ENOSPC => WasiErrno::NOSPC,
            Errno::ESPIPE => WasiErrno::SPIPE,
            Errno::EROFS => WasiErrno::ROFS,
            Errno::EMLINK => WasiErrno::MLINK,
            Errno::EPIPE => WasiErrno::PIPE,
            Errno::EDOM => WasiErrno::DOM,
            Errno::ERANGE => WasiErrno::RANGE,
            Errno::EDEADLK => WasiErrno::DEADLK,
            Errno::ENAMETOOLONG => WasiErrno::NAMETOOLONG,
            Errno::ENOLCK => WasiErrno::NOLCK,
            Errno::ENOSYS => WasiErrno::NOSYS,
            Errno::ENOTEMPTY => WasiErrno::NOTEMPTY,
            Errno::ELOOP => WasiErrno::LOOP,
            Errno::ENODATA => WasiErrno::NOMSG,
            Errno::EOVERFLOW => WasiErrno::OVERFLOW,
            Errno::EILSEQ => WasiErrno::ILSEQ,
            Errno::ENOTSOCK => WasiErrno::NOTSOCK,
            Errno::EDESTADDRREQ => WasiErrno::DESTADDRREQ,
            Errno::EMSGSIZE => WasiErrno::MSGSIZE,
            Errno::EPROTOTYPE => WasiErrno::PROTOTYPE,
            Errno::ENOPROTOOPT => WasiErrno::NOPROTOOPT,
            Errno::EPROTONOSUPPORT => WasiErrno::PROTONOSUPPORT,
            Errno::EOPNOTSUPP => WasiErrno::NOTSUP,
            Errno::EAFNOSUPPORT => WasiErrno::AFNOSUPPORT,
            Errno::EADDRINUSE => WasiErrno::ADDRINUSE,
            Errno::EADDRNOTAVAIL => WasiErrno::ADDRNOTAVAIL,
            Errno::ENETUNREACH => WasiErrno::NETUNREACH,
            Errno::ECONNABORTED => WasiErrno::CONNABORTED,
            Errno::ECONNRESET => WasiErrno::CONNRESET,
            Errno::EISCONN => WasiErrno::ISCONN,
            Errno::ENOTCONN => WasiErrno::NOTCONN,
            Errno::ETIMEDOUT => WasiErrno::TIMEDOUT,
            Errno::ECONNREFUSED => WasiErrno::CONNREFUSED,
            Errno::EHOSTUNREACH => WasiErrno::HOSTUNREACH,
            Errno::EALREADY => WasiErrno::ALREADY,
            Errno::EINPROGRESS => WasiErrno::INPROGRESS,
            Errno::ESTALE => WasiErrno::STALE,
            Errno::EDQUOT => WasiErrno::DQUOT,
            Errno::ECANCELED => WasiErrno::CANCELED,
        }
    }
}

/// How a host call fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fail {
    /// A kernel operation failed: the guest sees its WASI counterpart, except `EINTR` of a
    /// process whose interrupt is set, which ends the process (see the dispatcher).
    Kernel(Errno),
    /// The ABI layer's own verdict (a bad pointer, a bad flag, a missing capability).
    Wasi(WasiErrno),
    /// The process ends.
    Exit(HostExit),
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Fail {
        Fail::Kernel(e)
    }
}

impl From<WasiErrno> for Fail {
    fn from(e: WasiErrno) -> Fail {
        Fail::Wasi(e)
    }
}

/// The result of one step of a host call.
pub(crate) type WResult<T> = Result<T, Fail>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers the preview1 specification gives (spot checks across the table).
    #[test]
    fn numbers_are_wasi() {
        let expect = [
            (WasiErrno::SUCCESS, 0),
            (WasiErrno::TOOBIG, 1),
            (WasiErrno::ACCES, 2),
            (WasiErrno::ADDRINUSE, 3),
            (WasiErrno::BADF, 8),
            (WasiErrno::EXIST, 20),
            (WasiErrno::FAULT, 21),
            (WasiErrno::INVAL, 28),
            (WasiErrno::IO, 29),
            (WasiErrno::ISDIR, 31),
            (WasiErrno::LOOP, 32),
            (WasiErrno::NAMETOOLONG, 37),
            (WasiErrno::NOENT, 44),
            (WasiErrno::NOSYS, 52),
            (WasiErrno::NOTDIR, 54),
            (WasiErrno::NOTEMPTY, 55),
            (WasiErrno::NOTSUP, 58),
            (WasiErrno::PERM, 63),
            (WasiErrno::PIPE, 64),
            (WasiErrno::SPIPE, 70),
            (WasiErrno::NOTCAPABLE, 76),
        ];
        for (e, n) in expect {
            assert_eq!(e.0, n, "{}", e.name());
        }
        for (i, e) in WasiErrno::ALL.iter().enumerate() {
            assert_eq!(usize::from(e.0), i, "the table is dense and ordered");
        }
        assert_eq!(WasiErrno::ALL.len(), 77);
    }

    #[test]
    fn kernel_errnos_map_by_meaning() {
        assert_eq!(WasiErrno::from_kernel(Errno::ENOENT), WasiErrno::NOENT);
        assert_eq!(WasiErrno::from_kernel(Errno::EBADF), WasiErrno::BADF);
        assert_eq!(WasiErrno::from_kernel(Errno::ENOTSUP), WasiErrno::NOTSUP);
        assert_eq!(WasiErrno::from_kernel(Errno::EAGAIN), WasiErrno::AGAIN);
        assert_eq!(WasiErrno::from_kernel(Errno::E2BIG), WasiErrno::TOOBIG);
        for &e in Errno::ALL {
            let w = WasiErrno::from_kernel(e);
            assert_ne!(w, WasiErrno::SUCCESS, "{e}");
            // Same name on both sides, except where WASI spells it differently.
            let linux = e.name().strip_prefix('E').unwrap_or(e.name());
            let exceptions = ["2BIG", "NOTBLK", "NODATA", "OPNOTSUPP"];
            if !exceptions.contains(&linux) {
                assert_eq!(w.name(), linux, "{e}");
            }
        }
    }
}
