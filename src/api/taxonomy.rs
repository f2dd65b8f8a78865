//! `tideline.v1.TaxonomyService`: the workspace's taxonomy, its updates, and tagging a text
//! without storing it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::access::caller_of;
use super::{audit, convert, workspace_of};
use crate::engine::Engine;
use crate::proto;
use crate::proto::taxonomy_service_server::TaxonomyService;
use crate::tagging::service::{ActiveTaxonomy, RetagJob, RetagState};

pub struct TaxonomyApi {
    engine: Arc<Engine>,
}

impl TaxonomyApi {
    pub fn new(engine: Arc<Engine>) -> Self {
        TaxonomyApi { engine }
    }
}

fn taxonomy_to_proto(active: &ActiveTaxonomy, job: Option<Arc<RetagJob>>) -> proto::Taxonomy {
    let t = &active.taxonomy;
    proto::Taxonomy {
        version: active.version,
        name: t.file.name.clone(),
        toml: active.toml.clone(),
        categories: t
            .categories
            .iter()
            .map(|c| proto::Category {
                dimension: c.dimension.as_str().to_string(),
                id: c.id.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                owner: c.owner.clone(),
                priority: c.priority,
            })
            .collect(),
        severity_rules: t
            .severity_rules
            .iter()
            .map(|r| proto::SeverityRule {
                level: convert::severity_to_proto(r.level) as i32,
                id: r.id.clone(),
                description: r.description.clone(),
            })
            .collect(),
        retag: job.map(|job| proto::RetagProgress {
            taxonomy_version: job.version,
            state: match job.state() {
                RetagState::Running => proto::RetagState::Running,
                RetagState::Done => proto::RetagState::Done,
                RetagState::Failed => proto::RetagState::Failed,
                RetagState::Superseded => proto::RetagState::Superseded,
            } as i32,
            done: job.done.load(Ordering::Relaxed),
            total: job.total.load(Ordering::Relaxed),
            error: job.error(),
        }),
    }
}

#[tonic::async_trait]
impl TaxonomyService for TaxonomyApi {
    async fn get_taxonomy(
        &self,
        request: Request<proto::GetTaxonomyRequest>,
    ) -> Result<Response<proto::Taxonomy>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let ws = workspace.clone();
        let active = self.engine.run(move |s| s.tagging.taxonomy(&ws)).await?;
        let job = self.engine.services().tagging.job(&workspace);
        Ok(Response::new(taxonomy_to_proto(&active, job)))
    }

    async fn update_taxonomy(
        &self,
        request: Request<proto::UpdateTaxonomyRequest>,
    ) -> Result<Response<proto::Taxonomy>, Status> {
        let (workspace, caller) = caller_of(&self.engine, &request, &request.get_ref().workspace)?;
        let toml = request.into_inner().toml;
        let (active, job) = self.engine.update_taxonomy(&workspace, toml).await?;
        let target = format!("version {}", active.version);
        audit(
            &self.engine,
            &caller,
            "TaxonomyService/UpdateTaxonomy",
            &workspace,
            target,
        )
        .await;
        Ok(Response::new(taxonomy_to_proto(&active, Some(job))))
    }

    async fn tag_text(
        &self,
        request: Request<proto::TagTextRequest>,
    ) -> Result<Response<proto::TagTextResponse>, Status> {
        let workspace = workspace_of(&self.engine, &request, &request.get_ref().workspace)?;
        let req = request.into_inner();
        let given = convert::given_tags(req.tags.unwrap_or_default(), "tags")?;
        let tagged = self
            .engine
            .tag_text(&workspace, req.text, req.language, given)
            .await?;
        Ok(Response::new(proto::TagTextResponse {
            text: tagged.text,
            tags: Some(convert::tags_to_proto(tagged.tags)),
            redacted: tagged
                .redacted
                .into_iter()
                .map(|k| k.as_str().to_string())
                .collect(),
        }))
    }
}
