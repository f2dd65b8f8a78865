//! Proto ⇄ domain conversion.

use prost_types::Timestamp;

use crate::index::search::{Filter, Order};
use crate::model::tags::{self, GivenTags, Origin, SentimentLabel, Severity};
use crate::model::{self, timestamp_micros, ValidationError};
use crate::proto;
pub use crate::proto::timestamp;
use crate::time::Micros;
use crate::trends::FrequencyClass;

pub fn new_verbatim(item: proto::NewVerbatim) -> model::NewVerbatim {
    let scores = item.scores.unwrap_or_default();
    model::NewVerbatim {
        source: source_from_proto(item.source),
        external_id: item.external_id,
        text: item.text,
        created_at: item.created_at.map(|t| (t.seconds, t.nanos)),
        customer_id: item.customer_id,
        account_id: item.account_id,
        language: item.language,
        metadata: item.metadata.into_iter().collect(),
        nps: scores.nps,
        csat: scores.csat,
        ces: scores.ces,
        tags: given_tags(item.tags.unwrap_or_default(), "tags"),
    }
}

/// Reads tags a caller gives; unknown enum values are errors naming `prefix.field`.
pub fn given_tags(t: proto::GivenTags, prefix: &str) -> Result<GivenTags, ValidationError> {
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    Ok(GivenTags {
        journey_stage: nonempty(t.journey_stage),
        driver: nonempty(t.driver),
        product_areas: t
            .product_areas
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect(),
        severity: optional_enum(
            &format!("{prefix}.severity"),
            t.severity,
            severity_from_proto,
        )?,
        sentiment: optional_enum(
            &format!("{prefix}.sentiment"),
            t.sentiment,
            sentiment_from_proto,
        )?,
    })
}

fn optional_enum<T>(
    field: &str,
    raw: i32,
    read: fn(i32) -> Option<T>,
) -> Result<Option<T>, ValidationError> {
    if raw == 0 {
        return Ok(None);
    }
    read(raw)
        .map(Some)
        .ok_or_else(|| ValidationError::new(field, format!("unknown value {raw}")))
}

fn severity_from_proto(raw: i32) -> Option<Severity> {
    match proto::Severity::try_from(raw).ok()? {
        proto::Severity::Critical => Some(Severity::Critical),
        proto::Severity::High => Some(Severity::High),
        proto::Severity::Medium => Some(Severity::Medium),
        proto::Severity::Low => Some(Severity::Low),
        proto::Severity::Unspecified => None,
    }
}

fn sentiment_from_proto(raw: i32) -> Option<SentimentLabel> {
    match proto::SentimentLabel::try_from(raw).ok()? {
        proto::SentimentLabel::Positive => Some(SentimentLabel::Positive),
        proto::SentimentLabel::Neutral => Some(SentimentLabel::Neutral),
        proto::SentimentLabel::Negative => Some(SentimentLabel::Negative),
        proto::SentimentLabel::Mixed => Some(SentimentLabel::Mixed),
        proto::SentimentLabel::Unspecified => None,
    }
}

pub fn severity_to_proto(level: Severity) -> proto::Severity {
    match level {
        Severity::Critical => proto::Severity::Critical,
        Severity::High => proto::Severity::High,
        Severity::Medium => proto::Severity::Medium,
        Severity::Low => proto::Severity::Low,
    }
}

pub fn sentiment_to_proto(label: SentimentLabel) -> proto::SentimentLabel {
    match label {
        SentimentLabel::Positive => proto::SentimentLabel::Positive,
        SentimentLabel::Neutral => proto::SentimentLabel::Neutral,
        SentimentLabel::Negative => proto::SentimentLabel::Negative,
        SentimentLabel::Mixed => proto::SentimentLabel::Mixed,
    }
}

fn origin_to_proto(origin: Origin) -> proto::TagOrigin {
    match origin {
        Origin::Rule => proto::TagOrigin::Rule,
        Origin::Client => proto::TagOrigin::Client,
        Origin::Person => proto::TagOrigin::Person,
    }
}

fn evidence(e: Vec<tags::Evidence>) -> Vec<proto::Evidence> {
    e.into_iter()
        .map(|e| proto::Evidence {
            term: e.term,
            start: e.start,
            end: e.end,
        })
        .collect()
}

fn tag(t: tags::Tag) -> proto::Tag {
    proto::Tag {
        value: t.value,
        confidence: t.confidence,
        evidence: evidence(t.evidence),
        origin: origin_to_proto(t.origin) as i32,
        reason: t.reason,
    }
}

pub fn tags_to_proto(t: tags::Tags) -> proto::Tags {
    proto::Tags {
        journey_stage: t.journey_stage.map(tag),
        driver: t.driver.map(tag),
        product_areas: t.product_areas.into_iter().map(tag).collect(),
        severity: t.severity.map(tag),
        sentiment: t.sentiment.map(|s| proto::SentimentTag {
            score: s.score,
            label: sentiment_to_proto(s.label) as i32,
            confidence: s.confidence,
            evidence: evidence(s.evidence),
            origin: origin_to_proto(s.origin) as i32,
        }),
        taxonomy_version: t.taxonomy_version,
    }
}

