//! The import itself: a reader thread reads and maps rows into batches, the async side streams
//! them to the server, traces the server's failures back to their lines, writes the error report
//! and shows progress. The queue between the two is bounded, so memory stays flat whatever the
//! file size.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::time::Instant;

use tokio::sync::mpsc;

use super::progress::{Progress, ReadPosition};
use super::report::{ErrorReport, Summary};
use super::stream::{Acknowledged, IngestClient, PendingRow, Uploader};
use super::{ImportError, ImportOptions, Input, Mapped, MappedRows, RowError};

/// Batches queued between the reader thread and the network.
const QUEUED_BATCHES: usize = 4;

/// Most rows per `StreamVerbatims` call. The server lists at most `limits.max_reported_failures`
/// (default 1000) failures per call, so with calls this short every row it refuses reaches the
/// error report with its line. Overlapping calls keep the server busy between them: on five
/// copies of the airline file (73,200 rows) 1,000-row overlapped calls ran at 16-17k rows/s,
/// 10,000-row calls one after the other at 13-14.5k.
const ROWS_PER_CALL: usize = 1_000;

/// Refused rows printed on standard error; the error report has them all.
const PRINTED_REFUSALS: u64 = 10;

/// What the reader thread hands to the async side, in reading order.
enum Event {
    Rows {
        rows: Vec<PendingRow>,
        position: ReadPosition,
    },
    Refused {
        input: usize,
        error: RowError,
        position: ReadPosition,
    },
}

/// Imports every input over `client` into `workspace` and returns the counts. Refused rows do not
/// stop the import (unless `strict`); a failing input, report or server does, after the rows
/// already sent have been answered for.
pub async fn run(
    options: &ImportOptions,
    client: IngestClient,
    workspace: &str,
) -> Result<Summary, ImportError> {
    let started = Instant::now();
    let report = options
        .errors
        .as_deref()
        .map(|path| ErrorReport::create(path, options.inputs.len() > 1))
        .transpose()?;
    let total_bytes = options.inputs.iter().map(Input::size).sum();
    // In strict mode every batch is its own call, answered before the next is sent, so a row the
    // server refuses stops the import right after its batch.
    let (rows_per_call, overlap) = if options.strict {
        (options.batch_size, false)
    } else {
        (ROWS_PER_CALL, true)
    };
    let mut importer = Importer {
        options,
        summary: Summary::default(),
        refusals_recorded: 0,
        report,
        progress: Progress::new(options.progress, total_bytes, std::io::stderr()),
        uploader: Uploader::new(client, workspace, rows_per_call, overlap),
    };

    let (events, received) = mpsc::channel(QUEUED_BATCHES);
    let reader = std::thread::spawn({
        let options = options.clone();
        move || read_inputs(&options, &events)
    });
    let streamed = importer.stream(received).await;
    let read = if streamed.is_ok() && !importer.summary.stopped_early {
        // The reader closed the queue: it has returned, so joining does not block.
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    } else {
        // Stopped early: the reader may be waiting on a pipe; it ends with the process.
        Ok(IdCheck::default())
    };
    if let Ok(ids) = &read {
        importer.note_repeated_ids(ids);
    }
    importer.note_unprinted_refusals();
    importer.progress.finish();
    let reported = importer.report.map(ErrorReport::finish).transpose();
    streamed?;
    let read = read?;
    reported?;

    let mut summary = importer.summary;
    summary.repeated_ids = read.repeated;
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.read as f64 / summary.elapsed_seconds.max(1e-9);
    Ok(summary)
}

/// The async side's state.
struct Importer<'a> {
    options: &'a ImportOptions,
    summary: Summary,
    /// Refused rows reported so far (by the reader or listed by the server).
    refusals_recorded: u64,
    report: Option<ErrorReport>,
    progress: Progress<std::io::Stderr>,
    uploader: Uploader,
}

