//! The demo corpus generator behind `tideline gen-corpus`: a deterministic, realistic stream of
//! SaaS customer feedback (surveys, support tickets, app-store reviews, chats) with two planted
//! scenarios whose ground truth is known.
//!
//! * `mobile_regression`: the mobile apps' 5.2.0 release, [`MOBILE_RELEASE_DAYS_BEFORE_END`]
//!   days before the end, crashes, freezes and lags; reports grow from a handful on release day
//!   to a quarter of the daily volume ([`mobile_regression_share`]).
//! * `billing_fixed`: duplicate charges and wrong invoices after plan changes, about 8% of the
//!   volume until a fix [`BILLING_FIX_DAYS_BEFORE_END`] days before the end, near zero after
//!   ([`billing_fixed_share`]).
//! * `steady`: everything else, topics with stable shares and day-to-day noise.
//!
//! The same [`CorpusParams`] always give the same rows, byte for byte once written with
//! [`write_csv`]: randomness comes from the module's own SplitMix64 seeded with
//! [`CorpusParams::seed`], and only exactly rounded arithmetic is used, so neither a new `rand`
//! nor another platform changes the committed `corpora/saas_feedback.csv`.

mod calendar;
mod generator;
mod phrases;
mod population;
mod rng;
mod wording;

use std::io;

pub use self::calendar::{Date, DateError};
use self::generator::{plan_days, Generator};
use self::population::Population;
use self::rng::SplitMix64;
use crate::model::Micros;

/// Seed of the committed corpus.
pub const DEFAULT_SEED: u64 = 6;
/// Days covered by the committed corpus.
pub const DEFAULT_DAYS: u32 = 90;
/// Rows of the committed corpus.
pub const DEFAULT_ROWS: usize = 20_000;
/// The committed corpus ends just before this date (UTC midnight, exclusive).
pub const DEFAULT_END: Date = Date {
    year: 2026,
    month: 11,
    day: 1,
};

/// The mobile apps' 5.2.0 release ships this many days before the end date.
pub const MOBILE_RELEASE_DAYS_BEFORE_END: i64 = 6;
/// Planned share of a day's verbatims reporting the mobile regression, by day since the release
/// (the release day first; the last value holds for any later day).
pub const MOBILE_REGRESSION_SHARES: [f64; 6] = [0.02, 0.06, 0.11, 0.17, 0.22, 0.25];

/// Share of each day's verbatims about the billing issue before it starts to decline.
pub const BILLING_PEAK_SHARE: f64 = 0.08;
/// The billing share stays at its peak until this many days before the end, then declines
/// linearly (mitigations roll out) until the day before the fix.
pub const BILLING_DECLINE_DAYS_BEFORE_END: i64 = 30;
/// The billing fix ships this many days before the end date.
pub const BILLING_FIX_DAYS_BEFORE_END: i64 = 21;
/// Billing share on the last day before the fix.
const BILLING_SHARE_BEFORE_FIX: f64 = 0.035;
/// Billing share from the fix day on: stragglers halving day by day.
const BILLING_SHARES_AFTER_FIX: [f64; 4] = [0.012, 0.006, 0.003, 0.0015];
/// Billing share once the stragglers are gone: an occasional late refund question.
const BILLING_RESIDUAL_SHARE: f64 = 0.0008;

/// The columns of the CSV file, in order.
pub const CSV_HEADER: [&str; 15] = [
    "id",
    "created_at",
    "source",
    "customer_id",
    "account_id",
    "language",
    "nps",
    "csat",
    "ces",
    "plan",
    "platform",
    "app_version",
    "topic",
    "scenario",
    "text",
];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorpusParams {
    pub seed: u64,
    /// Whole UTC days covered, ending just before `end`.
    pub days: u32,
    /// Exact number of rows.
    pub rows: usize,
    /// First day after the corpus (exclusive end, UTC midnight). Scenario dates count back from it.
    pub end: Date,
}

impl Default for CorpusParams {
    /// The parameters of the committed `corpora/saas_feedback.csv`.
    fn default() -> Self {
        CorpusParams {
            seed: DEFAULT_SEED,
            days: DEFAULT_DAYS,
            rows: DEFAULT_ROWS,
            end: DEFAULT_END,
        }
    }
}

