//! Group commit: the one thread that inserts new verbatims and flushes the store. Callers queue
//! jobs; the thread takes every job waiting (up to [`MAX_GROUP_JOBS`]), writes all their
//! verbatims in one sled transaction, makes everything durable with one blocking `flush`, and only
//! then answers each caller. Concurrent writers therefore share transactions and flushes instead
//! of racing for them, and sled is only ever flushed from this thread (sled 0.34 deadlocks when
//! `flush_async` runs concurrently with transactions: spacejam/sled#1308).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use tokio::sync::{mpsc, oneshot, watch};

use super::keys::{
    corrupt, decode_idempotency, decode_record, encode_change, encode_idempotency, encode_record,
    idempotency_key, number_key, tx_error, verbatim_key,
};
use super::space::Space;
use super::{Change, Inserted, Insertion, NewRecord, StoreError, StoreResult, META_LAST_SEQ};

/// Most jobs written and flushed together.
pub const MAX_GROUP_JOBS: usize = 256;
/// Jobs that may wait for the writer; callers beyond this wait to queue (backpressure).
const QUEUE: usize = 1024;

/// The trees and counters new verbatims are written to, shared with the [`super::Store`].
#[derive(Clone)]
pub(super) struct Log {
    pub db: sled::Db,
    pub verbatims: sled::Tree,
    pub idempotency: sled::Tree,
    pub changes: sled::Tree,
    pub meta: sled::Tree,
    /// The numbers writes take (the sequence lock); held while writing.
    pub sequences: Arc<Mutex<Sequences>>,
    /// The last change-log sequence number known durable.
    pub durable: Arc<watch::Sender<u64>>,
    /// Whether writes are taken (read-only once the disk is full).
    pub space: Space,
}

/// The two kinds of numbers writes take, guarded together by one lock so they commit in order.
#[derive(Debug, Default)]
pub(super) struct Sequences {
    /// The last change-log sequence number given: the store-wide order of writes that the index
    /// follows with its watermark. Never shown to clients.
    pub last_seq: u64,
    /// Per workspace, the last verbatim number given: what its ids show. Kept in `meta` with every
    /// insert that takes one, so a number is never given twice, even after the verbatim holding
    /// it was erased.
    pub numbers: HashMap<String, u64>,
}

enum Job {
    Insert {
        workspace: String,
        records: Vec<NewRecord>,
        reply: oneshot::Sender<StoreResult<Insertion>>,
    },
    Flush {
        reply: oneshot::Sender<StoreResult<()>>,
    },
}

/// The handle to the writer thread. Dropping it lets the thread finish what is queued and stop.
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn stopped() -> StoreError {
    StoreError::Closed
}

impl Writer {
    pub fn start(log: Log) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("tideline-store-writer".into())
            .spawn(move || run(log, queue))?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    fn sender(&self) -> StoreResult<&mpsc::Sender<Job>> {
        self.jobs.as_ref().ok_or_else(stopped)
    }

    /// Inserts new verbatims of one workspace; answers once they are durable.
    pub async fn insert(&self, workspace: &str, records: Vec<NewRecord>) -> StoreResult<Insertion> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Insert {
            workspace: workspace.to_string(),
            records,
            reply,
        };
        self.sender()?.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// [`Writer::insert`] for blocking threads (not the async runtime).
    pub fn insert_blocking(
        &self,
        workspace: &str,
        records: Vec<NewRecord>,
    ) -> StoreResult<Insertion> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Insert {
            workspace: workspace.to_string(),
            records,
            reply,
        };
        self.sender()?.blocking_send(job).map_err(|_| stopped())?;
        answer.blocking_recv().map_err(|_| stopped())?
    }

    /// Makes every write made before the call durable.
    pub async fn flush(&self) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        self.sender()?
            .send(Job::Flush { reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// [`Writer::flush`] for blocking threads (not the async runtime).
    pub fn flush_blocking(&self) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        self.sender()?
            .blocking_send(Job::Flush { reply })
            .map_err(|_| stopped())?;
        answer.blocking_recv().map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
    }
}

/// The writer thread: group, write, flush, answer; until every sender is gone.
fn run(log: Log, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP_JOBS {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut inserts = Vec::new();
        let mut flushes = Vec::new();
        for job in jobs {
            match job {
                Job::Insert {
                    workspace,
                    records,
                    reply,
                } => inserts.push((workspace, records, reply)),
                Job::Flush { reply } => flushes.push(reply),
            }
        }
        let groups: Vec<(&str, &[NewRecord])> = inserts
            .iter()
            .map(|(workspace, records, _)| (workspace.as_str(), records.as_slice()))
            .collect();
        let written = if groups.is_empty() {
            Ok((Vec::new(), 0))
        } else {
            log.space
                .writable()
                .and_then(|()| insert_groups(&log, &groups))
        };
        let flushed = flush(&log);
        for result in [written.as_ref().err(), flushed.as_ref().err()] {
            if let Some(StoreError::Sled(err)) = result {
                log.space.notice(err);
            }
        }
        match (&written, &flushed) {
            (Ok((outcomes, logged)), Ok(())) => {
                for ((_, _, reply), outcomes) in inserts.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(Insertion {
                        outcomes: outcomes.clone(),
                        logged: *logged,
                    }));
                }
            }
            (Err(err), _) | (Ok(_), Err(err)) => {
                tracing::error!(error = %err, jobs = inserts.len(), "group insert failed");
                for (_, _, reply) in inserts {
                    let _ = reply.send(Err(group_error(err, &log.space)));
                }
            }
        }
        for reply in flushes {
            let _ = reply.send(match &flushed {
                Ok(()) => Ok(()),
                Err(err) => Err(group_error(err, &log.space)),
            });
        }
    }
}

