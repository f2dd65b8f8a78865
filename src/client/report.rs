//! Tables for people: the theme spotlight, alerts, the sentiment summary, one theme, a text's
//! tags. Pure functions from API messages to plain text (no control characters), shared by the
//! client commands and `tideline demo`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::proto;

/// Shortens to `max` characters with an ellipsis, on one line.
pub fn truncate(text: &str, max: usize) -> String {
    let text = text.replace(['\n', '\r', '\t'], " ");
    if text.chars().count() <= max {
        text
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// How a frequency class is shown.
pub fn class_name(raw: i32) -> &'static str {
    match proto::FrequencyClass::try_from(raw) {
        Ok(proto::FrequencyClass::Emerging) => "emerging",
        Ok(proto::FrequencyClass::Growing) => "growing",
        Ok(proto::FrequencyClass::Persistent) => "steady",
        Ok(proto::FrequencyClass::Declining) => "declining",
        _ => "-",
    }
}

pub fn severity_name(raw: i32) -> &'static str {
    match proto::AlertSeverity::try_from(raw) {
        Ok(proto::AlertSeverity::Critical) => "CRITICAL",
        Ok(proto::AlertSeverity::High) => "high",
        Ok(proto::AlertSeverity::Medium) => "medium",
        Ok(proto::AlertSeverity::Low) => "low",
        _ => "-",
    }
}

fn status_name(raw: i32) -> &'static str {
    match proto::AlertStatus::try_from(raw) {
        Ok(proto::AlertStatus::Open) => "open",
        Ok(proto::AlertStatus::Acknowledged) => "acknowledged",
        Ok(proto::AlertStatus::Assigned) => "assigned",
        Ok(proto::AlertStatus::Resolved) => "resolved",
        Ok(proto::AlertStatus::Dismissed) => "dismissed",
        _ => "-",
    }
}

fn date(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref().map_or("-".into(), |t| {
        crate::time::format_date(t.seconds * 1_000_000)
    })
}

/// Where a theme ranks in the spotlight: what changed first (emerging, growing, then declining,
/// the strongest change first), then the largest steady themes.
fn spotlight_rank(t: &proto::Theme) -> (u8, i64, u64) {
    let class = match proto::FrequencyClass::try_from(t.frequency_class) {
        Ok(proto::FrequencyClass::Emerging) => 0,
        Ok(proto::FrequencyClass::Growing) => 1,
        Ok(proto::FrequencyClass::Declining) => 2,
        _ => 3,
    };
    let change = if class < 3 {
        -(t.velocity.abs().min(1e6) * 1000.0) as i64
    } else {
        0
    };
    (class, change, u64::MAX - t.volume)
}

/// The themes that deserve attention first: emerging, growing and declining ones (strongest
/// change first), then the largest; with class, velocity, share of voice, sentiment and owner.
pub fn spotlight(themes: &[proto::Theme], limit: usize) -> String {
    let mut ranked: Vec<&proto::Theme> = themes.iter().collect();
    ranked.sort_by_key(|t| spotlight_rank(t));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:<34} {:>6} {:>6} {:<9} {:>8} {:>9}  owner",
        "theme", "label", "volume", "share", "trend", "velocity", "sentiment"
    );
    for t in ranked.into_iter().take(limit) {
        let velocity = match proto::FrequencyClass::try_from(t.frequency_class) {
            Ok(proto::FrequencyClass::Unspecified) | Err(_) => "-".to_string(),
            Ok(proto::FrequencyClass::Emerging) => "new".to_string(),
            Ok(_) => format!("{:+.0}%", t.velocity * 100.0),
        };
        let _ = writeln!(
            out,
            "{:<8} {:<34} {:>6} {:>5.1}% {:<9} {:>8} {:>9.2}  {}",
            t.id,
            truncate(&t.label, 34),
            t.volume,
            t.share * 100.0,
            class_name(t.frequency_class),
            velocity,
            t.average_sentiment,
            if t.owner.is_empty() { "-" } else { &t.owner }
        );
    }
    out
}

/// One line per alert.
pub fn alerts_table(alerts: &[proto::Alert]) -> String {
    if alerts.is_empty() {
        return "no alerts\n".to_string();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<8} {:<12} {:<10} {:<28} {:>9}  summary",
        "alert", "severity", "status", "raised", "theme", "customers"
    );
    for a in alerts {
        let _ = writeln!(
            out,
            "{:<10} {:<8} {:<12} {:<10} {:<28} {:>9}  {}",
            a.id,
            severity_name(a.severity),
            status_name(a.status),
            date(&a.raised_at),
            truncate(&alert_subject(a), 28),
            a.affected_customers,
            a.summary
        );
    }
    out
}