/// A known source, `Other` for unspecified, or the raw value when unknown.
fn source_from_proto(raw: i32) -> Result<model::Source, i32> {
    use proto::Source as P;
    match P::try_from(raw) {
        Ok(P::Unspecified) | Ok(P::Other) => Ok(model::Source::Other),
        Ok(P::Survey) => Ok(model::Source::Survey),
        Ok(P::Ticket) => Ok(model::Source::Ticket),
        Ok(P::Review) => Ok(model::Source::Review),
        Ok(P::Chat) => Ok(model::Source::Chat),
        Ok(P::Social) => Ok(model::Source::Social),
        Ok(P::Email) => Ok(model::Source::Email),
        Err(_) => Err(raw),
    }
}

pub fn source_to_proto(source: model::Source) -> proto::Source {
    use model::Source as M;
    match source {
        M::Survey => proto::Source::Survey,
        M::Ticket => proto::Source::Ticket,
        M::Review => proto::Source::Review,
        M::Chat => proto::Source::Chat,
        M::Social => proto::Source::Social,
        M::Email => proto::Source::Email,
        M::Other => proto::Source::Other,
    }
}

/// An optional timestamp field as microseconds; out-of-range values name the field.
pub fn micros(field: &str, t: Option<Timestamp>) -> Result<Option<Micros>, ValidationError> {
    t.map(|t| timestamp_micros(field, t.seconds, t.nanos))
        .transpose()
}

pub fn verbatim(v: model::Verbatim) -> proto::Verbatim {
    proto::Verbatim {
        id: v.id(),
        workspace: v.workspace,
        source: source_to_proto(v.source) as i32,
        external_id: v.external_id.unwrap_or_default(),
        text: v.text,
        created_at: Some(timestamp(v.created_at)),
        received_at: Some(timestamp(v.received_at)),
        customer_id: v.customer_id.unwrap_or_default(),
        account_id: v.account_id.unwrap_or_default(),
        language: v.language.unwrap_or_default(),
        metadata: v.metadata.into_iter().collect(),
        scores: Some(proto::Scores {
            nps: v.scores.nps.map(i32::from),
            csat: v.scores.csat.map(i32::from),
            ces: v.scores.ces.map(i32::from),
        }),
        tags: Some(tags_to_proto(v.tags)),
        theme_id: v.theme.unwrap_or_default(),
    }
}

pub fn filter(f: Option<proto::SearchFilter>) -> Result<Filter, ValidationError> {
    filter_named("filter", f)
}

/// A search filter sent in the request field `field`; errors name its fields under it
/// (`a.sources[0]`).
pub fn filter_named(
    field: &str,
    f: Option<proto::SearchFilter>,
) -> Result<Filter, ValidationError> {
    let Some(f) = f else {
        return Ok(Filter::default());
    };
    let sources = f
        .sources
        .iter()
        .enumerate()
        .map(|(i, &raw)| match source_from_proto(raw) {
            Ok(source) if raw != proto::Source::Unspecified as i32 => Ok(source),
            _ => Err(ValidationError::new(
                format!("{field}.sources[{i}]"),
                format!("unknown value {raw}"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut metadata: Vec<(String, String)> = f.metadata.into_iter().collect();
    metadata.sort();
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    let enum_names = |list: &str, raws: &[i32], name: fn(i32) -> Option<&'static str>| {
        raws.iter()
            .enumerate()
            .map(|(i, &raw)| {
                name(raw).map(str::to_string).ok_or_else(|| {
                    ValidationError::new(
                        format!("{field}.{list}[{i}]"),
                        format!("unknown value {raw}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let tags = vec![
        ("journey_stage", f.journey_stages),
        ("driver", f.drivers),
        ("product_area", f.product_areas),
        ("theme", f.theme_ids),
        (
            "severity",
            enum_names("severities", &f.severities, |raw| {
                severity_from_proto(raw).map(Severity::as_str)
            })?,
        ),
        (
            "sentiment",
            enum_names("sentiments", &f.sentiments, |raw| {
                sentiment_from_proto(raw).map(SentimentLabel::as_str)
            })?,
        ),
    ]
    .into_iter()
    .filter(|(_, values)| !values.is_empty())
    .collect();
    Ok(Filter {
        tags,
        sources,
        created_after: micros(&format!("{field}.created_after"), f.created_after)?,
        created_before: micros(&format!("{field}.created_before"), f.created_before)?,
        customer_id: nonempty(f.customer_id),
        account_id: nonempty(f.account_id),
        metadata,
    })
}

pub fn order(raw: i32) -> Result<Option<Order>, ValidationError> {
    match proto::SearchOrder::try_from(raw) {
        Ok(proto::SearchOrder::Unspecified) => Ok(None),
        Ok(proto::SearchOrder::Relevance) => Ok(Some(Order::Relevance)),
        Ok(proto::SearchOrder::Newest) => Ok(Some(Order::Newest)),
        Ok(proto::SearchOrder::Oldest) => Ok(Some(Order::Oldest)),
        Err(_) => Err(ValidationError::new(
            "order_by",
            format!("unknown value {raw}"),
        )),
    }
}

/// The enum name of a source, as used in facet counts.
pub fn source_name(source: model::Source) -> String {
    source_to_proto(source).as_str_name().to_string()
}

pub fn frequency_class_to_proto(class: FrequencyClass) -> proto::FrequencyClass {
    match class {
        FrequencyClass::Emerging => proto::FrequencyClass::Emerging,
        FrequencyClass::Growing => proto::FrequencyClass::Growing,
        FrequencyClass::Persistent => proto::FrequencyClass::Persistent,
        FrequencyClass::Declining => proto::FrequencyClass::Declining,
    }
}