impl CorpusParams {
    /// The first day of the corpus.
    pub fn first_day(&self) -> Date {
        self.days_before_end(i64::from(self.days))
    }

    /// The last day of the corpus (the day before `end`).
    pub fn last_day(&self) -> Date {
        self.days_before_end(1)
    }

    /// The day the mobile apps' 5.2.0 release ships.
    pub fn release_date(&self) -> Date {
        self.days_before_end(MOBILE_RELEASE_DAYS_BEFORE_END)
    }

    /// The day the billing fix ships.
    pub fn fix_date(&self) -> Date {
        self.days_before_end(BILLING_FIX_DAYS_BEFORE_END)
    }

    fn days_before_end(&self, days: i64) -> Date {
        Date::from_days_since_epoch(self.end.days_since_epoch() - days)
    }
}

/// Where a verbatim came from; names match `tideline import --source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// An NPS, CSAT or CES survey comment.
    Survey,
    /// A support ticket.
    Ticket,
    /// An App Store or Google Play review.
    Review,
    /// A live chat transcript's customer message.
    Chat,
}

impl Source {
    /// Every source, in the order the phrase tables list per-source weights.
    pub const ALL: [Source; 4] = [Source::Survey, Source::Ticket, Source::Review, Source::Chat];

    /// The service's source this corpus source stands for.
    pub fn model(self) -> crate::model::Source {
        match self {
            Source::Survey => crate::model::Source::Survey,
            Source::Ticket => crate::model::Source::Ticket,
            Source::Review => crate::model::Source::Review,
            Source::Chat => crate::model::Source::Chat,
        }
    }

    /// Its name, as `tideline import --source` takes it.
    pub fn as_str(self) -> &'static str {
        self.model().as_str()
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Prefix of the row ids of this source ("svy-000123").
    fn id_prefix(self) -> &'static str {
        match self {
            Source::Survey => "svy",
            Source::Ticket => "tkt",
            Source::Review => "rev",
            Source::Chat => "cht",
        }
    }
}

/// Which ground-truth story a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    Steady,
    MobileRegression,
    BillingFixed,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [
        Scenario::Steady,
        Scenario::MobileRegression,
        Scenario::BillingFixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::MobileRegression => "mobile_regression",
            Scenario::BillingFixed => "billing_fixed",
        }
    }
}

/// The customer's account plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    Free,
    Starter,
    Pro,
    Enterprise,
}

impl Plan {
    const PAID: [Plan; 3] = [Plan::Starter, Plan::Pro, Plan::Enterprise];

    /// The CSV value: `free`, `starter`, `pro`, `enterprise`.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// How customers write it: "Pro".
    fn display_name(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Starter => "Starter",
            Plan::Pro => "Pro",
            Plan::Enterprise => "Enterprise",
        }
    }
}

/// Where the customer used the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    Web,
    Ios,
    Android,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::Ios => "ios",
            Platform::Android => "android",
        }
    }

    pub fn is_mobile(self) -> bool {
        self != Platform::Web
    }
}

/// Survey scores: NPS 0-10, CSAT 1-5 (app-store stars for reviews), CES 1-7 (7 = very easy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scores {
    pub nps: Option<u8>,
    pub csat: Option<u8>,
    pub ces: Option<u8>,
}

/// One generated verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusRow {
    /// Unique in the corpus: source prefix and a sequence number in time order ("tkt-000042").
    pub id: String,
    /// Whole seconds, UTC.
    pub created_at: Micros,
    pub source: Source,
    /// Absent for app-store reviews, which are anonymous.
    pub customer_id: Option<String>,
    pub account_id: Option<String>,
    /// BCP-47 tag; mostly `en`.
    pub language: &'static str,
    pub scores: Scores,
    pub plan: Option<Plan>,
    pub platform: Option<Platform>,
    /// The mobile app version, for iOS and Android rows.
    pub app_version: Option<&'static str>,
    /// The subject the row was generated from (ground truth for theme evaluation).
    pub topic: &'static str,
    pub scenario: Scenario,
    pub text: String,
    /// Whether the text carries personal data (an email, a phone number or a card number).
    pub pii: bool,
}

