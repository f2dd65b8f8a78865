//! Row generation: which days get how many rows, and for each row its topic, source,
//! customer, platform, app version, time, text and scores.

use time::{Date, Duration};

use super::calendar::{unix_midnight, weekday_index};
use super::phrases::{self, Surface, Tone, Topic};
use super::population::{MobileOs, Population};
use super::rng::SplitMix64;
use super::wording::{compose, PiiKind, SlotContext};
use super::{
    billing_fixed_share, mobile_regression_share, CorpusParams, CorpusRow, Micros, Plan, Platform,
    Scenario, Scores, Source,
};

/// Relative volume by weekday, Monday first.
const WEEKDAY_VOLUME: [f64; 7] = [1.12, 1.08, 1.04, 1.0, 0.92, 0.5, 0.45];
/// Relative growth of the volume from the first to the last day.
const GROWTH: f64 = 0.1;
/// Relative standard deviation of the daily volume.
const DAILY_NOISE: f64 = 0.1;
/// Source mix of steady rows on weekdays and at weekends, in [`Source::ALL`] order.
const SOURCE_MIX_WEEKDAY: [f64; 4] = [0.40, 0.26, 0.14, 0.20];
const SOURCE_MIX_WEEKEND: [f64; 4] = [0.45, 0.14, 0.30, 0.11];
/// Relative volume by UTC hour for tickets and chats (European and American office hours).
const OFFICE_HOURS: [f64; 24] = [
    1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 4.0, 7.0, 9.0, 10.0, 10.0, 10.0, 11.0, 12.0, 12.0, 12.0,
    11.0, 9.0, 7.0, 5.0, 3.0, 2.0, 1.0,
];
/// Relative volume by UTC hour for surveys and reviews (answered whenever people have time).
const WAKING_HOURS: [f64; 24] = [
    3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 7.0, 7.0, 8.0, 9.0, 9.0, 9.0, 9.0, 9.0,
    9.0, 8.0, 7.0, 5.0, 4.0,
];
/// Share of steady rows written in another language, where a translation of the topic exists.
const FOREIGN_SHARE: f64 = 0.01;
/// Survey kinds: relationship NPS, transactional CSAT (half of them with CES), CES.
const SURVEY_KINDS: [f64; 3] = [0.55, 0.3, 0.15];
/// Share of ticket and chat rows that carry a post-resolution CSAT answer.
const POST_RESOLUTION_CSAT: f64 = 0.35;

/// Score distributions by tone (positive, neutral, negative, mixed): the weight of each value
/// from the scale's minimum up.
const NPS_BY_TONE: [[f64; 11]; 4] = [
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 4.0, 10.0, 12.0],
    [0.0, 0.0, 1.0, 1.0, 2.0, 4.0, 6.0, 8.0, 7.0, 3.0, 1.0],
    [6.0, 5.0, 6.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0, 0.0],
    [0.0, 1.0, 1.0, 2.0, 3.0, 5.0, 7.0, 8.0, 5.0, 2.0, 1.0],
];
const CSAT_BY_TONE: [[f64; 5]; 4] = [
    [0.0, 0.0, 1.0, 6.0, 12.0],
    [1.0, 2.0, 6.0, 8.0, 3.0],
    [10.0, 6.0, 3.0, 1.0, 0.0],
    [1.0, 4.0, 8.0, 5.0, 1.0],
];
/// App-store stars are more extreme than survey answers.
const STARS_BY_TONE: [[f64; 5]; 4] = [
    [0.0, 0.0, 0.0, 3.0, 14.0],
    [1.0, 2.0, 6.0, 6.0, 3.0],
    [14.0, 4.0, 2.0, 0.0, 0.0],
    [2.0, 5.0, 8.0, 3.0, 0.0],
];
/// CES: 7 is "very easy".
const CES_BY_TONE: [[f64; 7]; 4] = [
    [0.0, 0.0, 0.0, 1.0, 3.0, 8.0, 10.0],
    [0.0, 1.0, 3.0, 6.0, 6.0, 3.0, 1.0],
    [6.0, 6.0, 5.0, 3.0, 1.0, 0.0, 0.0],
    [1.0, 2.0, 4.0, 6.0, 4.0, 2.0, 0.0],
];
/// Scores of customers hit by a planted problem, whatever the wording of their text (even a
/// "great product, but ..." or a polite question): the negative tone's weights cut to the
/// bottom band of each scale, so every NPS answer is a detractor (0-6), every CSAT answer and
/// star rating a 1 or 2, every CES answer 1-3. The planted problems are what drags the scores
/// down, by design. Each draw takes one random number, as a draw by tone does, so which
/// table is used changes no other row.
const NPS_HIT: [f64; 11] = [6.0, 5.0, 6.0, 6.0, 5.0, 4.0, 3.0, 0.0, 0.0, 0.0, 0.0];
const CSAT_HIT: [f64; 5] = [10.0, 6.0, 0.0, 0.0, 0.0];
const STARS_HIT: [f64; 5] = [14.0, 4.0, 0.0, 0.0, 0.0];
const CES_HIT: [f64; 7] = [6.0, 6.0, 5.0, 0.0, 0.0, 0.0, 0.0];

