//! Device files: the `mem` character devices every program expects (`/dev/null`,
//! `/dev/zero`, `/dev/full`, `/dev/random`, `/dev/urandom`). Any other device node of an
//! image can be listed and stat'ed but not opened (`ENXIO`, as Linux answers for a device
//! number with no driver).

use crate::kernel::errno::{Errno, KResult};
use crate::kernel::iov;
use crate::kernel::stat::makedev;

/// A device node's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceSpec {
    pub block: bool,
    pub major: u32,
    pub minor: u32,
}

/// The devices the kernel implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    /// Reads end at once; writes vanish.
    Null,
    /// Reads give zeros; writes vanish.
    Zero,
    /// Reads give zeros; writes fail with `ENOSPC`.
    Full,
    /// Reads give random bytes from the host's CSPRNG (`random` and `urandom` alike, as on
    /// Linux since 5.6 once the pool is initialized); writes are accepted and ignored.
    Random,
}

impl DeviceSpec {
    pub(crate) fn driver(&self) -> Option<Driver> {
        if self.block {
            return None;
        }
        match (self.major, self.minor) {
            (1, 3) => Some(Driver::Null),
            (1, 5) => Some(Driver::Zero),
            (1, 7) => Some(Driver::Full),
            (1, 8) | (1, 9) => Some(Driver::Random),
            _ => None,
        }
    }

    pub(crate) fn rdev(&self) -> u64 {
        makedev(self.major, self.minor)
    }
}

impl Driver {
    pub(crate) fn read(self, bufs: &mut [&mut [u8]]) -> KResult<usize> {
        let total = iov::total_mut(bufs);
        let mut left = total;
        for buf in bufs.iter_mut() {
            if left == 0 {
                break;
            }
            let n = buf.len().min(left);
            let piece = &mut buf[..n];
            match self {
                Driver::Null => return Ok(0),
                Driver::Zero | Driver::Full => piece.fill(0),
                Driver::Random => getrandom::getrandom(piece).map_err(|_| Errno::EIO)?,
            }
            left -= n;
        }
        Ok(total)
    }

    pub(crate) fn write(self, bufs: &[&[u8]]) -> KResult<usize> {
        match self {
            Driver::Full => Err(Errno::ENOSPC),
            _ => Ok(iov::total(bufs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(major: u32, minor: u32) -> DeviceSpec {
        DeviceSpec {
            block: false,
            major,
            minor,
        }
    }

    #[test]
    fn drivers() {
        let mut buf = [7u8; 64];
        assert_eq!(Driver::Null.read(&mut [&mut buf]), Ok(0));
        assert_eq!(buf[0], 7);
        assert_eq!(Driver::Zero.read(&mut [&mut buf]), Ok(64));
        assert!(buf.iter().all(|&b| b == 0));
        assert_eq!(Driver::Random.read(&mut [&mut buf]), Ok(64));
        assert!(buf.iter().any(|&b| b != 0), "64 random bytes all zero");
        assert_eq!(Driver::Full.write(&[b"x"]), Err(Errno::ENOSPC));
        assert_eq!(Driver::Null.write(&[b"xy", b"z"]), Ok(3));
        assert_eq!(spec(1, 3).driver(), Some(Driver::Null));
        assert_eq!(spec(1, 9).driver(), Some(Driver::Random));
        assert_eq!(spec(5, 0).driver(), None);
        assert_eq!(
            DeviceSpec {
                block: true,
                major: 1,
                minor: 3
            }
            .driver(),
            None
        );
        assert_eq!(spec(1, 3).rdev(), 0x103);
    }
}
