//! The demo-corpus generator behind `tideline gen-corpus`: a deterministic, realistic stream of
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
//! Scores are ground truth too. A steady row's NPS, CSAT and CES follow the tone of its text; a
//! row of a planted scenario scores as a customer hit by the problem does, whatever its
//! wording: every NPS answer a detractor (0-6), every CSAT answer and star rating 1 or 2, every
//! CES answer 1-3. The problems drag the scores down by design, so the impact a driver analysis
//! should find for a scenario follows from the rows themselves: the NPS of all scored rows in a
//! window minus the NPS of those outside the scenario (-14.0 points for `mobile_regression` in
//! the corpus's last week; see `corpora/README.md`).
//!
//! The same [`CorpusParams`] always give the same rows, byte for byte once written with
//! [`write_csv`]: randomness comes from the crate's own SplitMix64 seeded with
//! [`CorpusParams::seed`], and only exactly rounded arithmetic is used, so neither a new `rand`
//! nor another platform changes the committed `corpora/saas_feedback.csv`.
//!
//! The crate stands alone (it does not depend on `tideline`); dates are [`time::Date`]s.

mod calendar;
mod generator;
mod phrases;
mod population;
mod rng;
mod wording;

use std::io;

pub use time::Date;
use time::{Duration, Month};

pub use self::calendar::{parse_date, DateError};
use self::generator::{plan_days, Generator};
use self::population::Population;
use self::rng::SplitMix64;

/// A time in microseconds since the Unix epoch (UTC), as tideline counts time.
pub type Micros = i64;

/// Seed of the committed corpus.
pub const DEFAULT_SEED: u64 = 6;
/// Days covered by the committed corpus.
pub const DEFAULT_DAYS: u32 = 90;
/// Rows of the committed corpus.
pub const DEFAULT_ROWS: usize = 20_000;
/// The committed corpus ends just before this date (UTC midnight, exclusive).
pub const DEFAULT_END: Date = match Date::from_calendar_date(2026, Month::November, 1) {
    Ok(date) => date,
    Err(_) => panic!("2026-11-01 is a date"),
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
        self.end - Duration::days(days)
    }
}

/// Where a verbatim came from; names match `tideline import --source` (a subset of tideline's
/// sources).
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

    /// Its name, as `tideline import --source` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Survey => "survey",
            Source::Ticket => "ticket",
            Source::Review => "review",
            Source::Chat => "chat",
        }
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
    ///
    /// # Panics
    /// When `created_at` lies outside the years 0 to 9999 (no generated row does).
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
    ///
    /// # Panics
    /// When `created_at` lies outside the years -9999 to 9999 (no generated row does).
    pub fn date(&self) -> Date {
        calendar::utc_date(self.created_at.div_euclid(1_000_000))
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
    let (Some(first), Some(last)) = (
        rows.iter().map(CorpusRow::date).min(),
        rows.iter().map(CorpusRow::date).max(),
    ) else {
        return Vec::new();
    };
    let day_index = |date: Date| (date - first).whole_days() as usize;
    let mut counts: Vec<DayCounts> = (0..=day_index(last))
        .map(|i| DayCounts {
            date: first + Duration::days(i as i64),
            total: 0,
            mobile_regression: 0,
            billing_fixed: 0,
        })
        .collect();
    for row in rows {
        let day = &mut counts[day_index(row.date())];
        day.total += 1;
        match row.scenario {
            Scenario::MobileRegression => day.mobile_regression += 1,
            Scenario::BillingFixed => day.billing_fixed += 1,
            Scenario::Steady => {}
        }
    }
    counts
}

/// What `tideline gen-corpus` prints after writing `bytes` bytes to `out`: the span, the
/// scenario dates, and the rows per day and scenario.
pub fn summary(
    params: &CorpusParams,
    rows: &[CorpusRow],
    out: &std::path::Path,
    bytes: u64,
) -> String {
    use std::fmt::Write;
    let mut text = format!(
        "wrote {} rows ({bytes} bytes) to {}, {} to {} (mobile release {}, billing fix {})\n",
        rows.len(),
        out.display(),
        params.first_day(),
        params.last_day(),
        params.release_date(),
        params.fix_date()
    );
    text.push_str("date        rows  mobile_regression  billing_fixed\n");
    for day in daily_counts(rows) {
        let _ = writeln!(
            text,
            "{}  {:>4}  {:>17}  {:>13}",
            day.date, day.total, day.mobile_regression, day.billing_fixed
        );
    }
    text
}