impl CorpusRow {
    /// The row's fields in [`CSV_HEADER`] order; missing values are empty.
    pub fn csv_fields(&self) -> [String; 15] {
        let text = |value: Option<&str>| value.unwrap_or_default().to_string();
        let number = |value: Option<u8>| value.map(|v| v.to_string()).unwrap_or_default();
        [
            self.id.clone(),
            calendar::rfc3339(self.created_at.div_euclid(1_000_000)),
            self.source.as_str().to_string(),
            text(self.customer_id.as_deref()),
            text(self.account_id.as_deref()),
            self.language.to_string(),
            number(self.scores.nps),
            number(self.scores.csat),
            number(self.scores.ces),
            text(self.plan.map(Plan::as_str)),
            text(self.platform.map(Platform::as_str)),
            text(self.app_version),
            self.topic.to_string(),
            self.scenario.as_str().to_string(),
            self.text.clone(),
        ]
    }

    /// The UTC day the row was written.
    pub fn date(&self) -> Date {
        Date::from_days_since_epoch(self.created_at.div_euclid(86_400 * 1_000_000))
    }
}

/// Planned share of a day's verbatims that report the mobile regression, for the day
/// `days_before_end` days before the end (the last day of the corpus is 1).
pub fn mobile_regression_share(days_before_end: i64) -> f64 {
    let since_release = MOBILE_RELEASE_DAYS_BEFORE_END - days_before_end;
    match usize::try_from(since_release) {
        Ok(day) => MOBILE_REGRESSION_SHARES[day.min(MOBILE_REGRESSION_SHARES.len() - 1)],
        Err(_) => 0.0,
    }
}

/// Planned share of a day's verbatims about the billing issue, for the day `days_before_end`
/// days before the end: [`BILLING_PEAK_SHARE`], a linear decline over the days before the fix,
/// a short tail of stragglers after it, then almost nothing.
pub fn billing_fixed_share(days_before_end: i64) -> f64 {
    if days_before_end >= BILLING_DECLINE_DAYS_BEFORE_END {
        BILLING_PEAK_SHARE
    } else if days_before_end > BILLING_FIX_DAYS_BEFORE_END {
        // 1 on the last peak day, 0 on the day before the fix.
        let left_of_decline = (days_before_end - BILLING_FIX_DAYS_BEFORE_END - 1) as f64
            / (BILLING_DECLINE_DAYS_BEFORE_END - BILLING_FIX_DAYS_BEFORE_END - 1) as f64;
        BILLING_SHARE_BEFORE_FIX + (BILLING_PEAK_SHARE - BILLING_SHARE_BEFORE_FIX) * left_of_decline
    } else {
        let since_fix = (BILLING_FIX_DAYS_BEFORE_END - days_before_end) as usize;
        BILLING_SHARES_AFTER_FIX
            .get(since_fix)
            .copied()
            .unwrap_or(BILLING_RESIDUAL_SHARE)
    }
}

/// Generates the corpus: exactly `params.rows` rows over `params.days` days, sorted by
/// `created_at`. The same parameters always give the same rows.
pub fn generate(params: &CorpusParams) -> Vec<CorpusRow> {
    let mut rng = SplitMix64::new(params.seed);
    let population = Population::new(&mut rng, params.rows);
    let days = plan_days(&mut rng, params);
    let mut generator = Generator::new(rng, population);
    let mut rows = Vec::with_capacity(params.rows);
    for day in &days {
        for (scenario, count) in [
            (Scenario::MobileRegression, day.mobile_regression),
            (Scenario::BillingFixed, day.billing_fixed),
            (Scenario::Steady, day.steady()),
        ] {
            rows.extend((0..count).map(|_| generator.row(day, scenario)));
        }
    }
    rows.sort_by_key(|r| r.created_at);
    let mut counters = [0usize; 4];
    for row in &mut rows {
        let counter = &mut counters[row.source.index()];
        *counter += 1;
        row.id = format!("{}-{:06}", row.source.id_prefix(), counter);
    }
    rows
}

/// Writes `rows` as CSV with the [`CSV_HEADER`] header, `\n` line ends and quotes only where
/// needed.
pub fn write_csv<W: io::Write>(rows: &[CorpusRow], writer: W) -> io::Result<()> {
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(writer);
    csv.write_record(CSV_HEADER)?;
    for row in rows {
        csv.write_record(row.csv_fields())?;
    }
    csv.flush()
}

