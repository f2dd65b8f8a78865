//! Proto ⇄ domain conversion.

use prost_types::Timestamp;

use crate::index::search::{Filter, Order};
use crate::model::{self, timestamp_micros, Micros, ValidationError};
use crate::proto;

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

pub fn timestamp(micros: Micros) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

fn micros(field: &str, t: Option<Timestamp>) -> Result<Option<Micros>, ValidationError> {
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
    }
}

pub fn filter(f: Option<proto::SearchFilter>) -> Result<Filter, ValidationError> {
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
                format!("filter.sources[{i}]"),
                format!("unknown value {raw}"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut metadata: Vec<(String, String)> = f.metadata.into_iter().collect();
    metadata.sort();
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    Ok(Filter {
        sources,
        created_after: micros("filter.created_after", f.created_after)?,
        created_before: micros("filter.created_before", f.created_before)?,
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
