//! The insight views for people (tables) and scripts (JSON): metric drivers, theme spotlight,
//! sentiment summary, journey health, segment comparison. Pure functions from API messages.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::report::{class_name, sparkline, truncate};
use crate::proto;

fn date(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map_or("-".into(), |t| {
        crate::time::format_rfc3339(crate::time::from_secs(t.seconds) + i64::from(t.nanos) / 1000)
    })
}

fn window_text(w: &Option<proto::TimeWindow>) -> String {
    let w = w.unwrap_or_default();
    format!("{} to {}", date(&w.start), date(&w.end))
}

fn window_json(w: &Option<proto::TimeWindow>) -> Value {
    let w = w.unwrap_or_default();
    json!({"start": date(&w.start), "end": date(&w.end)})
}

fn metric_name(raw: i32) -> &'static str {
    match proto::Metric::try_from(raw) {
        Ok(proto::Metric::Csat) => "CSAT",
        Ok(proto::Metric::Ces) => "CES",
        _ => "NPS",
    }
}

fn metric_json(m: &Option<proto::MetricSummary>) -> Value {
    let m = m.unwrap_or_default();
    json!({"metric": metric_name(m.metric).to_lowercase(), "scored": m.scored, "value": m.value,
        "top_share": m.top_share, "bottom_share": m.bottom_share})
}