/// The error each caller in a failed group gets: read-only when the disk is full.
fn group_error(err: &StoreError, space: &Space) -> StoreError {
    match space.writable() {
        Err(read_only) => read_only,
        Ok(()) => StoreError::Write(err.to_string()),
    }
}

/// Flushes sled, then publishes the sequence number that is now durable.
fn flush(log: &Log) -> StoreResult<()> {
    let upto = log
        .sequences
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .last_seq;
    log.db.flush()?;
    log.durable.send_if_modified(|durable| {
        let advanced = upto > *durable;
        *durable = upto.max(*durable);
        advanced
    });
    Ok(())
}

/// Writes the verbatims of several callers in one transaction, each caller's in order: each new
/// verbatim takes the next number of its workspace and the next change-log sequence number. An
/// item whose `(workspace, source, external_id)` is already taken (in the store or earlier in the
/// group) changes nothing: it is a duplicate when its content digest matches, a conflict when it
/// does not. Returns one list of outcomes per caller, and the last change-log sequence number
/// once the transaction committed (it covers every verbatim created or found).
fn insert_groups(
    log: &Log,
    groups: &[(&str, &[NewRecord])],
) -> StoreResult<(Vec<Vec<Inserted>>, u64)> {
    // Per caller, per item: the encoded record and its idempotency key.
    type Encoded = (Vec<u8>, Option<Vec<u8>>);
    let prepared: Vec<Vec<Encoded>> = groups
        .iter()
        .map(|(workspace, records)| {
            records
                .iter()
                .map(|r| {
                    let key = r
                        .verbatim
                        .external_id
                        .as_deref()
                        .map(|ext| idempotency_key(workspace, r.verbatim.source, ext));
                    (encode_record(&r.verbatim), key)
                })
                .collect()
        })
        .collect();
    let mut sequences = log.sequences.lock().unwrap_or_else(|e| e.into_inner());
    let start = sequences.last_seq;
    let given = &sequences.numbers;
    let result = (&log.verbatims, &log.idempotency, &log.changes, &log.meta).transaction(
        |(verbatims, idempotency, changes, meta)| {
            let mut seq = start;
            // Per workspace written, the last number given so far.
            let mut numbers: HashMap<&str, u64> = HashMap::new();
            let mut taken: HashMap<&[u8], (u64, [u8; 16])> = HashMap::new();
            let mut all = Vec::with_capacity(groups.len());
            for ((workspace, records), encoded) in groups.iter().zip(&prepared) {
                let mut outcomes = Vec::with_capacity(records.len());
                for (record, (value, key)) in records.iter().zip(encoded) {
                    if let Some(key) = key {
                        let existing = match taken.get(key.as_slice()) {
                            Some(&(number, digest)) => Some((number, Some(digest))),
                            None => idempotency
                                .get(key)?
                                .map(|raw| decode_idempotency(key, &raw))
                                .transpose()
                                .map_err(ConflictableTransactionError::Abort)?,
                        };
                        if let Some((existing, digest)) = existing {
                            let same = match digest {
                                Some(digest) => digest == record.digest,
                                // Written before digests were kept: compare the stored text.
                                None => verbatims
                                    .get(verbatim_key(workspace, existing))?
                                    .map(|raw| {
                                        decode_record(&verbatim_key(workspace, existing), &raw)
                                    })
                                    .transpose()
                                    .map_err(ConflictableTransactionError::Abort)?
                                    .is_none_or(|stored| stored.text == record.verbatim.text),
                            };
                            outcomes.push(if same {
                                Inserted::Duplicate(existing)
                            } else {
                                Inserted::Conflict(existing)
                            });
                            continue;
                        }
                    }
                    let last = numbers
                        .entry(workspace)
                        .or_insert_with(|| given.get(*workspace).copied().unwrap_or(0));
                    *last += 1;
                    let number = *last;
                    seq += 1;
                    if let Some(key) = key {
                        taken.insert(key, (number, record.digest));
                        idempotency
                            .insert(key.as_slice(), encode_idempotency(number, &record.digest))?;
                    }
                    let verbatim = verbatim_key(workspace, number);
                    if verbatims
                        .insert(verbatim.as_slice(), value.as_slice())?
                        .is_some()
                    {
                        // The workspace's counter is behind its verbatims: never overwrite one.
                        return Err(ConflictableTransactionError::Abort(corrupt(
                            &verbatim,
                            "the workspace's verbatim number is already taken",
                        )));
                    }
                    let change = Change::Upsert {
                        workspace: workspace.to_string(),
                        number,
                    };
                    changes.insert(&seq.to_be_bytes(), encode_change(&change))?;
                    outcomes.push(Inserted::Created(number));
                }
                all.push(outcomes);
            }
            for (workspace, last) in &numbers {
                meta.insert(number_key(workspace), &last.to_be_bytes())?;
            }
            meta.insert(META_LAST_SEQ, &seq.to_be_bytes())?;
            let numbers: Vec<(String, u64)> = numbers
                .into_iter()
                .map(|(workspace, last)| (workspace.to_string(), last))
                .collect();
            Ok((all, seq, numbers))
        },
    );
    let (outcomes, seq, numbers) = result.map_err(tx_error)?;
    sequences.last_seq = seq;
    sequences.numbers.extend(numbers);
    Ok((outcomes, seq))
}
