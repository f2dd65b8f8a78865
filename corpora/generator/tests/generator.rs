//! The generator's promises, through its public API: determinism, the planted scenarios and
//! their schedule, the shape of the rows, and the committed `corpora/saas_feedback.csv` and its
//! README agreeing with the generator.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use tideline_corpus::{
    billing_fixed_share, daily_counts, generate, mobile_regression_share, write_csv, CorpusParams,
    CorpusRow, DayCounts, Plan, Platform, Scenario, Scores, Source,
    BILLING_DECLINE_DAYS_BEFORE_END, BILLING_FIX_DAYS_BEFORE_END, BILLING_PEAK_SHARE, CSV_HEADER,
    MOBILE_REGRESSION_SHARES, MOBILE_RELEASE_DAYS_BEFORE_END,
};

/// The default corpus, generated once for all tests.
fn corpus() -> &'static [CorpusRow] {
    static CORPUS: OnceLock<Vec<CorpusRow>> = OnceLock::new();
    CORPUS.get_or_init(|| generate(&CorpusParams::default()))
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

/// A file of `corpora/`, the directory above this crate.
fn corpora_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in corpora/")
        .join(name)
}

#[test]
fn committed_corpus_is_the_generators_output_byte_for_byte() {
    let committed = std::fs::read(corpora_file("saas_feedback.csv")).unwrap();
    let mut generated = Vec::new();
    write_csv(corpus(), &mut generated).unwrap();
    if committed != generated {
        let first_difference = committed
            .split(|b| *b == b'\n')
            .zip(generated.split(|b| *b == b'\n'))
            .position(|(a, b)| a != b);
        panic!(
            "corpora/saas_feedback.csv differs from `tideline gen-corpus` output \
             ({} vs {} bytes, first differing line {first_difference:?}); regenerate it",
            committed.len(),
            generated.len()
        );
    }
}

#[test]
fn readme_states_the_command_and_the_scenario_dates() {
    let readme = std::fs::read_to_string(corpora_file("README.md")).unwrap();
    let params = CorpusParams::default();
    for expected in [
        "tideline gen-corpus --out corpora/saas_feedback.csv".to_string(),
        params.release_date().to_string(),
        params.fix_date().to_string(),
        params.first_day().to_string(),
    ] {
        assert!(readme.contains(&expected), "README lacks {expected:?}");
    }
}

#[test]
fn same_parameters_give_the_same_rows_and_another_seed_others() {
    let params = CorpusParams {
        rows: 3000,
        ..CorpusParams::default()
    };
    assert_eq!(generate(&params), generate(&params));
    let reseeded = CorpusParams {
        seed: params.seed + 1,
        ..params
    };
    assert_ne!(generate(&params), generate(&reseeded));
}

#[test]
fn rows_fill_the_requested_days_in_time_order_with_unique_ids() {
    let params = CorpusParams::default();
    let rows = corpus();
    assert_eq!(rows.len(), params.rows);
    let days = daily_counts(rows);
    assert_eq!(days.len(), params.days as usize);
    assert_eq!(days[0].date, params.first_day());
    assert_eq!(days[days.len() - 1].date.next_day(), Some(params.end));
    assert!(rows.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    assert!(rows.iter().all(|r| r.created_at % 1_000_000 == 0));
    let ids: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), rows.len());
    // Weekends are quieter than weekdays.
    let mean = |weekend: bool| {
        let picked: Vec<usize> = days
            .iter()
            .filter(|d| (d.date.weekday().number_days_from_monday() >= 5) == weekend)
            .map(|d| d.total - d.mobile_regression - d.billing_fixed)
            .collect();
        share(picked.iter().sum(), picked.len())
    };
    assert!(
        mean(true) < 0.7 * mean(false),
        "{} {}",
        mean(true),
        mean(false)
    );
}

#[test]
fn tiny_and_empty_corpora_are_fine() {
    let one_day = CorpusParams {
        days: 1,
        rows: 10,
        ..CorpusParams::default()
    };
    assert_eq!(generate(&one_day).len(), 10);
    let empty = CorpusParams {
        rows: 0,
        ..CorpusParams::default()
    };
    assert!(generate(&empty).is_empty());
    assert!(daily_counts(&[]).is_empty());
}

#[test]
fn mobile_regression_starts_at_the_release_and_grows_to_a_fifth_or_more_of_the_volume() {
    let params = CorpusParams::default();
    let days = daily_counts(corpus());
    let release = params.release_date();
    let (before, after): (Vec<&DayCounts>, Vec<&DayCounts>) =
        days.iter().partition(|d| d.date < release);
    assert!(before.iter().all(|d| d.mobile_regression == 0));
    assert_eq!(after.len(), MOBILE_RELEASE_DAYS_BEFORE_END as usize);
    let shares: Vec<f64> = after
        .iter()
        .map(|d| share(d.mobile_regression, d.total))
        .collect();
    assert!(
        after[0].mobile_regression >= 1 && shares[0] < 0.05,
        "{shares:?}"
    );
    assert!(
        shares[shares.len() - 1] > 0.15 && shares[shares.len() - 1] < 0.3,
        "{shares:?}"
    );
    let rises = shares.windows(2).filter(|w| w[1] > w[0]).count();
    assert!(rises >= shares.len() - 2, "{shares:?}");
    for row in corpus()
        .iter()
        .filter(|r| r.scenario == Scenario::MobileRegression)
    {
        assert!(row.platform.is_some_and(Platform::is_mobile), "{row:?}");
        assert_eq!(row.app_version, Some("5.2.0"));
    }
}

