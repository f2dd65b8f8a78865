//! The customers behind the feedback: accounts with plans, and their customers with phones.
//! Account sizes and customer activity are skewed (a few large accounts, a few very vocal
//! customers), and the largest accounts are on the bigger plans.

use super::rng::{SplitMix64, WeightedIndex};
use super::{Plan, Platform};

/// The operating system of a customer's phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MobileOs {
    Ios,
    Android,
}

impl MobileOs {
    /// Index into the per-OS phrase tables (iOS first).
    pub(super) fn index(self) -> usize {
        match self {
            MobileOs::Ios => 0,
            MobileOs::Android => 1,
        }
    }

    pub(super) fn platform(self) -> Platform {
        match self {
            MobileOs::Ios => Platform::Ios,
            MobileOs::Android => Platform::Android,
        }
    }

    /// How customers write it: "iOS".
    pub(super) fn name(self) -> &'static str {
        match self {
            MobileOs::Ios => "iOS",
            MobileOs::Android => "Android",
        }
    }

    /// iOS a little more often than Android, as in B2B SaaS audiences.
    pub(super) fn random(rng: &mut SplitMix64) -> MobileOs {
        if rng.chance(0.55) {
            MobileOs::Ios
        } else {
            MobileOs::Android
        }
    }
}

pub(super) struct Account {
    pub(super) id: String,
    pub(super) plan: Plan,
}

pub(super) struct Customer {
    pub(super) id: String,
    account: usize,
    pub(super) phone: MobileOs,
}

pub(super) struct Population {
    accounts: Vec<Account>,
    customers: Vec<Customer>,
    /// Customer picks weighted by activity.
    anyone: WeightedIndex,
    /// The same, among customers on a paid plan.
    paying: WeightedIndex,
}

/// Rows per account and per customer, on average.
const ROWS_PER_ACCOUNT: usize = 20;
const ROWS_PER_CUSTOMER: usize = 4;

impl Population {
    /// A population sized for a corpus of `rows` rows.
    pub(super) fn new(rng: &mut SplitMix64, rows: usize) -> Population {
        let account_count = (rows / ROWS_PER_ACCOUNT).max(1);
        let customer_count = (rows / ROWS_PER_CUSTOMER).max(1);
        // Ids are shuffled so that size and id are unrelated.
        let mut account_numbers: Vec<usize> = (1..=account_count).collect();
        rng.shuffle(&mut account_numbers);
        let accounts: Vec<Account> = account_numbers
            .iter()
            .enumerate()
            .map(|(size_rank, number)| Account {
                id: format!("ACC-{number:04}"),
                plan: plan_by_size_rank(size_rank as f64 / account_count as f64),
            })
            .collect();
        let account_sizes =
            WeightedIndex::new((0..account_count).map(|rank| 1.0 / (rank as f64 + 30.0)));
        let mut customer_numbers: Vec<usize> = (1..=customer_count).collect();
        rng.shuffle(&mut customer_numbers);
        let customers: Vec<Customer> = customer_numbers
            .iter()
            .map(|number| Customer {
                id: format!("CUS-{number:05}"),
                account: account_sizes.sample(rng),
                phone: MobileOs::random(rng),
            })
            .collect();
        let activity = |rank: usize| 1.0 / (rank as f64 + 30.0);
        let anyone = WeightedIndex::new((0..customer_count).map(activity));
        let paying = WeightedIndex::new(customers.iter().enumerate().map(|(rank, c)| {
            if accounts[c.account].plan == Plan::Free {
                0.0
            } else {
                activity(rank)
            }
        }));
        Population {
            accounts,
            customers,
            anyone,
            paying,
        }
    }

    /// A customer, more likely a vocal one; only paying customers when `paying_only`.
    pub(super) fn pick(&self, rng: &mut SplitMix64, paying_only: bool) -> &Customer {
        let index = if paying_only {
            &self.paying
        } else {
            &self.anyone
        };
        &self.customers[index.sample(rng)]
    }

    pub(super) fn account_of(&self, customer: &Customer) -> &Account {
        &self.accounts[customer.account]
    }
}

/// The plan of an account by its size rank (0 = the largest, towards 1 = the smallest).
fn plan_by_size_rank(rank: f64) -> Plan {
    match rank {
        r if r < 0.03 => Plan::Enterprise,
        r if r < 0.25 => Plan::Pro,
        r if r < 0.6 => Plan::Starter,
        _ => Plan::Free,
    }
}