/// One day of the corpus and how many rows each scenario gets.
#[derive(Debug, Clone, Copy)]
pub(super) struct DayPlan {
    pub(super) date: Date,
    /// 1 for the last day of the corpus.
    pub(super) days_before_end: i64,
    pub(super) rows: usize,
    pub(super) mobile_regression: usize,
    pub(super) billing_fixed: usize,
}

impl DayPlan {
    pub(super) fn steady(&self) -> usize {
        self.rows - self.mobile_regression - self.billing_fixed
    }
}

/// Splits the rows over the days: weekday seasonality, a slight growth, day-to-day noise, and
/// scenario rows on top of the steady volume (an incident brings extra contacts).
pub(super) fn plan_days(rng: &mut SplitMix64, params: &CorpusParams) -> Vec<DayPlan> {
    let days = i64::from(params.days);
    let dates: Vec<Date> = (0..days)
        .map(|i| params.end - Duration::days(days - i))
        .collect();
    let scenario_share = |days_before_end: i64| {
        mobile_regression_share(days_before_end) + billing_fixed_share(days_before_end)
    };
    let weights: Vec<f64> = dates
        .iter()
        .enumerate()
        .map(|(i, date)| {
            let growth = 1.0 + GROWTH * i as f64 / days as f64;
            let noise = (1.0 + DAILY_NOISE * rng.noise()).max(0.5);
            let steady = WEEKDAY_VOLUME[weekday_index(*date)] * growth * noise;
            steady / (1.0 - scenario_share(days - i as i64))
        })
        .collect();
    apportion(params.rows, &weights)
        .into_iter()
        .zip(dates)
        .enumerate()
        .map(|(i, (rows, date))| {
            let days_before_end = days - i as i64;
            let mobile_regression =
                stochastic_round(rng, mobile_regression_share(days_before_end) * rows as f64)
                    .min(rows);
            let billing_fixed =
                stochastic_round(rng, billing_fixed_share(days_before_end) * rows as f64)
                    .min(rows - mobile_regression);
            DayPlan {
                date,
                days_before_end,
                rows,
                mobile_regression,
                billing_fixed,
            }
        })
        .collect()
}

/// Splits `total` into integer parts proportional to `weights` (largest remainder method).
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let quotas: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut parts: Vec<usize> = quotas.iter().map(|q| *q as usize).collect();
    let remainder = |i: usize, parts: &[usize]| quotas[i] - parts[i] as f64;
    let mut by_remainder: Vec<usize> = (0..weights.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        remainder(b, &parts)
            .total_cmp(&remainder(a, &parts))
            .then(a.cmp(&b))
    });
    let missing = total.saturating_sub(parts.iter().sum());
    for &i in by_remainder.iter().cycle().take(missing) {
        parts[i] += 1;
    }
    parts
}

/// `x` rounded down or up at random, up with probability equal to its fractional part.
fn stochastic_round(rng: &mut SplitMix64, x: f64) -> usize {
    let floor = x as usize;
    floor + usize::from(rng.chance(x - floor as f64))
}

/// Makes rows for the days of a [`DayPlan`].
pub(super) struct Generator {
    rng: SplitMix64,
    population: Population,
    /// Steady topic weights for each source, in [`Source::ALL`] order.
    steady_weights: [Vec<f64>; 4],
}

impl Generator {
    pub(super) fn new(rng: SplitMix64, population: Population) -> Generator {
        let steady_weights = Source::ALL.map(|source| {
            phrases::STEADY_TOPICS
                .iter()
                .map(|t| t.weight * t.sources[source.index()])
                .collect()
        });
        Generator {
            rng,
            population,
            steady_weights,
        }
    }