/// What an alert is about: its theme (`TH-0001 "label"`), or the phrase no theme covers yet.
fn alert_subject(a: &proto::Alert) -> String {
    if a.theme_id.is_empty() {
        format!("phrase \"{}\"", a.phrase)
    } else {
        format!("{} \"{}\"", a.theme_id, a.theme_label)
    }
}

/// Everything an alert says, for the person who has to act on it.
pub fn alert_detail(a: &proto::Alert) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} [{}] {}: {}",
        a.id,
        severity_name(a.severity),
        alert_subject(a),
        a.summary
    );
    let _ = writeln!(
        out,
        "  window {} to {}, first seen {}; share {:.1}% (was {:.1}%), p = {:.1e}",
        date(&a.window_start),
        date(&a.window_end),
        date(&a.first_seen),
        a.share * 100.0,
        a.baseline_share * 100.0,
        a.p_value
    );
    let _ = writeln!(
        out,
        "  average sentiment {:.2}, {:.0}% negative; {} customers affected ({:.1}% of those heard from)",
        a.average_sentiment,
        a.negative_share * 100.0,
        a.affected_customers,
        a.affected_customer_share * 100.0
    );
    let _ = writeln!(
        out,
        "  keywords: {}",
        if a.keywords.is_empty() {
            "-".to_string()
        } else {
            a.keywords.join(", ")
        }
    );
    if !a.rising_phrases.is_empty() {
        let _ = writeln!(out, "  rising: {}", a.rising_phrases.join(", "));
    }
    if a.themes.len() > 1 {
        let themes: Vec<String> = a
            .themes
            .iter()
            .map(|t| format!("{} \"{}\" ({})", t.id, t.label, t.mentions))
            .collect();
        let _ = writeln!(out, "  one incident over {}", themes.join(", "));
    }
    let _ = writeln!(
        out,
        "  owner: {}  (product area: {})",
        if a.owner.is_empty() { "-" } else { &a.owner },
        if a.product_area.is_empty() {
            "-"
        } else {
            &a.product_area
        }
    );
    for q in &a.quotes {
        let _ = writeln!(out, "  \"{}\"", truncate(&q.text, 110));
    }
    let _ = writeln!(out, "  next step: {}", a.recommended_action);
    out
}

/// Counts per value of one facet dimension.
pub fn facet(response: &proto::SearchVerbatimsResponse, dimension: &str) -> BTreeMap<String, u64> {
    response
        .tag_facets
        .iter()
        .filter(|d| d.dimension == dimension)
        .flat_map(|d| d.counts.iter().map(|c| (c.value.clone(), c.count)))
        .collect()
}

/// Sentiment overall and per source, and the most negative themes.
pub fn sentiment_summary(
    overall: &proto::SearchVerbatimsResponse,
    by_source: &[(String, proto::SearchVerbatimsResponse)],
    themes: &[proto::Theme],
) -> String {
    const LABELS: [&str; 4] = ["positive", "neutral", "mixed", "negative"];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:>9} {:>8} {:>7} {:>9}",
        "source", "total", "positive", "neutral", "mixed", "negative"
    );
    let mut row = |name: &str, response: &proto::SearchVerbatimsResponse| {
        let counts = facet(response, "sentiment");
        let total = response.total_size.max(1) as f64;
        let cells: Vec<String> = LABELS
            .iter()
            .map(|l| {
                format!(
                    "{:.0}%",
                    *counts.get(*l).unwrap_or(&0) as f64 * 100.0 / total
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:>9} {:>8} {:>7} {:>9}",
            name, response.total_size, cells[0], cells[1], cells[2], cells[3]
        );
    };
    row("all", overall);
    for (source, response) in by_source {
        if response.total_size > 0 {
            row(source, response);
        }
    }
    let mut negative: Vec<&proto::Theme> = themes.iter().filter(|t| t.volume >= 10).collect();
    negative.sort_by(|a, b| a.average_sentiment.total_cmp(&b.average_sentiment));
    if !negative.is_empty() {
        let _ = writeln!(out, "most negative themes:");
        for t in negative.into_iter().take(5) {
            let _ = writeln!(
                out,
                "  {:>6.2}  {} {} ({} verbatims)",
                t.average_sentiment,
                t.id,
                truncate(&t.label, 40),
                t.volume
            );
        }
    }
    out
}

/// A bar per bucket, scaled to the largest.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|&v| BARS[((v * 7) / max) as usize])
        .collect()
}

