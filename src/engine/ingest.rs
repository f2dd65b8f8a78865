//! The ingest pipeline, in order: validate each item → answer a retry of a stored idempotency
//! key as a duplicate (or, with other content, a conflict) → check the tags the caller gave
//! against the taxonomy → redact PII → tag → assign a theme → insert through the store's group
//! commit (one transaction and one flush shared with concurrent callers) → (optionally) wait
//! until searchable. Nothing is acknowledged before the flush. Tagging a text without storing it
//! and a person's tag correction run the same stages.

use std::sync::Arc;

use super::{not_found, Engine, Services};
use crate::error::{Error, Result};
use crate::model::tags::{GivenTags, Origin, Tags};
use crate::model::{NewVerbatim, Validated, ValidationError, Verbatim, VerbatimId};
use crate::store::{Inserted, NewRecord};
use crate::tagging::service::ActiveTaxonomy;
use crate::tagging::{apply_given, validate_given};
use crate::text::{pii, StemLanguage};
use crate::themes::service::ReadyModel;

/// The outcome of one item of an ingest batch.
pub type ItemResult = std::result::Result<Inserted, ValidationError>;

/// A text tagged without being stored.
#[derive(Debug, Clone)]
pub struct TaggedText {
    /// The text as it would be stored (redacted when redaction is on).
    pub text: String,
    pub tags: Tags,
    pub redacted: Vec<pii::PiiKind>,
}

/// Which tag dimensions a correction hands back to the rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClearTags {
    pub journey_stage: bool,
    pub driver: bool,
    pub product_areas: bool,
    pub severity: bool,
    pub sentiment: bool,
}

/// The stages after validation, for one workspace: its taxonomy, its live theme model, and
/// whether PII is redacted.
struct Pipeline {
    taxonomy: Arc<ActiveTaxonomy>,
    themes: Option<Arc<ReadyModel>>,
    redact_pii: bool,
}

impl Pipeline {
    fn for_workspace(services: &Services, workspace: &str, redact_pii: bool) -> Result<Pipeline> {
        Ok(Pipeline {
            taxonomy: services.tagging.taxonomy(workspace)?,
            themes: services.themes.model(workspace)?,
            redact_pii,
        })
    }

    /// The text as it will be stored, and the kinds of PII taken out of it.
    fn redact(&self, text: String) -> (String, Vec<pii::PiiKind>) {
        if !self.redact_pii {
            return (text, Vec::new());
        }
        let redacted = pii::redact(&text);
        let kinds = redacted.found.into_iter().map(|(kind, _)| kind).collect();
        (redacted.text, kinds)
    }

    /// Rule tags, overridden by the tags the caller gave.
    fn tag(&self, text: &str, given: &GivenTags) -> Tags {
        self.taxonomy.tag(text, given, Origin::Client)
    }

    /// The theme the live model assigns a stored text to, if any.
    fn assign(&self, verbatim: &Verbatim) -> Option<String> {
        let language = StemLanguage::from_tag(verbatim.language.as_deref().unwrap_or("en"));
        self.themes.as_ref()?.assign(&verbatim.text, language)
    }
}

impl Engine {
    /// Validates and stores a batch of one workspace (at most `limits.max_batch_items`). Returns
    /// one result per item, in order, once every stored item is durable (and, with
    /// `wait_for_index`, searchable).
    pub async fn ingest(
        &self,
        workspace: &str,
        items: Vec<NewVerbatim>,
        wait_for_index: bool,
    ) -> Result<Vec<ItemResult>> {
        let limit = self.config.limits.max_batch_items;
        if items.len() > limit {
            return Err(Error::LimitExceeded {
                limit: "limits.max_batch_items",
                value: limit,
                message: format!("items: {} items in one batch", items.len()),
            });
        }
        self.store_batch(workspace, items, wait_for_index).await
    }