/// A metric's value with its count ("-12.5 (40)"), or "-" when nothing is scored.
fn metric_cell(m: &Option<proto::MetricSummary>) -> String {
    match m {
        Some(m) if m.scored > 0 => format!("{:.1} ({})", m.value, m.scored),
        _ => "-".into(),
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn signed_percent(change: Option<f64>) -> String {
    change.map_or("new".into(), |c| format!("{:+.0}%", c * 100.0))
}

fn theme_cell(id: &str, label: &str, width: usize) -> String {
    truncate(&format!("{id} {label}"), width)
}

fn driver_json(d: &proto::Driver) -> Value {
    json!({"theme_id": d.theme_id, "label": d.label, "volume": d.volume, "metric": metric_json(&d.metric),
        "impact": d.impact, "impact_low": d.impact.map(|_| d.impact_low),
        "impact_high": d.impact.map(|_| d.impact_high),
        "quote": d.quote.as_ref().map(|q| json!({"verbatim_id": q.verbatim_id, "text": q.text}))})
}

/// Metric drivers as JSON.
pub fn drivers_json(r: &proto::MetricDrivers) -> Value {
    let list = |ds: &[proto::Driver]| ds.iter().map(driver_json).collect::<Vec<_>>();
    json!({"window": window_json(&r.window), "verbatims": r.verbatims, "overall": metric_json(&r.overall),
        "negative": list(&r.negative), "positive": list(&r.positive), "too_few": list(&r.too_few),
        "min_scored": r.min_scored, "interval_method": r.interval_method})
}

/// Metric drivers as tables: the overall score, the negative and positive drivers with their
/// intervals and quotes, and the themes with too few scores.
pub fn drivers(r: &proto::MetricDrivers) -> String {
    let mut out = String::new();
    let overall = r.overall.unwrap_or_default();
    let name = metric_name(overall.metric);
    if overall.scored == 0 {
        let _ = writeln!(
            out,
            "no {name} answers among {} verbatims, {}",
            r.verbatims,
            window_text(&r.window)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{name} {:.1} from {} scored of {} verbatims, {} (top {}, bottom {})",
        overall.value,
        overall.scored,
        r.verbatims,
        window_text(&r.window),
        percent(overall.top_share),
        percent(overall.bottom_share)
    );
    for (title, list) in [
        ("negative drivers", &r.negative),
        ("positive drivers", &r.positive),
    ] {
        let _ = writeln!(
            out,
            "{title:<40} {:>6} {:>13} {:>7}  95% interval",
            "volume", name, "impact"
        );
        if list.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for d in list {
            let _ = writeln!(
                out,
                "{:<40} {:>6} {:>13} {:>+7.1}  [{:+.1}, {:+.1}]",
                theme_cell(&d.theme_id, &d.label, 40),
                d.volume,
                metric_cell(&d.metric),
                d.impact.unwrap_or(0.0),
                d.impact_low,
                d.impact_high
            );
            if let Some(q) = &d.quote {
                let _ = writeln!(out, "    \"{}\"", truncate(&q.text, 100));
            }
        }
    }
    if !r.too_few.is_empty() {
        let named: Vec<String> = r
            .too_few
            .iter()
            .map(|d| {
                let scored = d.metric.as_ref().map_or(0, |m| m.scored);
                format!("{} ({scored})", theme_cell(&d.theme_id, &d.label, 30))
            })
            .collect();
        let _ = writeln!(
            out,
            "too few scored (under {}, not ranked): {}",
            r.min_scored,
            named.join(", ")
        );
    }
    let _ = writeln!(out, "intervals: {}", r.interval_method);
    out
}

/// The theme spotlight as JSON.
pub fn spotlight_json(r: &proto::ThemeSpotlight) -> Value {
    let themes: Vec<Value> = r
        .themes
        .iter()
        .map(|t| {
            json!({"theme_id": t.theme_id, "label": t.label, "mentions": t.mentions,
                "previous_mentions": t.previous_mentions, "change": t.change, "share": t.share,
                "average_sentiment": t.average_sentiment, "frequency_class": class_name(t.frequency_class),
                "owner": t.owner, "action_status": t.action_status, "due": t.due.as_ref().map(|_| date(&t.due)),
                "next_action": t.next_action, "metric": metric_json(&t.metric), "impact": t.impact})
        })
        .collect();
    json!({"window": window_json(&r.window), "previous_window": window_json(&r.previous_window),
        "themes": themes})
}

/// The theme spotlight as a table.
pub fn spotlight(r: &proto::ThemeSpotlight) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (before: {})",
        window_text(&r.window),
        window_text(&r.previous_window)
    );
    let name = r
        .themes
        .first()
        .and_then(|t| t.metric.as_ref())
        .map_or("NPS", |m| metric_name(m.metric));
    let _ = writeln!(
        out,
        "{:<36} {:>8} {:>6} {:>7} {:>6} {:>9} {:<9} {:>13} {:>7}  owner",
        "theme", "mentions", "before", "change", "share", "sentiment", "class", name, "impact"
    );
    for t in &r.themes {
        let _ = writeln!(
            out,
            "{:<36} {:>8} {:>6} {:>7} {:>6} {:>9.2} {:<9} {:>13} {:>7}  {}",
            theme_cell(&t.theme_id, &t.label, 36),
            t.mentions,
            t.previous_mentions,
            signed_percent(t.change),
            percent(t.share),
            t.average_sentiment,
            class_name(t.frequency_class),
            metric_cell(&t.metric),
            t.impact.map_or("-".into(), |i| format!("{i:+.1}")),
            if t.owner.is_empty() { "-" } else { &t.owner }
        );
    }
    out
}

fn breakdown_json(b: &proto::SentimentBreakdown) -> Value {
    json!({"name": b.name, "volume": b.volume, "average_score": b.average_score,
        "positive_share": b.positive_share, "neutral_share": b.neutral_share,
        "negative_share": b.negative_share, "mixed_share": b.mixed_share})
}

fn keywords_json(ks: &[proto::DistinctiveKeyword]) -> Vec<Value> {
    ks.iter()
        .map(|k| {
            json!({"term": k.term, "stem": k.stem, "count": k.count, "other_count": k.other_count,
                "z": k.z, "weight": k.weight})
        })
        .collect()
}

fn label_name(raw: i32) -> String {
    proto::SentimentLabel::try_from(raw)
        .map(|l| {
            l.as_str_name()
                .trim_start_matches("SENTIMENT_LABEL_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

/// The sentiment summary as JSON.
pub fn sentiment_json(r: &proto::SentimentSummary) -> Value {
    let labels: Vec<Value> = r
        .labels
        .iter()
        .map(|l| {
            json!({"label": label_name(l.label), "count": l.count, "share": l.share,
                "previous_count": l.previous_count, "previous_share": l.previous_share, "change": l.change})
        })
        .collect();
    let trend: Vec<Value> = r
        .trend
        .iter()
        .map(|d| json!({"start": date(&d.start), "sentiment": d.sentiment.as_ref().map(breakdown_json)}))
        .collect();
    json!({"window": window_json(&r.window), "previous_window": window_json(&r.previous_window),
        "volume": r.volume, "previous_volume": r.previous_volume, "labels": labels,
        "average_score": r.average_score, "previous_average_score": r.previous_average_score,
        "trend": trend, "by_source": r.by_source.iter().map(breakdown_json).collect::<Vec<_>>(),
        "segment_key": r.segment_key,
        "by_segment": r.by_segment.iter().map(breakdown_json).collect::<Vec<_>>(),
        "positive_keywords": keywords_json(&r.positive_keywords),
        "negative_keywords": keywords_json(&r.negative_keywords)})
}

fn breakdown_row(out: &mut String, b: &proto::SentimentBreakdown) {
    let _ = writeln!(
        out,
        "  {:<22} {:>7} {:>6.2} {:>9} {:>8} {:>9} {:>6}",
        truncate(&b.name, 22),
        b.volume,
        b.average_score,
        percent(b.positive_share),
        percent(b.neutral_share),
        percent(b.negative_share),
        percent(b.mixed_share)
    );
}

fn keyword_line(ks: &[proto::DistinctiveKeyword]) -> String {
    if ks.is_empty() {
        return "-".into();
    }
    ks.iter()
        .map(|k| {
            format!(
                "{} (z {:+.1}, {}/{}, w {:.2})",
                k.term, k.z, k.count, k.other_count, k.weight
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sentiment summary as tables.
pub fn sentiment(r: &proto::SentimentSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} verbatims (before: {}), average score {:+.3} ({})",
        window_text(&r.window),
        r.volume,
        r.previous_volume,
        r.average_score,
        r.previous_average_score
            .map_or("nothing before".into(), |before| format!(
                "before {before:+.3}, {:+.3}",
                r.average_score - before
            ))
    );
    let _ = writeln!(
        out,
        "  {:<9} {:>7} {:>7} {:>7} {:>8}",
        "label", "count", "share", "before", "change"
    );
    for l in &r.labels {
        let _ = writeln!(
            out,
            "  {:<9} {:>7} {:>7} {:>7} {:>9}",
            label_name(l.label),
            l.count,
            percent(l.share),
            percent(l.previous_share),
            l.change
                .map_or("-".into(), |c| format!("{:+.1}pt", c * 100.0))
        );
    }
    let header = |out: &mut String, title: &str| {
        let _ = writeln!(
            out,
            "{title:<24} {:>7} {:>6} {:>9} {:>8} {:>9} {:>6}",
            "volume", "score", "positive", "neutral", "negative", "mixed"
        );
    };
    let volumes: Vec<u64> = r
        .trend
        .iter()
        .map(|d| d.sentiment.as_ref().map_or(0, |s| s.volume))
        .collect();
    header(&mut out, &format!("per day  {}", sparkline(&volumes)));
    for d in &r.trend {
        if let Some(s) = &d.sentiment {
            let mut row = s.clone();
            row.name = date(&d.start).chars().take(10).collect();
            breakdown_row(&mut out, &row);
        }
    }
    header(&mut out, "by source");
    for b in &r.by_source {
        breakdown_row(&mut out, b);
    }
    if !r.segment_key.is_empty() {
        header(&mut out, &format!("by {}", r.segment_key));
        for b in &r.by_segment {
            breakdown_row(&mut out, b);
        }
    }
    let _ = writeln!(
        out,
        "distinctive negative keywords: {}",
        keyword_line(&r.negative_keywords)
    );
    let _ = writeln!(
        out,
        "distinctive positive keywords: {}",
        keyword_line(&r.positive_keywords)
    );
    out
}

fn status_name(raw: i32) -> &'static str {
    match proto::JourneyStatus::try_from(raw) {
        Ok(proto::JourneyStatus::Ok) => "OK",
        Ok(proto::JourneyStatus::Watch) => "Watch",
        Ok(proto::JourneyStatus::Critical) => "Critical",
        _ => "-",
    }
}

/// Journey health as JSON.
pub fn journey_json(r: &proto::JourneyHealth) -> Value {
    let stages: Vec<Value> = r
        .stages
        .iter()
        .map(|s| {
            json!({"stage": s.stage, "volume": s.volume, "previous_volume": s.previous_volume,
                "volume_change": s.volume_change, "average_sentiment": s.average_sentiment,
                "previous_average_sentiment": s.previous_average_sentiment,
                "sentiment_change": s.sentiment_change, "nps": metric_json(&s.nps),
                "csat": metric_json(&s.csat), "ces": metric_json(&s.ces),
                "status": status_name(s.status), "status_reason": s.status_reason, "owner": s.owner,
                "dragging_theme": (!s.dragging_theme_id.is_empty()).then(|| json!({"theme_id": s.dragging_theme_id,
                    "label": s.dragging_theme_label, "impact": s.dragging_impact}))})
        })
        .collect();
    json!({"window": window_json(&r.window), "previous_window": window_json(&r.previous_window),
        "stages": stages, "unstaged": r.unstaged})
}

/// Journey health as a table.
pub fn journey(r: &proto::JourneyHealth) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (before: {}); {} verbatims without a stage",
        window_text(&r.window),
        window_text(&r.previous_window),
        r.unstaged
    );
    let _ = writeln!(
        out,
        "{:<18} {:>7} {:>7} {:>9} {:>7} {:>12} {:>10} {:>10} {:<8} {:<18}  dragging theme",
        "stage", "volume", "change", "sentiment", "change", "NPS", "CSAT", "CES", "status", "owner"
    );
    for s in &r.stages {
        let dragging = if s.dragging_theme_id.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{} ({:+.2})",
                theme_cell(&s.dragging_theme_id, &s.dragging_theme_label, 34),
                s.dragging_impact
            )
        };
        let _ = writeln!(
            out,
            "{:<18} {:>7} {:>7} {:>9.2} {:>+7.2} {:>12} {:>10} {:>10} {:<8} {:<18}  {dragging}",
            truncate(&s.stage, 18),
            s.volume,
            signed_percent(s.volume_change),
            s.average_sentiment,
            s.sentiment_change,
            metric_cell(&s.nps),
            metric_cell(&s.csat),
            metric_cell(&s.ces),
            status_name(s.status),
            truncate(if s.owner.is_empty() { "-" } else { &s.owner }, 18)
        );
        if s.status != proto::JourneyStatus::Ok as i32 {
            let _ = writeln!(out, "    {}", s.status_reason);
        }
    }
    out
}

fn segment_json(t: &proto::SegmentTheme) -> Value {
    json!({"theme_id": t.theme_id, "label": t.label, "a_count": t.a_count, "a_share": t.a_share,
        "b_count": t.b_count, "b_share": t.b_share, "difference": t.difference, "p_value": t.p_value})
}

/// A segment comparison as JSON.
pub fn comparison_json(r: &proto::SegmentComparison) -> Value {
    json!({"window": window_json(&r.window), "a_total": r.a_total, "b_total": r.b_total,
        "over": r.over.iter().map(segment_json).collect::<Vec<_>>(),
        "under": r.under.iter().map(segment_json).collect::<Vec<_>>(),
        "tested": r.tested, "false_discovery_rate": r.false_discovery_rate,
        "p_value_cutoff": r.p_value_cutoff, "dispersion": r.dispersion})
}

/// A p-value in scientific notation; one too small for a double is "<1e-300".
fn p_value(p: f64) -> String {
    if p < 1e-300 {
        "<1e-300".into()
    } else {
        format!("{p:.1e}")
    }
}

/// A segment comparison as tables.
pub fn comparison(r: &proto::SegmentComparison, a: &str, b: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A ({a}): {} verbatims; B ({b}): {} verbatims; {}",
        r.a_total,
        r.b_total,
        window_text(&r.window)
    );
    let _ = writeln!(
        out,
        "{} themes tested, false discovery rate {}, p-value cutoff {:.2e}, B's daily dispersion {:.2}",
        r.tested,
        percent(r.false_discovery_rate),
        r.p_value_cutoff,
        r.dispersion
    );
    for (title, list) in [
        ("over-represented in A", &r.over),
        ("under-represented in A", &r.under),
    ] {
        let _ = writeln!(
            out,
            "{title:<40} {:>7} {:>7} {:>7} {:>7} {:>8} {:>9}",
            "A", "A share", "B", "B share", "diff", "p"
        );
        if list.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for t in list {
            let _ = writeln!(
                out,
                "{:<40} {:>7} {:>7} {:>7} {:>7} {:>+7.1}pt {:>9}",
                theme_cell(&t.theme_id, &t.label, 40),
                t.a_count,
                percent(t.a_share),
                t.b_count,
                percent(t.b_share),
                t.difference * 100.0,
                p_value(t.p_value)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_plain_text_and_say_what_is_missing() {
        let drivers_text = drivers(&proto::MetricDrivers {
            overall: Some(proto::MetricSummary {
                metric: proto::Metric::Nps as i32,
                scored: 11,
                value: 9.09,
                top_share: 5.0 / 11.0,
                bottom_share: 4.0 / 11.0,
            }),
            verbatims: 13,
            negative: vec![proto::Driver {
                theme_id: "TH-0001".into(),
                label: "billing".into(),
                volume: 5,
                impact: Some(-33.77),
                impact_low: -75.23,
                impact_high: 7.7,
                quote: Some(proto::Quote {
                    verbatim_id: "vb_000000000002".into(),
                    text: "charged\ttwice".into(),
                }),
                ..Default::default()
            }],
            min_scored: 2,
            ..Default::default()
        });
        assert!(drivers_text.starts_with("NPS 9.1 from 11 scored of 13 verbatims"));
        assert!(drivers_text.contains("TH-0001 billing"), "{drivers_text}");
        assert!(
            drivers_text.contains("-33.8  [-75.2, +7.7]"),
            "{drivers_text}"
        );
        assert!(drivers_text.contains("\"charged twice\""));
        assert!(drivers_text.contains("positive drivers"));
        assert!(drivers_text.contains("  none"));
        assert!(!drivers_text.chars().any(|c| c.is_control() && c != '\n'));
        let json = drivers_json(&proto::MetricDrivers::default());
        assert_eq!(json["overall"]["metric"], "nps");
        assert!(drivers(&proto::MetricDrivers::default()).starts_with("no NPS answers among 0"));
        assert_eq!(
            (p_value(0.0), p_value(0.0123)),
            ("<1e-300".into(), "1.2e-2".into())
        );
    }
}
