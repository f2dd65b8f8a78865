//! Analysis + full tagging of short verbatims on one core: PII redaction, tokenizing, stemming,
//! taxonomy matching, sentiment and severity, as ingest does per verbatim.
//!
//! Run: `cargo bench --bench tagging`. Throughput is reported in verbatims per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tideline::model::tags::{GivenTags, Origin};
use tideline::tagging::tag_text;
use tideline::tagging::taxonomy::Taxonomy;
use tideline::text::pii;

/// Short verbatims of the kinds tideline receives: survey comments, tickets, reviews, chats.
const VERBATIMS: &[&str] = &[
    "The app crashed twice while I was exporting my report",
    "Love the new dashboard, so much faster!",
    "I was charged twice for my subscription this month, please refund",
    "still waiting for someone to answer my ticket, 3 days now",
    "can't log in since the update, password reset email never arrives",
    "Great product but billing is a mess",
    "How do I connect the Salesforce integration?",
    "onboarding was smooth, the setup guide is really clear :)",
    "API returns 500 errors on every call, this is blocking our release",
    "notifications are way too noisy, how do I turn them off?",
    "mobile app is slow on android 😡",
    "thanks for the quick fix!",
    "Reports take forever to load and the export to csv fails",
    "pricing is too high for what we get, thinking about switching",
    "support agent was friendly and solved it in 5 minutes",
    "contact me at jane.doe@example.com or +1 (555) 123-4567 about the invoice",
];

fn tagging(c: &mut Criterion) {
    let taxonomy = Taxonomy::default_saas();
    let given = GivenTags::default();
    let mut group = c.benchmark_group("tagging");
    group.throughput(Throughput::Elements(VERBATIMS.len() as u64));
    group.bench_function("redact_and_tag_short_verbatims", |b| {
        b.iter(|| {
            for text in VERBATIMS {
                let redacted = pii::redact(text);
                std::hint::black_box(tag_text(
                    &taxonomy,
                    1,
                    &redacted.text,
                    &given,
                    Origin::Client,
                ));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, tagging);
criterion_main!(benches);
