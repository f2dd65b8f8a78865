//! Search pages: the index's hits joined with their stored records, highlighted, with facet
//! counts and AIP-158 page tokens that pin a search to the index as it was on its first page (the
//! workspace's largest searchable verbatim number then); and themes with their volumes in a
//! search scope.

use std::collections::HashMap;

use serde::Serialize;

use super::Engine;
use crate::error::Result;
use crate::index::search::{check_query, Filter, Order, QueryLimits, SearchQuery};
use crate::model::{Limits, Source, ValidationError, Verbatim};
use crate::pagination::{self, PageToken};
use crate::themes::record::{Theme, ThemeStatus};

/// A search request, as the engine understands it.
#[derive(Debug, Clone, Serialize)]
pub struct SearchRequest {
    pub workspace: String,
    pub query: String,
    pub filter: Filter,
    /// `None`: relevance with a query, newest first without.
    pub order: Option<Order>,
    #[serde(skip)]
    pub page_size: i32,
    #[serde(skip)]
    pub page_token: String,
}

/// A search hit with its stored verbatim.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub verbatim: Verbatim,
    pub score: f32,
    pub snippet: String,
}

/// One page of search results.
#[derive(Debug, Clone)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub next_page_token: String,
    pub total: u64,
    pub source_counts: Vec<(Source, u64)>,
    pub tag_counts: Vec<(&'static str, Vec<(String, u64)>)>,
}

impl Engine {
    /// Searches one workspace, one page at a time.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults> {
        check_request(&request, &self.config.limits)?;
        let page_size = self.pager.page_size(request.page_size)?;
        let fingerprint = pagination::fingerprint(&request);
        // The first page fixes the snapshot (`None` until then); later pages keep it.
        let (offset, snapshot) = if request.page_token.is_empty() {
            (0, None)
        } else {
            let token = self.pager.decode(&request.page_token, fingerprint)?;
            (token.offset, Some(token.max_number))
        };
        let order = request.order.unwrap_or(if request.query.trim().is_empty() {
            Order::Newest
        } else {
            Order::Relevance
        });
        let mut query = SearchQuery {
            workspace: request.workspace,
            text: request.query,
            filter: request.filter,
            order,
            offset,
            limit: page_size,
            max_number: snapshot.unwrap_or(0),
        };
        let (page, verbatims, max_number) = self
            .run(move |s| {
                if snapshot.is_none() {
                    query.max_number = s.index.last_number(&query.workspace)?;
                }
                let page = s.index.search(&query)?;
                let verbatims = page
                    .hits
                    .iter()
                    .map(|hit| s.store.get(&query.workspace, hit.number))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Ok((page, verbatims, query.max_number))
            })
            .await?;
        let returned = page.hits.len();
        let hits = page
            .hits
            .iter()
            .zip(verbatims)
            // A verbatim erased after the last commit may still be in the index for a moment.
            .filter_map(|(hit, verbatim)| {
                let verbatim = verbatim?;
                Some(SearchHit {
                    snippet: page.snippet(&verbatim.text),
                    score: hit.score,
                    verbatim,
                })
            })
            .collect();
        let next_offset = offset + returned;
        let next_page_token = if returned > 0 && (next_offset as u64) < page.total {
            self.pager.encode(&PageToken {
                offset: next_offset,
                max_number,
                fingerprint,
            })
        } else {
            String::new()
        };
        Ok(SearchResults {
            hits,
            next_page_token,
            total: page.total,
            source_counts: page.source_counts,
            tag_counts: page.tag_counts,
        })
    }

    /// Themes with their current volume in a scope (verbatims matching `filter`), largest first,
    /// and the number of verbatims in the scope. Inactive themes only when asked.
    pub async fn themes_in_scope(
        &self,
        workspace: &str,
        filter: Filter,
        include_inactive: bool,
    ) -> Result<(Vec<(Theme, u64)>, u64)> {
        filter.check("filter", &self.config.limits)?;
        let scoped = !filter.is_empty();
        let query = SearchQuery {
            workspace: workspace.to_string(),
            text: String::new(),
            filter,
            order: Order::Newest,
            offset: 0,
            limit: 0,
            // Everything searchable now: no page follows.
            max_number: u64::MAX,
        };
        self.run(move |s| {
            let page = s.index.search(&query)?;
            let counts: HashMap<String, u64> = page
                .tag_counts
                .into_iter()
                .find(|(dimension, _)| *dimension == "theme")
                .map(|(_, counts)| counts.into_iter().collect())
                .unwrap_or_default();
            let mut themes: Vec<(Theme, u64)> = s
                .themes
                .list(&query.workspace)?
                .into_iter()
                .filter(|t| include_inactive || t.status == ThemeStatus::Active)
                .map(|t| {
                    let volume = counts.get(&t.id).copied().unwrap_or(0);
                    (t, volume)
                })
                .filter(|(_, volume)| !scoped || *volume > 0)
                .collect();
            themes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
            Ok((themes, page.total))
        })
        .await
    }
}

/// A search request within the limits: the query's length, nesting and width, and the number of
/// values in each filter list.
fn check_request(
    request: &SearchRequest,
    limits: &Limits,
) -> std::result::Result<(), ValidationError> {
    check_query(
        &request.query,
        QueryLimits {
            max_bytes: limits.max_query_bytes,
            max_depth: limits.max_query_depth,
            max_terms: limits.max_query_terms,
        },
    )?;
    request.filter.check("filter", limits)
}
