//! `tideline.v1.IngestService`: batches and client streams of new verbatims.

use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use prost::Message as _;
use tonic::{Code, Request, Response, Status, Streaming};

use super::access::{caller_of, check_reach};
use super::status::{item_error, item_validation_error, name_transport_error};
use super::{convert, workspace_of};
use crate::engine::{Engine, ItemResult};
use crate::model::{quoted, validate_workspace, VerbatimId};
use crate::proto;
use crate::proto::ingest_service_server::IngestService;
use crate::store::Inserted;

pub struct IngestApi {
    engine: Arc<Engine>,
}

impl IngestApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        IngestApi { engine }
    }
}

fn result_to_proto(index: u64, result: ItemResult) -> proto::IngestResult {
    match result {
        Ok(Inserted::Created(number)) => proto::IngestResult {
            outcome: proto::ItemOutcome::Created as i32,
            id: VerbatimId(number).to_string(),
            error: None,
        },
        Ok(Inserted::Duplicate(number)) => proto::IngestResult {
            outcome: proto::ItemOutcome::Duplicate as i32,
            id: VerbatimId(number).to_string(),
            error: None,
        },
        Ok(Inserted::Conflict(number)) => proto::IngestResult {
            outcome: proto::ItemOutcome::Conflict as i32,
            id: VerbatimId(number).to_string(),
            error: Some(conflict_error(index, number)),
        },
        Err(err) => proto::IngestResult {
            outcome: proto::ItemOutcome::Rejected as i32,
            id: String::new(),
            error: Some(item_validation_error(index, err)),
        },
    }
}

/// The per-item error of an idempotency key reused with other content.
fn conflict_error(index: u64, existing: u64) -> proto::ItemError {
    item_error(
        index,
        Code::AlreadyExists,
        "external_id",
        format!(
            "external_id: already the idempotency key of {} with other content; nothing was stored",
            VerbatimId(existing)
        ),
    )
}

/// The size of a received stream message (0 for a transport error).
fn encoded_len(message: &Result<proto::StreamVerbatimsRequest, Status>) -> usize {
    message.as_ref().map_or(0, |m| m.encoded_len())
}

/// Running totals of a stream.
struct StreamTally {
    response: proto::StreamVerbatimsResponse,
    max_reported: usize,
}

impl StreamTally {
    fn fail(&mut self, error: proto::ItemError) {
        self.response.rejected += 1;
        self.report(error);
    }

    fn report(&mut self, error: proto::ItemError) {
        if self.response.failures.len() < self.max_reported {
            self.response.failures.push(error);
        } else {
            self.response.failures_truncated = true;
        }
    }

    fn record(&mut self, index: u64, result: ItemResult) {
        match result {
            Ok(Inserted::Created(_)) => self.response.created += 1,
            Ok(Inserted::Duplicate(_)) => self.response.duplicates += 1,
            Ok(Inserted::Conflict(number)) => {
                self.response.conflicts += 1;
                self.report(conflict_error(index, number));
            }
            Err(err) => self.fail(item_validation_error(index, err)),
        }
    }
}

#[tonic::async_trait]
impl IngestService for IngestApi {
    async fn ingest_verbatims(
        &self,
        request: Request<proto::IngestVerbatimsRequest>,
    ) -> Result<Response<proto::IngestVerbatimsResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let items = req.items.into_iter().map(convert::new_verbatim).collect();
        let results = self
            .engine
            .ingest(&workspace, items, req.wait_for_index)
            .await?;
        Ok(Response::new(proto::IngestVerbatimsResponse {
            results: results
                .into_iter()
                .enumerate()
                .map(|(i, r)| result_to_proto(i as u64, r))
                .collect(),
        }))
    }

    async fn stream_verbatims(
        &self,
        request: Request<Streaming<proto::StreamVerbatimsRequest>>,
    ) -> Result<Response<proto::StreamVerbatimsResponse>, Status> {
        let config = self.engine.config();
        let max_batch = config.limits.max_batch_items;
        let max_message = config.limits.max_message_bytes;
        let (default_workspace, caller) = caller_of(&self.engine, &request, "")?;
        // One of the key's streams, held until this one ends.
        let _stream = self
            .engine
            .services()
            .keys
            .quotas
            .open_stream(&caller.key_id)?;
        let max_buffer = config.limits.max_stream_buffer_bytes;
        let mut messages = request.into_inner();
        let mut tally = StreamTally {
            response: Default::default(),
            max_reported: config.limits.max_reported_failures,
        };
        let mut workspace: Option<String> = None;
        let mut next_index = 0u64;
        while let Some(first) = messages.next().await {
            // The messages already received, up to `limits.max_stream_buffer_bytes`, make one
            // store write; the client waits for the rest (HTTP/2 flow control).
            let mut buffered = encoded_len(&first);
            let mut chunk = vec![first];
            while buffered < max_buffer && chunk.last().is_some_and(Result::is_ok) {
                match messages.next().now_or_never() {
                    Some(Some(message)) => {
                        buffered += encoded_len(&message);
                        chunk.push(message);
                    }
                    _ => break,
                }
            }
            let mut group = Vec::new();
            let mut group_indices = Vec::new();
            for message in chunk {
                let message = message.map_err(|s| name_transport_error(s, max_message))?;
                let first = next_index;
                let count = message.items.len() as u64;
                next_index += count;
                tally.response.received += count;
                let ws = match &workspace {
                    Some(ws) => ws.clone(),
                    None => {
                        let ws = if message.workspace.is_empty() {
                            default_workspace.clone()
                        } else {
                            validate_workspace(&message.workspace)?;
                            check_reach(&caller, &message.workspace)?;
                            message.workspace.clone()
                        };
                        workspace.insert(ws).clone()
                    }
                };
                let refusal = if !message.workspace.is_empty() && message.workspace != ws {
                    Some((
                        Code::InvalidArgument,
                        "workspace",
                        format!(
                            "workspace: {} differs from the stream's workspace {ws:?}",
                            quoted(&message.workspace)
                        ),
                    ))
                } else if message.items.len() > max_batch {
                    Some((
                        Code::ResourceExhausted,
                        "items",
                        format!(
                        "items: {} items in one message (limit limits.max_batch_items={max_batch})",
                        message.items.len()
                    ),
                    ))
                } else {
                    None
                };
                if let Some((code, field, text)) = refusal {
                    for index in first..first + count {
                        tally.fail(item_error(index, code, field, text.clone()));
                    }
                    continue;
                }
                group_indices.extend(first..first + count);
                group.extend(message.items.into_iter().map(convert::new_verbatim));
            }
            let (Some(ws), false) = (workspace.as_deref(), group.is_empty()) else {
                continue;
            };
            let results = self.engine.store_batch(ws, group, false).await?;
            for (index, result) in group_indices.into_iter().zip(results) {
                tally.record(index, result);
            }
        }
        tally.response.failures.sort_by_key(|f| f.index);
        tracing::info!(
            workspace = workspace.as_deref().unwrap_or(&default_workspace),
            received = tally.response.received,
            created = tally.response.created,
            duplicates = tally.response.duplicates,
            rejected = tally.response.rejected,
            "stream ingested"
        );
        Ok(Response::new(tally.response))
    }
}