impl Importer<'_> {
    /// Sends every batch the reader produces, then ends the last call. Dropping `events` on
    /// return stops the reader.
    async fn stream(&mut self, mut events: mpsc::Receiver<Event>) -> Result<(), ImportError> {
        while let Some(event) = events.recv().await {
            let position = match event {
                Event::Rows { rows, position } => {
                    self.summary.read += rows.len() as u64;
                    let answers = self.uploader.send(rows).await;
                    self.settle(answers)?;
                    position
                }
                Event::Refused {
                    input,
                    error,
                    position,
                } => {
                    self.summary.read += 1;
                    self.summary.rejected += 1;
                    self.record_refusal(input, &error)?;
                    position
                }
            };
            self.progress.update(position);
            if self.options.strict && self.summary.rejected + self.summary.conflicts > 0 {
                self.summary.stopped_early = true;
                break;
            }
        }
        let answers = self.uploader.finish().await;
        self.settle(answers)
    }

    /// Counts the server's answers for calls and reports the rows it refused.
    fn settle(
        &mut self,
        answers: Result<Vec<Acknowledged>, tonic::Status>,
    ) -> Result<(), ImportError> {
        let answers = answers.map_err(|status| ImportError::Server {
            status,
            acknowledged: self.summary.imported + self.summary.duplicates,
        })?;
        for answer in answers {
            self.settle_call(answer)?;
        }
        Ok(())
    }

    fn settle_call(&mut self, answer: Acknowledged) -> Result<(), ImportError> {
        let Acknowledged { response, rows } = answer;
        self.summary.imported += response.created;
        self.summary.duplicates += response.duplicates;
        self.summary.rejected += response.rejected;
        self.summary.conflicts += response.conflicts;
        let mut listed = 0;
        for failure in &response.failures {
            let Some(row) = usize::try_from(failure.index)
                .ok()
                .and_then(|index| rows.get(index))
            else {
                continue;
            };
            listed += 1;
            let error = RowError {
                line: row.line,
                column: self.options.mapping.column_for_field(&failure.field),
                reason: failure.message.clone(),
                raw: row.raw.clone(),
            };
            self.record_refusal(row.input, &error)?;
        }
        self.summary.unlisted_rejections +=
            (response.rejected + response.conflicts).saturating_sub(listed);
        Ok(())
    }

    /// Writes a refused row to the report and, for the first few, to standard error.
    fn record_refusal(&mut self, input: usize, error: &RowError) -> Result<(), ImportError> {
        let name = self.options.inputs[input].display();
        self.refusals_recorded += 1;
        if self.refusals_recorded <= PRINTED_REFUSALS {
            self.progress.note(&format!("{name}: {error}"));
        }
        match &mut self.report {
            Some(report) => report.record(&name, error),
            None => Ok(()),
        }
    }

    /// Warns when the id column is not unique: its repeated values are answered as duplicates
    /// (or conflicts), which is rarely what an id column means.
    fn note_repeated_ids(&mut self, ids: &IdCheck) {
        let (Some(column), Some((line, value))) = (&self.options.mapping.external_id, &ids.first)
        else {
            return;
        };
        self.progress.note(&format!(
            "warning: the id column {column:?} is not unique: {} rows repeat an earlier row's id \
             (first at line {line}: {value:?}); is it really each row's own id?",
            ids.repeated
        ));
    }

    fn note_unprinted_refusals(&mut self) {
        if self.refusals_recorded <= PRINTED_REFUSALS {
            return;
        }
        let more = self.refusals_recorded - PRINTED_REFUSALS;
        let note = match &self.options.errors {
            Some(path) => format!("{more} more refused rows are in {}", path.display()),
            None => format!("{more} more refused rows; --errors FILE lists them all"),
        };
        self.progress.note(&note);
    }
}

/// Whether the ids read from the id column repeat: kept as 64-bit hashes, so a million rows cost
/// a few megabytes.
#[derive(Debug, Default)]
struct IdCheck {
    seen: HashSet<u64>,
    hasher: RandomState,
    repeated: u64,
    /// The first repeated id: its line and value.
    first: Option<(u64, String)>,
}

impl IdCheck {
    fn see(&mut self, line: u64, item: &crate::proto::NewVerbatim) {
        // Derived ids (rows without one) are unique by construction.
        if item.external_id.is_empty() || item.external_id.starts_with(super::DERIVED_ID_PREFIX) {
            return;
        }
        let hash = self.hasher.hash_one((item.source, &item.external_id));
        if !self.seen.insert(hash) {
            self.repeated += 1;
            self.first
                .get_or_insert_with(|| (line, item.external_id.clone()));
        }
    }
}

/// The reader thread: reads and maps every input in turn and hands batches to the async side,
/// waiting while its queue is full. Returns early, without error, when the async side has stopped
/// listening (a server failure, or `--strict`). Returns what it found of repeated ids.
fn read_inputs(
    options: &ImportOptions,
    events: &mpsc::Sender<Event>,
) -> Result<IdCheck, ImportError> {
    let mut ids = IdCheck::default();
    let batch_size = options.batch_size.max(1);
    let listening = |event| events.blocking_send(event).is_ok();
    let mut position = ReadPosition::default();
    let mut batch = Vec::with_capacity(batch_size);
    for (index, input) in options.inputs.iter().enumerate() {
        let mut rows = MappedRows::open(input, options.read, &options.mapping)?;
        let bytes_before = position.bytes;
        loop {
            let next = rows.next_row();
            position.bytes = bytes_before + rows.bytes_read();
            let next = match next {
                Ok(next) => next,
                Err(error) => {
                    // Rows read before the input failed are still imported.
                    send_batch(&mut batch, position, &listening);
                    return Err(error);
                }
            };
            match next {
                Mapped::Row { line, raw, item } => {
                    position.rows += 1;
                    ids.see(line, &item);
                    batch.push(PendingRow {
                        input: index,
                        line,
                        raw,
                        item: *item,
                    });
                    if batch.len() >= batch_size && !send_batch(&mut batch, position, &listening) {
                        return Ok(ids);
                    }
                }
                Mapped::Refused(error) => {
                    position.rows += 1;
                    // Rows before the refused one go first, so `--strict` imports exactly those.
                    let refused = Event::Refused {
                        input: index,
                        error,
                        position,
                    };
                    if !send_batch(&mut batch, position, &listening)
                        || !listening(refused)
                        || options.strict
                    {
                        return Ok(ids);
                    }
                }
                Mapped::End => break,
            }
        }
    }
    send_batch(&mut batch, position, &listening);
    Ok(ids)
}

/// Hands over the batch, if it has rows. Returns whether the async side is still listening.
fn send_batch(
    batch: &mut Vec<PendingRow>,
    position: ReadPosition,
    listening: &impl Fn(Event) -> bool,
) -> bool {
    if batch.is_empty() {
        return true;
    }
    let rows = std::mem::replace(batch, Vec::with_capacity(batch.capacity()));
    listening(Event::Rows { rows, position })
}