#[test]
fn billing_issue_is_high_early_and_near_zero_after_the_fix() {
    let params = CorpusParams::default();
    let days = daily_counts(corpus());
    let period_share = |from: usize, to: usize| {
        let period = &days[from..to];
        share(
            period.iter().map(|d| d.billing_fixed).sum(),
            period.iter().map(|d| d.total).sum(),
        )
    };
    let early = period_share(0, 60);
    assert!((0.065..0.095).contains(&early), "{early}");
    let last_two_weeks = period_share(days.len() - 14, days.len());
    assert!(last_two_weeks < 0.005, "{last_two_weeks}");
    let fix = params.fix_date();
    let after_fix = days.iter().filter(|d| d.date >= fix);
    assert!(after_fix.map(|d| d.billing_fixed).sum::<usize>() < 40);
    for row in corpus()
        .iter()
        .filter(|r| r.scenario == Scenario::BillingFixed)
    {
        assert!(row.plan != Some(Plan::Free), "{row:?}");
    }
}

#[test]
fn every_source_is_present_with_only_the_scores_it_can_have() {
    let rows = corpus();
    for source in Source::ALL {
        let count = rows.iter().filter(|r| r.source == source).count();
        assert!(share(count, rows.len()) > 0.1, "{source:?}: {count}");
    }
    let in_range = |score: Option<u8>, range: std::ops::RangeInclusive<u8>| {
        score.is_none_or(|s| range.contains(&s))
    };
    for row in rows {
        let Scores { nps, csat, ces } = row.scores;
        assert!(in_range(nps, 0..=10) && in_range(csat, 1..=5) && in_range(ces, 1..=7));
        match row.source {
            Source::Survey => assert!(nps.is_some() || csat.is_some() || ces.is_some()),
            Source::Review => assert!(csat.is_some() && nps.is_none() && ces.is_none()),
            Source::Ticket | Source::Chat => assert!(nps.is_none() && ces.is_none()),
        }
        assert_eq!(
            row.customer_id.is_none(),
            row.source == Source::Review,
            "{row:?}"
        );
        assert_eq!(row.account_id.is_some(), row.customer_id.is_some());
        assert_eq!(row.plan.is_some(), row.customer_id.is_some());
        let mobile = row.platform.is_some_and(Platform::is_mobile);
        assert_eq!(row.app_version.is_some(), mobile, "{row:?}");
    }
    let answered = |source: Source| {
        let of_source: Vec<&CorpusRow> = rows.iter().filter(|r| r.source == source).collect();
        share(
            of_source.iter().filter(|r| r.scores.csat.is_some()).count(),
            of_source.len(),
        )
    };
    assert!((0.25..0.45).contains(&answered(Source::Ticket)));
}

#[test]
fn scores_follow_the_tone_of_the_text() {
    let mean_nps = |topic: &str| {
        let scores: Vec<f64> = corpus()
            .iter()
            .filter(|r| r.topic == topic)
            .filter_map(|r| r.scores.nps.map(f64::from))
            .collect();
        scores.iter().sum::<f64>() / scores.len() as f64
    };
    assert!(mean_nps("support_praise") > 8.0);
    assert!(mean_nps("billing_fixed") < 5.0);
}

/// NPS in points (% promoters 9-10 − % detractors 0-6) of the rows' answers.
fn nps(rows: &[&CorpusRow]) -> f64 {
    let answers: Vec<u8> = rows.iter().filter_map(|r| r.scores.nps).collect();
    let promoters = answers.iter().filter(|&&a| a >= 9).count();
    let detractors = answers.iter().filter(|&&a| a <= 6).count();
    (promoters as f64 - detractors as f64) * 100.0 / answers.len().max(1) as f64
}

