//! Disk space. The store stops taking writes while the disk holding it has less than
//! `min_free` bytes available — before it is full, because sled refuses every write after one
//! fails for lack of space (until the process restarts), and its log may not recover from a
//! write torn by a full disk. Reads go on, whoever watches [`Space::watch`] (the server's
//! health) hears of it, and writes resume by themselves once twice the mark is free again. A store opened on a
//! disk below the mark starts read-only and says so. Should sled still meet `ENOSPC` (a burst
//! larger than the margin), the store stays read-only until restarted.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use super::StoreError;

/// How often the free space is looked up, at most.
const CHECK_EVERY_MICROS: i64 = 250_000;

/// Whether the store takes writes, shared by everything that writes.
#[derive(Clone)]
pub(super) struct Space {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    min_free: u64,
    /// `None` while writable; why not, once read-only.
    read_only: watch::Sender<Option<String>>,
    /// When the free space was last looked up (µs since the epoch).
    checked_at: AtomicI64,
    /// sled met a full disk: read-only until restart, whatever the free space says.
    broken: std::sync::atomic::AtomicBool,
}

impl Space {
    /// Watches the disk holding `dir`, keeping `min_free` bytes free (0: no mark).
    pub fn new(dir: &Path, min_free: u64) -> Space {
        let space = Space {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                min_free,
                read_only: watch::Sender::new(None),
                checked_at: AtomicI64::new(0),
                broken: Default::default(),
            }),
        };
        space.check(crate::time::now());
        if let Some(reason) = &*space.inner.read_only.borrow() {
            tracing::error!(reason, "the store starts read-only");
        }
        space
    }

    /// Fails with [`StoreError::ReadOnly`] while the store does not take writes.
    pub fn writable(&self) -> Result<(), StoreError> {
        let now = crate::time::now();
        if now - self.inner.checked_at.load(Ordering::Relaxed) >= CHECK_EVERY_MICROS {
            self.check(now);
        }
        match &*self.inner.read_only.borrow() {
            Some(reason) => Err(StoreError::ReadOnly(reason.clone())),
            None => Ok(()),
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.inner.read_only.borrow().is_some()
    }

    /// Follows the store's state: `None` while writable, the reason once read-only.
    pub fn watch(&self) -> watch::Receiver<Option<String>> {
        self.inner.read_only.subscribe()
    }

    /// Looks the free space up and turns read-only below the mark, writable again above it.
    pub fn check(&self, now: i64) {
        self.inner.checked_at.store(now, Ordering::Relaxed);
        if self.inner.min_free == 0 || self.inner.broken.load(Ordering::Relaxed) {
            return;
        }
        let Ok(available) = fs4::available_space(&self.inner.dir) else {
            return;
        };
        // Below the mark: read-only; writable again only with twice the mark free, so a disk
        // near the mark does not flip back and forth.
        let resume_at = self.inner.min_free.saturating_mul(2);
        let low = if self.is_read_only() {
            available < resume_at
        } else {
            available < self.inner.min_free
        };
        let reason = low.then(|| {
            format!(
                "the disk holding the data directory has {} MiB free, under the {} MiB kept \
                 free (min_free_disk_mb); writes resume at {} MiB free",
                available >> 20,
                self.inner.min_free >> 20,
                resume_at >> 20
            )
        });
        self.inner.read_only.send_if_modified(|state| {
            let changed = state.is_some() != reason.is_some();
            if changed {
                match &reason {
                    Some(reason) => tracing::error!(reason, "the store is read-only"),
                    None => {
                        tracing::info!(available, "disk space freed: the store takes writes again")
                    }
                }
                *state = reason.clone();
            }
            changed
        });
    }

    /// Looks at a sled error: a full disk makes the store read-only until restarted.
    pub fn notice(&self, err: &sled::Error) {
        if is_storage_full(err) && !self.inner.broken.swap(true, Ordering::Relaxed) {
            let reason = "the disk holding the data directory filled up; free space and restart \
                          tideline"
                .to_string();
            tracing::error!(error = %err, reason, "the store is read-only");
            self.inner.read_only.send_replace(Some(reason));
        }
    }
}

/// Whether a sled error is the disk running out of space.
pub(super) fn is_storage_full(err: &sled::Error) -> bool {
    match err {
        sled::Error::Io(e) => e.kind() == ErrorKind::StorageFull || e.raw_os_error() == Some(28),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_mark_the_store_is_read_only_and_above_it_writable() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Space::new(dir.path(), 1).writable().is_ok());
        let starved = Space::new(dir.path(), u64::MAX);
        let err = starved.writable().unwrap_err();
        assert!(err.to_string().contains("min_free_disk_mb"), "{err}");
        assert!(Space::new(dir.path(), 0).writable().is_ok(), "0: no mark");
    }

    #[test]
    fn a_full_disk_met_by_sled_turns_the_store_read_only_until_restart() {
        let dir = tempfile::tempdir().unwrap();
        let space = Space::new(dir.path(), 1);
        let watching = space.watch();
        space.notice(&sled::Error::Unsupported("not about space".into()));
        assert!(space.writable().is_ok());
        space.notice(&sled::Error::Io(std::io::Error::from_raw_os_error(28)));
        assert!(matches!(space.writable(), Err(StoreError::ReadOnly(_))));
        assert!(watching.has_changed().unwrap());
        // Free space does not bring it back: sled refuses writes until restarted.
        space.check(crate::time::now());
        assert!(space.is_read_only());
    }
}