    /// One row of `scenario` on `day`; its id is left empty.
    pub(super) fn row(&mut self, day: &DayPlan, scenario: Scenario) -> CorpusRow {
        let (topic, source) = self.topic_and_source(day, scenario);
        // App-store reviews are anonymous.
        let customer = (source != Source::Review)
            .then(|| self.population.pick(&mut self.rng, topic.paying_only));
        let account = customer.map(|c| self.population.account_of(c));
        let os = match customer {
            Some(c) => c.phone,
            None => MobileOs::random(&mut self.rng),
        };
        let customer_id = customer.map(|c| c.id.clone());
        let account_id = account.map(|a| a.id.clone());
        let plan = account.map(|a| a.plan);
        let platform = self.platform(topic.surface, source, os);
        let app_version = platform.filter(|p| p.is_mobile()).map(|_| {
            if scenario == Scenario::MobileRegression {
                latest_app_version()
            } else {
                self.app_version(day.days_before_end)
            }
        });
        let created_at = self.created_at(day.date, source);
        let ctx = self.slot_context(os, plan, day.date);
        let (language, tone, text, pii) = self.text(topic, scenario, source, &ctx);
        let scores = self.scores(source, tone, scenario);
        CorpusRow {
            id: String::new(),
            created_at,
            source,
            customer_id,
            account_id,
            language,
            scores,
            plan,
            platform,
            app_version,
            topic: topic.id,
            scenario,
            text,
            pii,
        }
    }