    /// [`Engine::ingest`] without the per-call batch limit, for groups of stream messages.
    pub async fn store_batch(
        &self,
        workspace: &str,
        items: Vec<NewVerbatim>,
        wait_for_index: bool,
    ) -> Result<Vec<ItemResult>> {
        let now = crate::time::now();
        let limits = &self.config.limits;
        let mut results: Vec<Option<ItemResult>> = Vec::with_capacity(items.len());
        let mut accepted = Vec::with_capacity(items.len());
        for (position, item) in items.into_iter().enumerate() {
            match item.validate(workspace, now, limits) {
                Ok(validated) => {
                    accepted.push((position, validated));
                    results.push(None);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        if accepted.is_empty() {
            return Ok(results.into_iter().flatten().collect());
        }
        let redact_pii = self.config.tagging.redact_pii;
        let ws = workspace.to_string();
        let (mut outcomes, positions, ready) = self
            .run(move |s| {
                let pipeline = Pipeline::for_workspace(s, &ws, redact_pii)?;
                let mut ready = Vec::with_capacity(accepted.len());
                let mut positions = Vec::with_capacity(accepted.len());
                let mut outcomes = Vec::new();
                for (position, validated) in accepted {
                    let Validated {
                        mut verbatim,
                        given,
                        digest,
                    } = validated;
                    // A retry of a stored verbatim (a resumed import) costs a lookup, not tagging.
                    if let Some(ext) = &verbatim.external_id {
                        match s.store.existing(&ws, verbatim.source, ext)? {
                            Some((number, Some(stored))) if stored == digest => {
                                outcomes.push((position, Ok(Inserted::Duplicate(number))));
                                continue;
                            }
                            Some((number, Some(_))) => {
                                outcomes.push((position, Ok(Inserted::Conflict(number))));
                                continue;
                            }
                            // Absent, or kept before digests were: the writer decides.
                            _ => {}
                        }
                    }
                    if let Err(err) = validate_given(&pipeline.taxonomy.taxonomy, &given) {
                        outcomes.push((position, Err(err)));
                        continue;
                    }
                    verbatim.text = pipeline.redact(verbatim.text).0;
                    verbatim.tags = pipeline.tag(&verbatim.text, &given);
                    verbatim.theme = pipeline.assign(&verbatim);
                    ready.push(NewRecord { verbatim, digest });
                    positions.push(position);
                }
                Ok((outcomes, positions, ready))
            })
            .await?;
        // Durable on return, together with the duplicates found above (the flush is shared). Its
        // change sequence covers the duplicates found above too: the transactions that created
        // them committed before their keys were read, so before this insert's.
        let inserted = self.services.store.insert(workspace, ready).await?;
        outcomes.extend(
            positions
                .into_iter()
                .zip(inserted.outcomes.into_iter().map(Ok)),
        );
        let stored = outcomes.iter().any(|(_, outcome)| {
            matches!(outcome, Ok(Inserted::Created(_) | Inserted::Duplicate(_)))
        });
        for (position, outcome) in outcomes {
            let counted = match &outcome {
                Ok(Inserted::Created(_)) => "created",
                Ok(Inserted::Duplicate(_)) => "duplicate",
                _ => "rejected",
            };
            metrics::counter!("tideline_ingest_items_total", "outcome" => counted).increment(1);
            results[position] = Some(outcome);
        }
        if wait_for_index && stored {
            self.wait_searchable(inserted.logged).await?;
        }
        results
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or(Error::Panicked("an ingest item was left without a result"))
    }

    /// Tags a text as ingest would (redaction included), without storing it.
    pub async fn tag_text(
        &self,
        workspace: &str,
        text: String,
        language: String,
        given: GivenTags,
    ) -> Result<TaggedText> {
        let item = NewVerbatim {
            text,
            language,
            tags: Ok(given),
            ..Default::default()
        };
        let Validated {
            verbatim, given, ..
        } = item.validate(workspace, crate::time::now(), &self.config.limits)?;
        let redact_pii = self.config.tagging.redact_pii;
        let ws = workspace.to_string();
        self.run(move |s| {
            let pipeline = Pipeline::for_workspace(s, &ws, redact_pii)?;
            validate_given(&pipeline.taxonomy.taxonomy, &given)?;
            let (text, redacted) = pipeline.redact(verbatim.text);
            let tags = pipeline.tag(&text, &given);
            Ok(TaggedText {
                text,
                tags,
                redacted,
            })
        })
        .await
    }

    /// A person's correction of a verbatim's tags; `clear` hands dimensions back to the rules.
    pub async fn update_tags(
        &self,
        workspace: &str,
        id: VerbatimId,
        given: GivenTags,
        clear: ClearTags,
    ) -> Result<Verbatim> {
        let ws = workspace.to_string();
        let updated = self
            .run(move |s| {
                let active = s.tagging.taxonomy(&ws)?;
                validate_given(&active.taxonomy, &given)?;
                let mut out = s.store.update(&ws, &[id.0], |verbatim| {
                    let tags = corrected(&verbatim.tags, &active, &verbatim.text, &given, clear);
                    let changed = tags != verbatim.tags;
                    verbatim.tags = tags;
                    changed
                })?;
                out.pop().flatten().ok_or_else(|| not_found(id))
            })
            .await?;
        self.services.store.flush().await?;
        Ok(updated)
    }
}

/// `tags` with the `clear`ed dimensions recomputed by the rules, then `given` applied as a
/// person's.
fn corrected(
    tags: &Tags,
    active: &ActiveTaxonomy,
    text: &str,
    given: &GivenTags,
    clear: ClearTags,
) -> Tags {
    let fresh = active.rule_tags(text);
    let mut tags = tags.clone();
    if clear.journey_stage {
        tags.journey_stage = fresh.journey_stage;
    }
    if clear.driver {
        tags.driver = fresh.driver;
    }
    if clear.product_areas {
        tags.product_areas = fresh.product_areas;
    }
    if clear.severity {
        tags.severity = fresh.severity;
    }
    if clear.sentiment {
        tags.sentiment = fresh.sentiment;
    }
    apply_given(&mut tags, given, Origin::Person);
    tags
}