/// One theme: label, numbers, keywords, quotes and its daily trend.
pub fn theme_detail(t: &proto::Theme, trend: &proto::ThemeTrend) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} \"{}\" ({}), owner {}",
        t.id,
        t.label,
        class_name(t.frequency_class),
        if t.owner.is_empty() { "-" } else { &t.owner }
    );
    let _ = writeln!(
        out,
        "  {} verbatims, {:.1}% share of voice, average sentiment {:.2}, first seen {}",
        t.volume,
        t.share * 100.0,
        t.average_sentiment,
        date(&t.first_seen)
    );
    let keywords: Vec<&str> = t.keywords.iter().map(|k| k.term.as_str()).collect();
    let _ = writeln!(out, "  keywords: {}", keywords.join(", "));
    for q in &t.quotes {
        let _ = writeln!(out, "  \"{}\"", truncate(&q.text, 110));
    }
    let counts: Vec<u64> = trend.buckets.iter().map(|b| b.count).collect();
    if let (Some(first), Some(last)) = (trend.buckets.first(), trend.buckets.last()) {
        let _ = writeln!(
            out,
            "  per day {} to {}: {}",
            date(&first.start),
            date(&last.start),
            sparkline(&counts)
        );
    }
    if let Some(last) = t.history.last() {
        let _ = writeln!(out, "  history: {} events, latest: {last}", t.history.len());
    }
    out
}

fn tag_line(name: &str, tag: &Option<proto::Tag>) -> Option<String> {
    tag.as_ref().map(|t| {
        let evidence: Vec<&str> = t.evidence.iter().map(|e| e.term.as_str()).collect();
        format!(
            "  {name:<14} {:<22} {:.2}  {}",
            t.value,
            t.confidence,
            if evidence.is_empty() {
                t.reason.clone()
            } else {
                format!("matched {}", evidence.join(", "))
            }
        )
    })
}

/// The tags of a text, with confidence and evidence.
pub fn tags(response: &proto::TagTextResponse) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "text: {}", response.text);
    if !response.redacted.is_empty() {
        let _ = writeln!(out, "  redacted: {}", response.redacted.join(", "));
    }
    let Some(tags) = &response.tags else {
        return out;
    };
    if let Some(s) = &tags.sentiment {
        let label = proto::SentimentLabel::try_from(s.label)
            .map(|l| {
                l.as_str_name()
                    .trim_start_matches("SENTIMENT_LABEL_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let _ = writeln!(out, "  {:<14} {:<22} {:+.2}", "sentiment", label, s.score);
    }
    let lines = [
        tag_line("severity", &tags.severity),
        tag_line("journey stage", &tags.journey_stage),
        tag_line("driver", &tags.driver),
    ];
    for line in lines.into_iter().flatten() {
        let _ = writeln!(out, "{line}");
    }
    for area in &tags.product_areas {
        if let Some(line) = tag_line("product area", &Some(area.clone())) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theme(id: &str, class: proto::FrequencyClass, velocity: f64, volume: u64) -> proto::Theme {
        proto::Theme {
            id: id.into(),
            label: format!("label {id}"),
            frequency_class: class as i32,
            velocity,
            volume,
            ..Default::default()
        }
    }

    #[test]
    fn spotlight_puts_changes_first_then_volume() {
        let themes = [
            theme("TH-0001", proto::FrequencyClass::Persistent, 0.0, 900),
            theme("TH-0002", proto::FrequencyClass::Growing, 0.8, 50),
            theme("TH-0003", proto::FrequencyClass::Emerging, 3.0, 20),
            theme("TH-0004", proto::FrequencyClass::Growing, 1.5, 40),
            theme("TH-0005", proto::FrequencyClass::Declining, -0.5, 2000),
        ];
        let text = spotlight(&themes, 10);
        let order: Vec<&str> = text.lines().skip(1).map(|l| &l[..7]).collect();
        assert_eq!(
            order,
            ["TH-0003", "TH-0004", "TH-0002", "TH-0005", "TH-0001"]
        );
        assert!(text.contains("+150%") && text.contains("new"));
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
    }

    #[test]
    fn an_alert_says_what_is_rising_and_which_themes_it_spans() {
        let alert = proto::Alert {
            id: "AL-000001".into(),
            theme_id: "TH-0001".into(),
            theme_label: "refund".into(),
            rising_phrases: vec!["still waiting".into(), "money owe".into()],
            themes: vec![
                proto::AlertTheme {
                    id: "TH-0001".into(),
                    label: "refund".into(),
                    mentions: 20,
                    baseline_mentions: 3,
                },
                proto::AlertTheme {
                    id: "TH-0007".into(),
                    label: "money back".into(),
                    mentions: 9,
                    baseline_mentions: 1,
                },
            ],
            ..Default::default()
        };
        let text = alert_detail(&alert);
        assert!(
            text.contains("  rising: still waiting, money owe\n"),
            "{text}"
        );
        assert!(
            text.contains("one incident over TH-0001 \"refund\" (20), TH-0007 \"money back\" (9)"),
            "{text}"
        );
    }

    #[test]
    fn sparklines_scale_to_the_peak() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8]), "▁▁▂▄█");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(truncate("a\nb", 10), "a b");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
