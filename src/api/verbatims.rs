//! `tideline.v1.VerbatimService`: get, delete and search.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::access::caller_of;
use super::{audit, convert, workspace_of};
use crate::engine::{ClearTags, Engine, SearchRequest, SearchResults};
use crate::model::{quoted, ValidationError, VerbatimId};
use crate::proto;
use crate::proto::verbatim_service_server::VerbatimService;

pub struct VerbatimApi {
    engine: Arc<Engine>,
}

impl VerbatimApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        VerbatimApi { engine }
    }
}

#[tonic::async_trait]
impl VerbatimService for VerbatimApi {
    async fn get_verbatim(
        &self,
        request: Request<proto::GetVerbatimRequest>,
    ) -> Result<Response<proto::Verbatim>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let id: VerbatimId = request.get_ref().id.parse()?;
        let verbatim = self.engine.verbatim(&workspace, id).await?;
        Ok(Response::new(convert::verbatim(verbatim)))
    }

    async fn delete_verbatim(
        &self,
        request: Request<proto::DeleteVerbatimRequest>,
    ) -> Result<Response<()>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let id: VerbatimId = request.get_ref().id.parse()?;
        self.engine.delete(&workspace, id).await?;
        audit(
            &self.engine,
            &caller,
            "VerbatimService/DeleteVerbatim",
            &workspace,
            id.to_string(),
        )
        .await;
        Ok(Response::new(()))
    }

    async fn search_verbatims(
        &self,
        request: Request<proto::SearchVerbatimsRequest>,
    ) -> Result<Response<proto::SearchVerbatimsResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let results = self
            .engine
            .search(SearchRequest {
                workspace,
                query: req.query,
                filter: convert::filter(req.filter)?,
                order: convert::order(req.order_by)?,
                page_size: req.page_size,
                page_token: req.page_token,
            })
            .await?;
        Ok(Response::new(results_to_proto(results)))
    }

    async fn update_verbatim_tags(
        &self,
        request: Request<proto::UpdateVerbatimTagsRequest>,
    ) -> Result<Response<proto::Verbatim>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let id: VerbatimId = req.id.parse()?;
        let given = convert::given_tags(req.tags.unwrap_or_default(), "tags")?;
        let mut clear = ClearTags::default();
        for (i, dimension) in req.clear.iter().enumerate() {
            let flag = match dimension.as_str() {
                "journey_stage" => &mut clear.journey_stage,
                "driver" => &mut clear.driver,
                "product_area" | "product_areas" => &mut clear.product_areas,
                "severity" => &mut clear.severity,
                "sentiment" => &mut clear.sentiment,
                other => {
                    return Err(ValidationError::new(
                        format!("clear[{i}]"),
                        format!("unknown dimension {}", quoted(other)),
                    )
                    .into())
                }
            };
            *flag = true;
        }
        let verbatim = self
            .engine
            .update_tags(&workspace, id, given, clear)
            .await?;
        audit(
            &self.engine,
            &caller,
            "VerbatimService/UpdateVerbatimTags",
            &workspace,
            id.to_string(),
        )
        .await;
        Ok(Response::new(convert::verbatim(verbatim)))
    }
}

/// A page of search results as the API returns it.
pub(super) fn results_to_proto(results: SearchResults) -> proto::SearchVerbatimsResponse {
    proto::SearchVerbatimsResponse {
        hits: results
            .hits
            .into_iter()
            .map(|hit| proto::SearchHit {
                verbatim: Some(convert::verbatim(hit.verbatim)),
                score: hit.score,
                snippet: hit.snippet,
            })
            .collect(),
        next_page_token: results.next_page_token,
        total_size: results.total,
        source_facets: results
            .source_counts
            .into_iter()
            .map(|(source, count)| proto::FacetCount {
                value: convert::source_name(source),
                count,
            })
            .collect(),
        tag_facets: results
            .tag_counts
            .into_iter()
            .map(|(dimension, counts)| proto::DimensionFacets {
                dimension: dimension.to_string(),
                counts: counts
                    .into_iter()
                    .map(|(value, count)| proto::FacetCount { value, count })
                    .collect(),
            })
            .collect(),
    }
}