#[test]
fn planted_problems_drag_the_scores_down_by_design() {
    for row in corpus().iter().filter(|r| r.scenario != Scenario::Steady) {
        let Scores { nps, csat, ces } = row.scores;
        assert!(
            nps.is_none_or(|s| s <= 6) && csat.is_none_or(|s| s <= 2) && ces.is_none_or(|s| s <= 3),
            "a planted row outside the bottom band: {row:?}"
        );
    }
    // The last week: the mobile regression has NPS answers enough to be ranked as a driver
    // (tideline's insights.min_scored is 30), and its impact (the week's NPS minus the NPS
    // without it) is at least twice any steady topic's.
    let params = CorpusParams::default();
    let week_start = params.last_day() - time::Duration::days(6);
    let week: Vec<&CorpusRow> = corpus().iter().filter(|r| r.date() >= week_start).collect();
    let impact = |topic: &str| {
        let rest: Vec<&CorpusRow> = week.iter().copied().filter(|r| r.topic != topic).collect();
        nps(&week) - nps(&rest)
    };
    let answered = |topic: &str| {
        week.iter()
            .filter(|r| r.topic == topic && r.scores.nps.is_some())
            .count()
    };
    assert!(
        answered("mobile_regression") >= 40,
        "{}",
        answered("mobile_regression")
    );
    let regression = impact("mobile_regression");
    let topics: HashSet<&str> = week.iter().map(|r| r.topic).collect();
    for topic in topics.into_iter().filter(|t| *t != "mobile_regression") {
        assert!(
            impact(topic) > regression / 2.0,
            "{topic}: {} against the regression's {regression}",
            impact(topic)
        );
    }
    assert!(regression < -10.0, "{regression}");
}

#[test]
fn accounts_have_several_customers_with_a_skew() {
    let mut customers_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut account_of: HashMap<&str, (&str, Option<Plan>)> = HashMap::new();
    for row in corpus() {
        if let (Some(customer), Some(account)) = (&row.customer_id, &row.account_id) {
            customers_of.entry(account).or_default().insert(customer);
            let known = account_of.entry(customer).or_insert((account, row.plan));
            assert_eq!(*known, (account.as_str(), row.plan), "{customer} moved");
        }
    }
    let mut sizes: Vec<usize> = customers_of.values().map(HashSet::len).collect();
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    let largest = sizes[sizes.len() - 1];
    assert!(
        median >= 2 && largest >= 10 * median,
        "median {median}, largest {largest}"
    );
}

#[test]
fn wording_varies_with_typos_case_and_emoji_in_a_few_rows() {
    let rows = corpus();
    let distinct: HashSet<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    assert!(
        distinct.len() > rows.len() / 2,
        "{} distinct",
        distinct.len()
    );
    let english: Vec<&CorpusRow> = rows.iter().filter(|r| r.language == "en").collect();
    assert!(share(english.len(), rows.len()) > 0.97);
    assert!(english.len() < rows.len());
    let with = |test: &dyn Fn(&str) -> bool| {
        share(
            english.iter().filter(|r| test(&r.text)).count(),
            english.len(),
        )
    };
    let lowercase = with(&|t| t.chars().any(char::is_alphabetic) && t == t.to_lowercase());
    let shouted = with(&|t| t.len() > 20 && t == t.to_uppercase());
    let emoji = with(&|t| t.chars().any(|c| u32::from(c) >= 0x1F300));
    assert!((0.05..0.3).contains(&lowercase), "{lowercase}");
    assert!(shouted > 0.0 && shouted < 0.02, "{shouted}");
    assert!((0.02..0.15).contains(&emoji), "{emoji}");
    assert!(rows.iter().any(|r| r.text.contains('\n')));
}

#[test]
fn csv_has_the_header_and_one_record_per_row() {
    let rows = generate(&CorpusParams {
        rows: 500,
        ..CorpusParams::default()
    });
    let mut bytes = Vec::new();
    write_csv(&rows, &mut bytes).unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        &csv::StringRecord::from(CSV_HEADER.to_vec())
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), rows.len());
    for (record, row) in records.iter().zip(&rows) {
        assert_eq!(record, &csv::StringRecord::from(row.csv_fields().to_vec()));
    }
}

#[test]
fn share_curves_match_the_documented_schedule() {
    assert_eq!(
        mobile_regression_share(MOBILE_RELEASE_DAYS_BEFORE_END + 1),
        0.0
    );
    assert_eq!(
        mobile_regression_share(MOBILE_RELEASE_DAYS_BEFORE_END),
        MOBILE_REGRESSION_SHARES[0]
    );
    assert_eq!(mobile_regression_share(1), MOBILE_REGRESSION_SHARES[5]);
    assert_eq!(billing_fixed_share(90), BILLING_PEAK_SHARE);
    assert_eq!(
        billing_fixed_share(BILLING_DECLINE_DAYS_BEFORE_END),
        BILLING_PEAK_SHARE
    );
    let declining: Vec<f64> = (BILLING_FIX_DAYS_BEFORE_END..=BILLING_DECLINE_DAYS_BEFORE_END)
        .map(billing_fixed_share)
        .collect();
    assert!(declining.windows(2).all(|w| w[0] < w[1]), "{declining:?}");
    assert!(billing_fixed_share(14) < 0.001);
    let params = CorpusParams::default();
    assert_eq!(params.release_date().to_string(), "2026-10-26");
    assert_eq!(params.fix_date().to_string(), "2026-10-11");
    assert_eq!(params.first_day().to_string(), "2026-08-03");
}