/// One day's volume by scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCounts {
    pub date: Date,
    pub total: usize,
    pub mobile_regression: usize,
    pub billing_fixed: usize,
}

/// Rows per UTC day and scenario, for every day from the first row's to the last row's.
pub fn daily_counts(rows: &[CorpusRow]) -> Vec<DayCounts> {
    let day_of = |row: &CorpusRow| row.date().days_since_epoch();
    let (Some(first), Some(last)) = (rows.iter().map(day_of).min(), rows.iter().map(day_of).max())
    else {
        return Vec::new();
    };
    let mut counts: Vec<DayCounts> = (first..=last)
        .map(|day| DayCounts {
            date: Date::from_days_since_epoch(day),
            total: 0,
            mobile_regression: 0,
            billing_fixed: 0,
        })
        .collect();
    for row in rows {
        let day = &mut counts[(day_of(row) - first) as usize];
        day.total += 1;
        match row.scenario {
            Scenario::MobileRegression => day.mobile_regression += 1,
            Scenario::BillingFixed => day.billing_fixed += 1,
            Scenario::Steady => {}
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::sync::OnceLock;

    use super::phrases::{self, Tone};
    use super::population::MobileOs;
    use super::wording::{fill, SlotContext};
    use super::*;
    use crate::text::pii::{redact, PiiKind};

    /// The default corpus, generated once for all tests.
    fn corpus() -> &'static [CorpusRow] {
        static CORPUS: OnceLock<Vec<CorpusRow>> = OnceLock::new();
        CORPUS.get_or_init(|| generate(&CorpusParams::default()))
    }

    fn share(part: usize, whole: usize) -> f64 {
        part as f64 / whole.max(1) as f64
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
        assert_eq!(
            days[days.len() - 1].date.days_since_epoch() + 1,
            params.end.days_since_epoch()
        );
        assert!(rows.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        assert!(rows.iter().all(|r| r.created_at % 1_000_000 == 0));
        let ids: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), rows.len());
        // Weekends are quieter than weekdays.
        let mean = |weekend: bool| {
            let picked: Vec<usize> = days
                .iter()
                .filter(|d| (d.date.weekday() >= 5) == weekend)
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
    fn a_small_share_of_rows_carries_pii_that_redaction_finds() {
        let rows = corpus();
        let mut kinds = HashSet::new();
        for row in rows {
            let found = redact(&row.text).found;
            assert_eq!(!found.is_empty(), row.pii, "{}", row.text);
            kinds.extend(found.into_iter().map(|(kind, _)| kind));
        }
        let pii = share(rows.iter().filter(|r| r.pii).count(), rows.len());
        assert!((0.01..0.05).contains(&pii), "{pii}");
        assert_eq!(
            kinds,
            HashSet::from([PiiKind::Email, PiiKind::Phone, PiiKind::Card])
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
    fn every_template_fills_every_slot() {
        let mut rng = SplitMix64::new(1);
        let topics = phrases::STEADY_TOPICS
            .iter()
            .chain([&phrases::MOBILE_REGRESSION, &phrases::BILLING_FIXED]);
        let sentences = phrases::DETAILS
            .iter()
            .chain(phrases::EMAIL_SENTENCES)
            .chain(phrases::PHONE_SENTENCES)
            .chain(phrases::CARD_SENTENCES);
        for os in [MobileOs::Ios, MobileOs::Android] {
            let ctx = SlotContext {
                os,
                plan: Plan::Pro,
                old_plan: Plan::Starter,
                month: "October",
            };
            let mut fills_completely = |text: &str, slots: phrases::Slots| {
                for _ in 0..20 {
                    let filled = fill(text, slots, &ctx, &mut rng);
                    assert!(!filled.contains(['{', '}']), "{filled}");
                }
            };
            for topic in topics.clone() {
                for template in topic.templates {
                    fills_completely(template.text, topic.slots);
                }
            }
            for sentence in sentences.clone() {
                fills_completely(sentence, &[]);
            }
        }
        assert!(phrases::MOBILE_REGRESSION
            .templates
            .iter()
            .all(|t| t.tone != Tone::Positive));
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
            assert!(crate::import::parse_timestamp(&record[1]).is_some());
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
}