    /// Scenario rows come from their topic through its likely sources; steady rows pick the
    /// source by the day's mix, then a topic by its weight for that source.
    fn topic_and_source(&mut self, day: &DayPlan, scenario: Scenario) -> (&'static Topic, Source) {
        let topic: &'static Topic = match scenario {
            Scenario::MobileRegression => &phrases::MOBILE_REGRESSION,
            Scenario::BillingFixed => &phrases::BILLING_FIXED,
            Scenario::Steady => {
                let weekend = weekday_index(day.date) >= 5;
                let mix = if weekend {
                    &SOURCE_MIX_WEEKEND
                } else {
                    &SOURCE_MIX_WEEKDAY
                };
                let source = Source::ALL[self.rng.weighted(mix)];
                let topic = self.rng.weighted(&self.steady_weights[source.index()]);
                return (&phrases::STEADY_TOPICS[topic], source);
            }
        };
        (topic, Source::ALL[self.rng.weighted(&topic.sources)])
    }

    /// Where the customer wrote from: the phone for mobile topics and reviews, the web app for
    /// web topics, otherwise a mix by source (tickets by email often do not say).
    fn platform(&mut self, surface: Surface, source: Source, os: MobileOs) -> Option<Platform> {
        let (web, phone) = (Some(Platform::Web), Some(os.platform()));
        // Likelihoods of web, phone, unknown.
        let mix = match (surface, source) {
            (Surface::Mobile, _) | (_, Source::Review) => return phone,
            (Surface::Web, Source::Ticket) => [0.5, 0.0, 0.5],
            (Surface::Web, _) => return web,
            (Surface::Any, Source::Survey) => [0.6, 0.25, 0.15],
            (Surface::Any, Source::Ticket) => [0.35, 0.1, 0.55],
            (Surface::Any, Source::Chat) => [0.75, 0.25, 0.0],
        };
        [web, phone, None][self.rng.weighted(&mix)]
    }

    /// The app version a mobile user has on a day: the newest release once they have adopted
    /// it (adoption grows day by day), the one before otherwise.
    fn app_version(&mut self, days_before_end: i64) -> &'static str {
        let releases = phrases::APP_RELEASES;
        let current = releases
            .iter()
            .rposition(|(shipped, _)| *shipped >= days_before_end)
            .unwrap_or(0);
        let days_out = releases[current].0.saturating_sub(days_before_end);
        let adoption = (0.3 + 0.12 * days_out as f64).min(0.92);
        if current == 0 || self.rng.chance(adoption) {
            releases[current].1
        } else {
            releases[current - 1].1
        }
    }

    fn created_at(&mut self, date: Date, source: Source) -> Micros {
        let hours = match source {
            Source::Ticket | Source::Chat => &OFFICE_HOURS,
            Source::Survey | Source::Review => &WAKING_HOURS,
        };
        let hour = self.rng.weighted(hours) as i64;
        let second_of_hour = self.rng.below(3600) as i64;
        (unix_midnight(date) + hour * 3600 + second_of_hour) * 1_000_000
    }

    fn slot_context(&mut self, os: MobileOs, plan: Option<Plan>, date: Date) -> SlotContext {
        let plan = plan.unwrap_or_else(|| self.rng.pick(&Plan::PAID));
        let other_plans: Vec<Plan> = Plan::PAID.into_iter().filter(|p| *p != plan).collect();
        SlotContext {
            os,
            plan,
            old_plan: self.rng.pick(&other_plans),
            month: date.month(),
        }
    }

    /// The row's language, tone, text and whether the text carries personal data.
    fn text(
        &mut self,
        topic: &Topic,
        scenario: Scenario,
        source: Source,
        ctx: &SlotContext,
    ) -> (&'static str, Tone, String, bool) {
        if scenario == Scenario::Steady && self.rng.chance(FOREIGN_SHARE) {
            let translations: Vec<&phrases::Foreign> = phrases::FOREIGN
                .iter()
                .filter(|f| f.topic == topic.id)
                .collect();
            if !translations.is_empty() {
                let foreign = self.rng.pick(&translations);
                return (
                    foreign.language,
                    foreign.tone,
                    foreign.text.to_string(),
                    false,
                );
            }
        }
        let template = self.rng.pick(topic.templates);
        let pii = self.pii_kind(source, topic);
        let text = compose(&mut self.rng, &template, topic.slots, source, ctx, pii);
        ("en", template.tone, text, pii.is_some())
    }

    /// Personal data in a small share of rows, mostly tickets and chats; card numbers only
    /// where money is the subject.
    fn pii_kind(&mut self, source: Source, topic: &Topic) -> Option<PiiKind> {
        let rate = match source {
            Source::Ticket => 0.06,
            Source::Chat => 0.04,
            Source::Survey => 0.01,
            Source::Review => 0.005,
        };
        if !self.rng.chance(rate) {
            return None;
        }
        let kinds: &[PiiKind] = if topic.paying_only {
            &[PiiKind::Email, PiiKind::Phone, PiiKind::Card]
        } else {
            &[PiiKind::Email, PiiKind::Phone]
        };
        Some(self.rng.pick(kinds))
    }

    /// Scores where the source has them: surveys answer NPS, CSAT and/or CES, reviews give
    /// stars (as CSAT), tickets and chats sometimes a post-resolution CSAT. Steady rows score
    /// by the tone of their text; rows of a planted problem score as customers hit by it do
    /// (the bottom band of every scale, see [`NPS_HIT`]).
    fn scores(&mut self, source: Source, tone: Tone, scenario: Scenario) -> Scores {
        let tone = tone_index(tone);
        let hit = scenario != Scenario::Steady;
        let (nps, csat, stars, ces): (&[f64], &[f64], &[f64], &[f64]) = if hit {
            (&NPS_HIT, &CSAT_HIT, &STARS_HIT, &CES_HIT)
        } else {
            (
                &NPS_BY_TONE[tone],
                &CSAT_BY_TONE[tone],
                &STARS_BY_TONE[tone],
                &CES_BY_TONE[tone],
            )
        };
        let rng = &mut self.rng;
        let mut scores = Scores::default();
        match source {
            Source::Survey => match rng.weighted(&SURVEY_KINDS) {
                0 => scores.nps = Some(draw(rng, nps, 0)),
                1 => {
                    scores.csat = Some(draw(rng, csat, 1));
                    if rng.chance(0.5) {
                        scores.ces = Some(draw(rng, ces, 1));
                    }
                }
                _ => scores.ces = Some(draw(rng, ces, 1)),
            },
            Source::Review => scores.csat = Some(draw(rng, stars, 1)),
            Source::Ticket | Source::Chat => {
                if rng.chance(POST_RESOLUTION_CSAT) {
                    scores.csat = Some(draw(rng, csat, 1));
                }
            }
        }
        scores
    }
}

fn tone_index(tone: Tone) -> usize {
    match tone {
        Tone::Positive => 0,
        Tone::Neutral => 1,
        Tone::Negative => 2,
        Tone::Mixed => 3,
    }
}

/// A score from `weights`, the weight of each value from `min` up.
fn draw(rng: &mut SplitMix64, weights: &[f64], min: u8) -> u8 {
    min + rng.weighted(weights) as u8
}

/// The release that brings the mobile regression.
fn latest_app_version() -> &'static str {
    phrases::APP_RELEASES[phrases::APP_RELEASES.len() - 1].1
}
