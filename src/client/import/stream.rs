//! Sending rows over `StreamVerbatims`: batches of rows per message, successive calls of a bounded
//! number of rows (so every failure the server lists can be traced back to its line), bounded
//! queues (so a slow server slows the reader instead of filling memory).

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::ImportError;
use crate::client::Connection;
use crate::proto;
use crate::proto::ingest_service_client::IngestServiceClient;

/// Stream messages queued ahead of the network for one call.
const QUEUED_MESSAGES: usize = 2;

/// An ingest client whose calls carry the import's API key.
pub type IngestClient = IngestServiceClient<Connection>;

/// A mapped row on its way to the server.
#[derive(Debug)]
pub struct PendingRow {
    /// Position of its input among the import's inputs.
    pub input: usize,
    pub line: u64,
    pub raw: String,
    pub item: proto::NewVerbatim,
}

/// Where a sent row came from, kept until the server has answered for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRow {
    pub input: usize,
    pub line: u64,
    pub raw: String,
}

/// The server's answer for one call, and the rows of that call in stream order (a failure's
/// `index` is a position in `rows`).
#[derive(Debug)]
pub struct Acknowledged {
    pub response: proto::StreamVerbatimsResponse,
    pub rows: Vec<SentRow>,
}

/// Sends batches over successive `StreamVerbatims` calls of at most `max_rows_per_call` rows
/// (whole batches: a call ends when the largest batch seen no longer fits). With `overlap`, the
/// next call is already sending while the previous one's answer is awaited (the store serialises
/// writes, so two calls never both create one external id); without it, every call is answered
/// before the next begins.
pub struct Uploader {
    client: IngestClient,
    workspace: String,
    max_rows_per_call: usize,
    overlap: bool,
    largest_batch: usize,
    open: Option<OpenCall>,
    /// A call whose stream has ended and whose answer is pending.
    closed: Option<ClosedCall>,
}

struct OpenCall {
    requests: mpsc::Sender<proto::StreamVerbatimsRequest>,
    call: JoinHandle<Result<proto::StreamVerbatimsResponse, Status>>,
    rows: Vec<SentRow>,
}

struct ClosedCall {
    call: JoinHandle<Result<proto::StreamVerbatimsResponse, Status>>,
    rows: Vec<SentRow>,
}

impl OpenCall {
    /// Ends the call's stream; the server answers once it has stored everything.
    fn close(self) -> ClosedCall {
        drop(self.requests);
        ClosedCall {
            call: self.call,
            rows: self.rows,
        }
    }
}

impl ClosedCall {
    async fn answer(self) -> Result<Acknowledged, Status> {
        let response = self
            .call
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
        Ok(Acknowledged {
            response,
            rows: self.rows,
        })
    }
}

impl Uploader {
    pub fn new(
        client: IngestClient,
        workspace: &str,
        max_rows_per_call: usize,
        overlap: bool,
    ) -> Uploader {
        Uploader {
            client,
            workspace: workspace.to_string(),
            max_rows_per_call,
            overlap,
            largest_batch: 0,
            open: None,
            closed: None,
        }
    }

    /// Sends one batch as one stream message, waiting while the network is busy. Returns the
    /// server's answers for the calls that completed meanwhile, oldest first. An error is the
    /// server failing a call.
    pub async fn send(&mut self, rows: Vec<PendingRow>) -> Result<Vec<Acknowledged>, Status> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        self.largest_batch = self.largest_batch.max(rows.len());
        let mut open = match self.open.take() {
            Some(open) => open,
            None => start_call(self.client.clone()),
        };
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(row.item);
            open.rows.push(SentRow {
                input: row.input,
                line: row.line,
                raw: row.raw,
            });
        }
        let message = proto::StreamVerbatimsRequest {
            workspace: self.workspace.clone(),
            items,
        };
        if open.requests.send(message).await.is_err() {
            // The call ended before its stream did: the server failed it.
            open.close().answer().await?;
            return Err(Status::internal(
                "the server answered before the stream ended",
            ));
        }
        if open.rows.len() + self.largest_batch <= self.max_rows_per_call {
            self.open = Some(open);
            return Ok(Vec::new());
        }
        let mut answers = Vec::new();
        if let Some(previous) = self.closed.take() {
            answers.push(previous.answer().await?);
        }
        let closed = open.close();
        if self.overlap {
            self.closed = Some(closed);
        } else {
            answers.push(closed.answer().await?);
        }
        Ok(answers)
    }

    /// Ends the open call and returns the server's answers for every call still pending.
    pub async fn finish(&mut self) -> Result<Vec<Acknowledged>, Status> {
        let mut answers = Vec::new();
        if let Some(previous) = self.closed.take() {
            answers.push(previous.answer().await?);
        }
        if let Some(open) = self.open.take() {
            answers.push(open.close().answer().await?);
        }
        Ok(answers)
    }
}

fn start_call(mut client: IngestClient) -> OpenCall {
    let (requests, queued) = mpsc::channel(QUEUED_MESSAGES);
    let call = tokio::spawn(async move {
        client
            .stream_verbatims(ReceiverStream::new(queued))
            .await
            .map(tonic::Response::into_inner)
    });
    OpenCall {
        requests,
        call,
        rows: Vec::new(),
    }
}

/// Streams `items` in messages of `batch_size` over one call and returns the server's summary.
/// Holds every item in memory; `tideline import` streams files row by row instead.
pub async fn stream_items(
    client: &mut IngestClient,
    workspace: &str,
    items: Vec<proto::NewVerbatim>,
    batch_size: usize,
) -> Result<proto::StreamVerbatimsResponse, ImportError> {
    let batch_size = batch_size.max(1);
    let mut messages = Vec::with_capacity(items.len() / batch_size + 1);
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        messages.push(proto::StreamVerbatimsRequest {
            workspace: workspace.to_string(),
            items: items.by_ref().take(batch_size).collect(),
        });
    }
    client
        .stream_verbatims(futures::stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| ImportError::Server {
            status,
            acknowledged: 0,
        })
}
