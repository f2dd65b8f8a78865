//! The corpus generator's phrase tables: topics with their templates, slot values, openers,
//! closers, emoji and PII snippets.
//!
//! A template is a sentence with `{slot}` placeholders. A slot takes one of the values its topic
//! lists ([`Topic::slots`]) or, failing that, the shared [`SLOTS`] list; values may hold slots
//! themselves. The remaining slots (`{mobile_app}`, `{device}`, `{plan}`, `{month}`, ...) depend
//! on the row and are filled by the generator. Wording is chosen so that the default taxonomy
//! (`taxonomy/default.toml`) recognises the product areas, journey stages and drivers each topic is
//! about, and the scenario topics use vocabulary of their own so that they form their own themes.

/// The feeling a template expresses; it drives the scores that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    Positive,
    Neutral,
    Negative,
    /// Praise and complaint at once ("great app, but ...").
    Mixed,
}

/// One sentence pattern and its tone.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub tone: Tone,
    pub text: &'static str,
}

const fn pos(text: &'static str) -> Template {
    Template {
        tone: Tone::Positive,
        text,
    }
}

const fn neu(text: &'static str) -> Template {
    Template {
        tone: Tone::Neutral,
        text,
    }
}

const fn neg(text: &'static str) -> Template {
    Template {
        tone: Tone::Negative,
        text,
    }
}

const fn mix(text: &'static str) -> Template {
    Template {
        tone: Tone::Mixed,
        text,
    }
}

/// Where in the product a topic happens, which decides the `platform` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The web application (never in app-store reviews).
    Web,
    /// The iOS and Android apps.
    Mobile,
    /// Anywhere.
    Any,
}

/// Slots and their values: a value may itself contain `{slot}`s.
pub type Slots = &'static [(&'static str, &'static [&'static str])];

/// A subject customers write about, with its wording.
#[derive(Debug, Clone, Copy)]
pub struct Topic {
    /// Written to the `topic` column.
    pub id: &'static str,
    /// Relative share among steady topics (unused for scenario topics).
    pub weight: f64,
    pub surface: Surface,
    /// Relative likelihood per source, in `Source::ALL` order: survey, ticket, review, chat.
    pub sources: [f64; 4],
    /// Only customers on a paid plan write about it (billing needs a bill).
    pub paying_only: bool,
    pub templates: &'static [Template],
    /// Slots only this topic's templates use; they take precedence over [`SLOTS`].
    pub slots: Slots,
}

/// The `mobile_regression` scenario: since the 5.2 release the apps crash, freeze and lag.
///
/// The wording varies in phrasing, platform and symptom but always names the app, a crash and
/// the update, so that the reports gather into one theme. The relationship survey reaches
/// mobile users as it reaches everyone else, so surveys are as large a part of the reports as of
/// the steady volume (45%): enough NPS answers in the release week for the regression to be
/// ranked as a driver of NPS (every one a detractor, see the generator's scores).
pub static MOBILE_REGRESSION: Topic = Topic {
    id: "mobile_regression",
    weight: 0.0,
    surface: Surface::Mobile,
    sources: [0.45, 0.2, 0.2, 0.15],
    paying_only: false,
    templates: &[
        neg("The {os} app crashes on launch since the 5.2 update"),
        neg("The {os} app keeps crashing when I open reports since the latest update"),
        neg("Since the 5.2 update the {os} app freezes when I open reports, then it crashes"),
        neg("The {os} app is so slow since the update and crashes when I open a report"),
        neg("The app crashes on launch since the latest update on my {device}"),
        neg("After the 5.2 update the {os} app crashes on startup every time"),
        neg("The {os} app freezes on the loading screen since the update and then crashes"),
        neg("Since updating to 5.2 the {os} app crashes as soon as I open a report"),
        mix("Great product but the {os} app keeps crashing since the latest update"),
        neg("The {os} app crashes constantly since the 5.2 update, please fix it"),
        neg("App crashes on launch after the 5.2 update on {os_version}"),
        neg("Since the latest update the {os} app is slow, freezes and crashes"),
    ],
    slots: &[],
};

/// The `billing_fixed` scenario: customers charged twice, and wrong invoices, after a plan
/// change.
pub static BILLING_FIXED: Topic = Topic {
    id: "billing_fixed",
    weight: 0.0,
    surface: Surface::Any,
    sources: [0.2, 0.45, 0.05, 0.3],
    paying_only: true,
    templates: &[
        neg("I was charged twice for our {month} subscription, please refund the duplicate charge"),
        neg("We were charged twice on our latest invoice after the plan change"),
        neg("The invoice shows the wrong amount after our plan change from {old_plan} to {plan}"),
        neg("After the plan change to {plan} we were charged twice, once for the old plan and once for the new one"),
        neg("Our invoice still shows the old price after the plan change, we were overcharged {amount}"),
        neg("Duplicate charge after our plan change, please refund it asap"),
        neg("Why was I charged twice? We only have one {plan} subscription"),
        neg("Charged twice again after the plan change and the refund is still not here"),
        neg("Invoice {invoice_no} shows the wrong amount after our plan change, we were charged {amount} twice"),
        mix("The product is good but billing is a mess, we were charged twice in {month}"),
        neg("I think you charged my card twice today after I changed our plan, can you check?"),
        neu("Can you explain invoice {invoice_no}? The amount looks wrong since our plan change"),
    ],
    slots: &[],
};

/// Everything customers talk about in ordinary weeks, with stable shares.
pub const STEADY_TOPICS: &[Topic] = &[
    Topic {
        id: "login_sso",
        weight: 9.0,
        surface: Surface::Any,
        sources: [0.6, 1.5, 0.5, 1.3],
        paying_only: false,
        templates: &[
            neg("I can't log in, {sso_failure} {when}"),
            neg("{sso_failure} {when}, {idp} says the SAML response is invalid"),
            neg("The password reset email {reset_problem}"),
            neg("{second_factor} {when}, I'm locked out of my account"),
            neg("It keeps logging me out {logout_when} and I have to sign in again"),
            neu("{login_question}"),
            pos("{login_praise}"),
            mix("The product is great but {sso_failure} {when}"),
        ],
        slots: &[
            (
                "sso_failure",
                &[
                    "SSO login fails",
                    "single sign on stopped working",
                    "signing in with {idp} fails",
                    "the SSO redirect loops back to the login page",
                    "our team can't sign in through {idp}",
                ],
            ),
            (
                "when",
                &[
                    "since this morning",
                    "since yesterday",
                    "for the whole team",
                    "again today",
                    "every Monday",
                    "after the password change",
                ],
            ),
            (
                "reset_problem",
                &[
                    "never arrives",
                    "takes an hour to arrive",
                    "lands in spam",
                    "has an expired link when it arrives",
                ],
            ),
            (
                "second_factor",
                &[
                    "2FA code not working",
                    "The 2FA code is always rejected",
                    "My two factor code never arrives",
                    "MFA keeps failing",
                ],
            ),
            (
                "logout_when",
                &[
                    "every few minutes",
                    "whenever I switch tabs",
                    "after every meeting",
                    "several times a day",
                ],
            ),
            (
                "login_question",
                &[
                    "How do I reset my password if I no longer have access to my old email?",
                    "Is there a way to enforce 2FA for everyone in our workspace?",
                    "Does single sign on with {idp} work on the {plan} plan?",
                    "Can admins see who logged in last?",
                    "How do I change my login email?",
                ],
            ),
            (
                "login_praise",
                &[
                    "SSO with {idp} took five minutes to configure, very smooth",
                    "Love that login with {idp} just works now",
                    "Signing in with {idp} is seamless",
                    "The new login page is fast and simple",
                ],
            ),
        ],
    },
    Topic {
        id: "dashboard_performance",
        weight: 8.0,
        surface: Surface::Web,
        sources: [1.0, 1.2, 0.0, 1.0],
        paying_only: false,
        templates: &[
            neg("{page} {slowness} {when}"),
            neg("{page} {slowness}, sometimes over {secs} seconds"),
            neg("Charts on the dashboard keep spinning and then time out {when}"),
            neg("{page} has become really slow, our team complains daily"),
            mix("Great insights but {page} {slowness} and people stop using it"),
            neu("Is there a way to make the dashboard load faster {when}?"),
            neg("Dashboard widgets time out when we select more than {seats} users"),
            pos("The dashboard feels much faster lately, thanks for fixing the performance"),
        ],
        slots: &[
            (
                "page",
                &[
                    "the dashboard",
                    "our main dashboard",
                    "the reports page",
                    "the overview page",
                    "the dashboard home page",
                    "every dashboard with more than a few charts",
                ],
            ),
            (
                "slowness",
                &[
                    "takes forever to load",
                    "is painfully slow",
                    "keeps timing out",
                    "takes ages to load",
                    "loads so slowly",
                    "is sluggish",
                    "hangs for a while",
                ],
            ),
            (
                "when",
                &[
                    "when I pick {range}",
                    "in Chrome",
                    "since last week",
                    "every morning",
                    "with {range} of data",
                    "for our whole team",
                    "when I change a filter",
                ],
            ),
        ],
    },
    Topic {
        id: "export_requests",
        weight: 7.0,
        surface: Surface::Any,
        sources: [1.3, 0.8, 0.4, 0.8],
        paying_only: false,
        templates: &[
            neu("{export_wish}"),
            neu("Would love scheduled reports sent by email every {cadence}"),
            neu("It would be nice to export the dashboard as a PDF report for {audience}"),
            neg("Still no way to export {data} to {export_format}? We need this for {team}"),
            neu("How do I export a report with all the columns, not just the visible ones?"),
            mix("Love the charts, but exporting {data} to {export_format} is clunky"),
            pos("The new {export_format} export saved me hours of copying numbers"),
        ],
        slots: &[
            (
                "export_wish",
                &[
                    "Please add export to {export_format} for {data}",
                    "Would love to export {data} to {export_format}",
                    "We really need an export of {data} to {export_format}",
                    "Can you add an option to export {data} to {export_format}?",
                    "We need an export to our data warehouse, a daily CSV dump would do",
                ],
            ),
            (
                "data",
                &[
                    "custom reports",
                    "the dashboard",
                    "filtered results",
                    "raw data",
                    "charts",
                    "the audit log",
                    "scheduled reports",
                ],
            ),
            (
                "cadence",
                &["Monday", "Friday afternoon", "morning", "month end"],
            ),
            (
                "audience",
                &[
                    "our board meetings",
                    "the weekly standup",
                    "the monthly review",
                    "our clients",
                ],
            ),
        ],
    },
    Topic {
        id: "integration_requests",
        weight: 7.0,
        surface: Surface::Any,
        sources: [1.0, 1.0, 0.4, 0.9],
        paying_only: false,
        templates: &[
            neu("{integration_wish}"),
            neg("The {integration} integration {sync_problem}"),
            neu("Does the {integration} integration support {integration_feature}?"),
            pos("The {integration} integration is {praise}, it saves us so much time"),
            mix("Good tool overall but the {integration} integration feels half finished"),
        ],
        slots: &[
            (
                "integration_wish",
                &[
                    "Would be great if it integrated with {integration}",
                    "Please add a two way sync with {integration}, we copy data by hand today",
                    "We'd love a native integration with {integration} instead of going through Zapier",
                    "Any plans for a {integration} integration?",
                    "A proper {integration} integration would save us hours",
                ],
            ),
            (
                "sync_problem",
                &[
                    "stopped syncing two days ago",
                    "keeps failing with an error",
                    "duplicates contacts after every sync",
                    "drops records without any warning",
                    "disconnects every week and has to be reconnected",
                ],
            ),
            (
                "integration_feature",
                &[
                    "custom fields",
                    "two way sync",
                    "historical data",
                    "multiple workspaces",
                ],
            ),
            (
                "praise",
                &["fantastic", "great", "really solid", "a lifesaver"],
            ),
        ],
    },
    Topic {
        id: "support_praise",
        weight: 9.0,
        surface: Surface::Any,
        sources: [1.4, 0.9, 0.4, 1.2],
        paying_only: false,
        templates: &[
            pos("{agent} from support was {kind} and sorted out {help_subject} {fast}"),
            pos("Really quick response from the support team, {help_subject} was fixed {fast}"),
            pos("Customer support is excellent, {agent} walked me through {help_subject} step by step"),
            pos("Thank you {agent}, you were {kind} with {help_subject}"),
            pos("Support is the best part of this product, {agent} was {kind} with {help_subject}"),
            mix("The product has its quirks, but the support team always gets back to me {fast}"),
            pos("{agent} went above and beyond to help us with {help_subject}"),
            pos("Chat support solved my problem with {help_subject} {fast}, impressed"),
        ],
        slots: &[
            (
                "kind",
                &[
                    "so helpful",
                    "super helpful",
                    "really patient",
                    "very knowledgeable",
                    "incredibly friendly",
                    "quick and professional",
                ],
            ),
            (
                "fast",
                &[
                    "in minutes",
                    "the same day",
                    "within an hour",
                    "on the first call",
                    "in one chat",
                ],
            ),
        ],
    },
    Topic {
        id: "support_delays",
        weight: 5.0,
        surface: Surface::Any,
        sources: [0.8, 1.5, 0.3, 1.0],
        paying_only: false,
        templates: &[
            neg("Still waiting for a reply on my ticket about {help_subject}, it's been {days} days"),
            neg("I was on hold for {minutes} minutes about {help_subject} and then the call dropped"),
            neg("Opened three tickets about {help_subject} and nobody has replied"),
            neg("The chatbot keeps sending me to help articles that don't answer my question about {help_subject}"),
            neg("Support closed my ticket about {help_subject} without fixing anything"),
            neg("Slow response from support, {days} days for a simple question about {help_subject}"),
            neg("Every time I contact support about {help_subject} I get a canned response"),
            mix("The agent was friendly but {help_subject} is still not fixed after {days} days"),
        ],
        slots: &[],
    },
    Topic {
        id: "onboarding",
        weight: 7.0,
        surface: Surface::Any,
        sources: [1.2, 1.0, 0.3, 1.0],
        paying_only: false,
        templates: &[
            neg("{setup_step} {setup_problem}"),
            neg("The getting started guide is outdated, the screenshots don't match the dashboard"),
            neu("How do I invite my team? I can't find the invite button in the admin panel"),
            mix("The product tour was nice but it skipped {setup_step}"),
            neu("We just started using it, is there a tutorial for {setup_step}?"),
            pos("Onboarding was smooth, our implementation manager {agent} helped with {setup_step}"),
            neg("The learning curve is steep, the first week with the report builder was frustrating"),
            neu("Is there a training session for new users on the {plan} plan?"),
            pos("Getting started took us less than a day, {setup_step} was very intuitive"),
        ],
        slots: &[
            (
                "setup_step",
                &[
                    "connecting our data to the dashboard",
                    "importing our contacts from CSV",
                    "setting up the first dashboard",
                    "sending invite links to the team",
                    "mapping our fields during the CSV import",
                    "configuring user roles",
                ],
            ),
            (
                "setup_problem",
                &[
                    "was confusing",
                    "took ages",
                    "was harder than expected",
                    "needed three calls with support",
                    "kept failing with an unclear error",
                ],
            ),
        ],
    },
    Topic {
        id: "pricing",
        weight: 7.0,
        surface: Surface::Any,
        sources: [1.5, 0.6, 0.6, 0.5],
        paying_only: false,
        templates: &[
            neg("{price_point} {price_verdict}"),
            neg("We pay for {seats} seats on our plan and half of them rarely use it"),
            neg("Too many basic features of the subscription are behind the paywall now"),
            mix("Great product but {price_point} {price_verdict}"),
            neg("You raised the price of our subscription by {percent} at renewal without any new features"),
            neu("Do you offer a discount on the subscription for {discount_for}?"),
            pos("Good value for money compared to {competitor}, the {plan} plan has everything we need"),
            neu("Is there a cheaper pricing plan for teams under {seats} users?"),
        ],
        slots: &[
            (
                "price_point",
                &[
                    "the price increase on our plan",
                    "per seat pricing",
                    "the new pricing for our subscription",
                    "paying extra for the reporting add-on",
                    "the cost of our plan",
                ],
            ),
            (
                "price_verdict",
                &[
                    "is too much for a small team",
                    "is hard to justify to finance",
                    "feels like a rip off",
                    "is not worth it for what we use",
                    "gets expensive fast",
                ],
            ),
            (
                "discount_for",
                &["nonprofits", "startups", "education", "annual billing"],
            ),
        ],
    },
    Topic {
        id: "general_praise",
        weight: 10.0,
        surface: Surface::Any,
        sources: [2.0, 0.2, 1.2, 0.3],
        paying_only: false,
        templates: &[
            pos("{favourite} {verdict}"),
            pos("Great tool, our whole team uses the dashboards every day"),
            pos("Simple, fast and reliable, exactly what we needed for reporting"),
            pos("Best analytics tool we've used, {favourite} {verdict}"),
            pos("Really happy with the product, {favourite} {verdict}"),
            neu("Does what we need for reporting. Nothing more to add"),
            pos("Recommended it to two other teams, the reporting alone is worth it"),
        ],
        slots: &[
            (
                "favourite",
                &[
                    "the new dashboard",
                    "the custom reporting",
                    "the report builder",
                    "the mobile app",
                    "the {integration} integration",
                    "the weekly summary email",
                    "the chart editor",
                ],
            ),
            (
                "verdict",
                &[
                    "is so easy to use",
                    "saves us hours every week",
                    "is a game changer for our reporting",
                    "just works",
                    "looks great",
                    "is exactly what we needed",
                ],
            ),
        ],
    },
    Topic {
        id: "notifications",
        weight: 5.0,
        surface: Surface::Any,
        sources: [0.8, 0.8, 0.8, 0.8],
        paying_only: false,
        templates: &[
            neg("Way too many {channel} notifications, I get one for every {event}"),
            neg("{channel} notifications arrive hours late"),
            neu("How do I mute {channel} notifications for a single project?"),
            neu("Would love a daily digest instead of individual {channel} alerts"),
            neg("I unsubscribed from the weekly summary but still get it"),
            pos("The new alert settings are great, finally I only get the {channel} notifications that matter"),
            neg("Alerts fire for every {event}, it's just noise now"),
            neu("Can we get {channel} notifications when a report is ready?"),
        ],
        slots: &[
            ("channel", &["email", "push", "Slack", "SMS", "in app"]),
            (
                "event",
                &["comment", "status change", "new record", "tiny change"],
            ),
        ],
    },
    Topic {
        id: "api",
        weight: 5.0,
        surface: Surface::Web,
        sources: [0.4, 1.5, 0.0, 0.7],
        paying_only: false,
        templates: &[
            neg("The API rate limit of {rate} requests per minute is far too low for our {api_use}"),
            neg("Webhook deliveries are failing with timeouts since {weekday}"),
            neu("Is there an API endpoint to {api_action}?"),
            neg("The API docs are out of date, {endpoint} returns fields that aren't documented"),
            neu("Do you have an official {sdk_language} SDK or only the REST API?"),
            pos("Our developers love the API, clean and well documented"),
            neg("A breaking change in the API without notice broke our {api_use}"),
            neu("Please add pagination to {endpoint}, large accounts time out"),
            neg("Access tokens expire after an hour and there is no refresh token flow in the API"),
        ],
        slots: &[
            (
                "api_use",
                &["sync", "nightly import", "integration", "data pipeline"],
            ),
            (
                "weekday",
                &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
            ),
            (
                "api_action",
                &[
                    "create users in bulk",
                    "export raw events",
                    "edit custom fields",
                    "list all reports",
                ],
            ),
            ("sdk_language", &["Python", "Node", "Java", "Go", ".NET"]),
        ],
    },
    Topic {
        id: "mobile_feedback",
        weight: 6.0,
        surface: Surface::Mobile,
        sources: [1.0, 0.5, 2.5, 0.6],
        paying_only: false,
        templates: &[
            neu("Please add {mobile_wish} to {mobile_app}"),
            neu("Would love {mobile_wish} on my {device}"),
            pos("{mobile_app} is great for checking the dashboard on the go"),
            neg("You can't edit reports in {mobile_app}, only view them"),
            pos("Clean design and easy to use on my {device}"),
            neg("Text is tiny on my {device}, the layout of the mobile app doesn't fit the screen"),
            mix("{mobile_app} is nice but I miss the filters that the web version has"),
            pos("Biometric login in {mobile_app} is a great touch"),
            neu("Is {mobile_wish} planned for {mobile_app}?"),
        ],
        slots: &[(
            "mobile_wish",
            &[
                "offline mode",
                "dark mode",
                "a home screen widget",
                "a tablet layout",
                "editing reports",
                "more notification settings",
            ],
        )],
    },
    Topic {
        id: "billing_questions",
        weight: 5.0,
        surface: Surface::Any,
        sources: [0.5, 1.5, 0.2, 1.3],
        paying_only: true,
        templates: &[
            neu("How do I change the credit card on file?"),
            neu("Please add our VAT number to the invoices"),
            neu("Can we switch our subscription from monthly to annual billing?"),
            neu("Where can I download past invoices?"),
            neu("We need the invoice addressed to our {team} department"),
            neg("Payment failed but the card is fine, please check"),
            pos("Switching to annual billing was easy, thanks"),
            neu("Do you accept {payment_method} for the {plan} plan?"),
        ],
        slots: &[(
            "payment_method",
            &["bank transfer", "PayPal", "direct debit", "purchase orders"],
        )],
    },
    Topic {
        id: "evaluation",
        weight: 4.0,
        surface: Surface::Any,
        sources: [0.5, 0.7, 0.3, 1.8],
        paying_only: false,
        templates: &[
            neu("We're on the trial, does it integrate with {integration}?"),
            neu("Comparing you with {competitor}, do you support {must_have} on the {plan} plan?"),
            neu("Can I get a demo of {showcase} for my {team} team before we buy?"),
            neu("Is there a security questionnaire or SOC 2 report for our security review?"),
            pos("The trial convinced us, building the first dashboard took ten minutes"),
            neu("Can we extend the trial by a week? Our security review is still running"),
            neg("The pricing page is confusing, I can't tell which plan includes {must_have}"),
            neu("Do you offer a proof of concept for {seats} users with our {integration} data?"),
        ],
        slots: &[
            (
                "must_have",
                &[
                    "SSO",
                    "audit logs",
                    "custom roles",
                    "data residency in the EU",
                    "API access",
                ],
            ),
            (
                "showcase",
                &[
                    "the reporting",
                    "the dashboards",
                    "the integrations",
                    "the admin features",
                ],
            ),
        ],
    },
    Topic {
        id: "awareness",
        weight: 3.0,
        surface: Surface::Any,
        sources: [2.0, 0.1, 0.8, 0.3],
        paying_only: false,
        templates: &[
            pos("{first_contact} and {first_impression}"),
            pos("Recommended by our {integration} consultant, glad we listened"),
        ],
        slots: &[
            (
                "first_contact",
                &[
                    "A colleague recommended you",
                    "Found you on G2",
                    "Heard about you on a podcast",
                    "Saw your webinar on analytics",
                    "A friend recommended you",
                    "Came across your blog post on dashboards",
                ],
            ),
            (
                "first_impression",
                &[
                    "the dashboards are as good as promised",
                    "it was the best decision we made this year for reporting",
                    "we signed up the same day",
                    "the reports are as good as they said",
                ],
            ),
        ],
    },
    Topic {
        id: "renewal",
        weight: 3.0,
        surface: Surface::Any,
        sources: [1.2, 0.8, 0.3, 0.6],
        paying_only: true,
        templates: &[
            neg("We're thinking about cancelling our subscription at renewal, {renewal_reason}"),
            neg("Downgrading our plan next month, {renewal_reason}"),
            neu("Our contract is up soon, can we talk about the new pricing for our plan?"),
            pos("Renewed our subscription for another year, the dashboards are part of how we work now"),
            mix("Happy to renew but the price increase on our plan hurts"),
            neu("How do I turn off auto renew on our subscription?"),
        ],
        slots: &[(
            "renewal_reason",
            &[
                "too expensive for what we use",
                "we barely use the advanced reports",
                "the mobile app still lacks basics",
                "budget cuts in {team}",
            ],
        )],
    },
    Topic {
        id: "outages",
        weight: 2.5,
        surface: Surface::Web,
        sources: [0.5, 1.3, 0.0, 1.3],
        paying_only: false,
        templates: &[
            neg("The web app was down {outage_when}, we got 502 errors for {outage_length}"),
            neg("Dashboard not loading at all, just a blank page {outage_when}"),
            neg("Is the service down? Nothing loads on the dashboard {outage_when}"),
            neg("Second outage this month, our scheduled reports didn't run"),
            neu("Is there a status page where I can check if the web app is down?"),
            neg("The web app went down {outage_when}, very embarrassing"),
        ],
        slots: &[
            (
                "outage_when",
                &[
                    "this morning",
                    "again today",
                    "during our board meeting",
                    "for the whole team",
                    "last night",
                ],
            ),
            (
                "outage_length",
                &["an hour", "20 minutes", "most of the afternoon", "two hours"],
            ),
        ],
    },
    Topic {
        id: "data_accuracy",
        weight: 3.0,
        surface: Surface::Web,
        sources: [0.8, 1.3, 0.0, 1.0],
        paying_only: false,
        templates: &[
            neg("{metric} on the dashboard is different from the CSV export"),
            neg("The numbers in the report don't add up with our {integration} data"),
            neg("{metric} in the report for last month changed overnight, which number is right?"),
            neu("Why does the weekly report show different {metric} than the dashboard?"),
            neg("The data is wrong for the last {days} days, looks like the sync missed records"),
        ],
        slots: &[(
            "metric",
            &[
                "revenue",
                "active users",
                "conversion rate",
                "churn",
                "pipeline value",
                "ticket volume",
            ],
        )],
    },
];

/// A verbatim written in another language than English (`language` column), about a steady
/// topic.
#[derive(Debug, Clone, Copy)]
pub struct Foreign {
    pub language: &'static str,
    pub topic: &'static str,
    pub tone: Tone,
    pub text: &'static str,
}

const fn foreign(
    language: &'static str,
    topic: &'static str,
    tone: Tone,
    text: &'static str,
) -> Foreign {
    Foreign {
        language,
        topic,
        tone,
        text,
    }
}

pub const FOREIGN: &[Foreign] = &[
    foreign(
        "es",
        "login_sso",
        Tone::Negative,
        "No puedo iniciar sesión con SSO desde ayer",
    ),
    foreign(
        "es",
        "support_praise",
        Tone::Positive,
        "El soporte fue muy rápido y amable, gracias",
    ),
    foreign(
        "es",
        "export_requests",
        Tone::Neutral,
        "Me gustaría poder exportar los informes a Excel",
    ),
    foreign(
        "es",
        "pricing",
        Tone::Negative,
        "El precio por usuario es demasiado alto para un equipo pequeño",
    ),
    foreign(
        "es",
        "dashboard_performance",
        Tone::Negative,
        "El panel tarda muchísimo en cargar por las mañanas",
    ),
    foreign(
        "es",
        "general_praise",
        Tone::Positive,
        "Muy buena herramienta, la usamos todos los días",
    ),
    foreign(
        "es",
        "integration_requests",
        Tone::Neutral,
        "¿Hay planes para integrar con Salesforce?",
    ),
    foreign(
        "es",
        "mobile_feedback",
        Tone::Neutral,
        "Falta el modo oscuro en la aplicación del móvil",
    ),
    foreign(
        "de",
        "export_requests",
        Tone::Neutral,
        "Der Export nach Excel fehlt uns sehr",
    ),
    foreign(
        "de",
        "dashboard_performance",
        Tone::Negative,
        "Das Dashboard lädt extrem langsam",
    ),
    foreign(
        "de",
        "support_praise",
        Tone::Positive,
        "Super Support, schnelle Antwort!",
    ),
    foreign(
        "de",
        "billing_questions",
        Tone::Neutral,
        "Bitte die Umsatzsteuer-ID auf der Rechnung ergänzen",
    ),
    foreign(
        "de",
        "login_sso",
        Tone::Negative,
        "Die Anmeldung über SSO funktioniert seit gestern nicht mehr",
    ),
    foreign(
        "de",
        "pricing",
        Tone::Negative,
        "Die Preiserhöhung ist für uns als kleines Team zu viel",
    ),
    foreign(
        "de",
        "general_praise",
        Tone::Positive,
        "Tolles Produkt, die Berichte sparen uns viel Zeit",
    ),
    foreign(
        "de",
        "onboarding",
        Tone::Negative,
        "Die Einrichtung war ziemlich verwirrend",
    ),
    foreign(
        "fr",
        "login_sso",
        Tone::Negative,
        "Impossible de me connecter avec le SSO depuis ce matin",
    ),
    foreign(
        "fr",
        "dashboard_performance",
        Tone::Negative,
        "Le tableau de bord est très lent",
    ),
    foreign(
        "fr",
        "general_praise",
        Tone::Positive,
        "Très bon outil, facile à prendre en main",
    ),
    foreign(
        "fr",
        "pricing",
        Tone::Negative,
        "Le prix a beaucoup augmenté cette année",
    ),
    foreign(
        "fr",
        "support_praise",
        Tone::Positive,
        "Le support a été rapide et très aimable",
    ),
    foreign(
        "fr",
        "export_requests",
        Tone::Neutral,
        "Pouvez-vous ajouter un export PDF des rapports ?",
    ),
    foreign(
        "fr",
        "notifications",
        Tone::Negative,
        "Beaucoup trop de notifications par e-mail",
    ),
    foreign(
        "fr",
        "support_delays",
        Tone::Negative,
        "Toujours pas de réponse à mon ticket après une semaine",
    ),
    foreign(
        "pt-BR",
        "integration_requests",
        Tone::Mixed,
        "O aplicativo é ótimo, mas falta integração com o HubSpot",
    ),
    foreign(
        "pt-BR",
        "support_praise",
        Tone::Positive,
        "Atendimento excelente, resolveram meu problema rápido",
    ),
    foreign(
        "pt-BR",
        "dashboard_performance",
        Tone::Negative,
        "Os relatórios demoram muito para carregar",
    ),
    foreign(
        "pt-BR",
        "mobile_feedback",
        Tone::Neutral,
        "Seria ótimo ter modo offline no aplicativo",
    ),
    foreign(
        "pt-BR",
        "login_sso",
        Tone::Negative,
        "Não consigo entrar com SSO desde ontem",
    ),
    foreign(
        "pt-BR",
        "pricing",
        Tone::Negative,
        "O preço por usuário ficou caro demais",
    ),
    foreign(
        "pt-BR",
        "general_praise",
        Tone::Positive,
        "Ferramenta muito boa, fácil de usar",
    ),
    foreign(
        "pt-BR",
        "billing_questions",
        Tone::Neutral,
        "Como faço para trocar o cartão de crédito cadastrado?",
    ),
];

/// Slots with fixed value lists.
pub const SLOTS: Slots = &[
    ("amount", &["$49", "$99", "$149", "$240", "$588", "$1,188"]),
    ("seats", &["5", "8", "12", "25", "40", "120"]),
    (
        "idp",
        &[
            "Okta",
            "Azure AD",
            "Google Workspace",
            "OneLogin",
            "JumpCloud",
        ],
    ),
    ("secs", &["10", "15", "20", "30", "40", "60"]),
    ("minutes", &["20", "35", "45", "50", "90"]),
    ("days", &["3", "4", "5", "6", "8", "10"]),
    ("percent", &["20%", "25%", "30%", "40%"]),
    ("years", &["2", "3", "4", "5", "7"]),
    ("rate", &["60", "100", "120", "300"]),
    (
        "range",
        &[
            "the last 90 days",
            "the whole year",
            "last quarter",
            "more than 3 months",
            "the last 12 months",
        ],
    ),
    (
        "export_format",
        &["Excel", "CSV", "PDF", "Google Sheets", "xlsx"],
    ),
    (
        "integration",
        &[
            "Salesforce",
            "HubSpot",
            "Slack",
            "Microsoft Teams",
            "Jira",
            "Zendesk",
            "Google Sheets",
            "QuickBooks",
            "Shopify",
            "Notion",
            "Asana",
            "Xero",
        ],
    ),
    (
        "agent",
        &[
            "Sarah", "Tom", "Priya", "Marco", "Aisha", "Jonas", "Emily", "Kenji", "Lucia", "Sam",
        ],
    ),
    (
        "help_subject",
        &[
            "an invoice question",
            "our SSO setup",
            "a broken Slack integration",
            "a report that wouldn't export",
            "adding seats to our subscription",
            "the API rate limits",
            "a login problem",
            "importing our data into the dashboard",
            "notifications on my phone",
            "a dashboard filter issue",
        ],
    ),
    (
        "team",
        &[
            "sales",
            "marketing",
            "support",
            "finance",
            "operations",
            "product",
        ],
    ),
    (
        "competitor",
        &["Brightly", "Northstar", "Tallyo", "Zentro", "Quorra"],
    ),
    (
        "endpoint",
        &["/v2/users", "/v2/reports", "/v1/events", "/v2/accounts"],
    ),
];

/// How customers name the app in steady feedback, by mobile OS: iOS, Android. (The regression's
/// "iOS app" / "Android app" is left to the regression, so its theme stays its own.)
pub const MOBILE_APP_NAMES: [&[&str]; 2] = [
    &[
        "the iPhone app",
        "the app on my iPhone",
        "the iPad app",
        "the app on my phone",
    ],
    &[
        "the app on my Samsung",
        "the app on my Pixel phone",
        "the Android version of the app",
        "the app on my phone",
    ],
];

/// Devices, by mobile OS: iOS, Android.
pub const DEVICES: [&[&str]; 2] = [
    &[
        "iPhone 15",
        "iPhone 13",
        "iPhone 14 Pro",
        "iPad Air",
        "iPhone SE",
    ],
    &[
        "Samsung Galaxy S23",
        "Samsung Galaxy A54",
        "Pixel phone",
        "Android phone",
        "Android tablet",
    ],
];

/// OS versions, by mobile OS: iOS, Android.
pub const OS_VERSIONS: [&[&str]; 2] = [
    &["iOS 18.1", "iOS 18", "iOS 17.6"],
    &["Android 14", "Android 15", "Android 13"],
];

/// Mobile app releases: (days before the corpus end when it shipped, version). The last one is
/// the release that brings the `mobile_regression`.
pub const APP_RELEASES: &[(i64, &str)] = &[
    (i64::MAX, "5.0.3"),
    (75, "5.0.4"),
    (50, "5.1.0"),
    (36, "5.1.1"),
    (20, "5.1.2"),
    (super::MOBILE_RELEASE_DAYS_BEFORE_END, "5.2.0"),
];

pub const TICKET_OPENERS: &[&str] = &[
    "Hi team,",
    "Hello,",
    "Hi support,",
    "Hi there,",
    "Good morning,",
    "Hello support team,",
];
pub const TICKET_CLOSERS: &[&str] = &[
    "Thanks.",
    "Thanks in advance.",
    "Regards",
    "Kind regards",
    "Cheers",
    "Thank you!",
];
pub const TICKET_CLOSERS_NEGATIVE: &[&str] = &[
    "Please advise.",
    "Please fix this.",
    "This is urgent for us.",
    "Please look into this asap.",
    "Not happy about this.",
];
pub const CHAT_OPENERS: &[&str] = &["hi", "hello", "hey", "hi there", "hello,", "hey there"];
pub const CHAT_CLOSERS: &[&str] = &["thanks", "thx", "ok thanks", "thank you", "ty"];
pub const REVIEW_OPENERS_POSITIVE: &[&str] =
    &["Great app!", "Love it.", "Five stars.", "Excellent."];
pub const REVIEW_OPENERS_NEGATIVE: &[&str] =
    &["Disappointed.", "Frustrating.", "Needs work.", "Not good."];
pub const REVIEW_OPENERS_MIXED: &[&str] = &["Three stars.", "Mixed feelings."];

/// Extra context a ticket or chat sometimes adds after its main sentence.
pub const DETAILS: &[&str] = &[
    "We are a team of {seats}.",
    "This affects our whole {team} team.",
    "We've been customers for {years} years.",
    "Happy to jump on a call if that helps.",
    "Screenshots attached.",
    "Same thing for my colleagues.",
];

pub const POSITIVE_EMOJI: &[&str] = &["🙂", "👍", "🎉", "😍", "🙌"];
pub const NEGATIVE_EMOJI: &[&str] = &["😡", "😤", "👎", "🙄", "😞"];
pub const NEUTRAL_EMOJI: &[&str] = &["🤔", "🙏"];

/// Sentences carrying personal data, `{email}`, `{phone}` or `{card}`.
pub const EMAIL_SENTENCES: &[&str] = &[
    "You can reach me at {email}.",
    "My email is {email}.",
    "Please reply to {email} instead.",
    "cc {email}",
];
pub const PHONE_SENTENCES: &[&str] = &[
    "Call me back on {phone}.",
    "My number is {phone}.",
    "You can call me at {phone} today.",
];
pub const CARD_SENTENCES: &[&str] = &[
    "The card is {card}.",
    "Card used: {card}",
    "It went on my card {card}.",
];

pub const FIRST_NAMES: &[&str] = &[
    "jane", "john", "maria", "li", "ahmed", "sofia", "lukas", "emma", "noah", "olivia", "raj",
    "chloe",
];
pub const LAST_NAMES: &[&str] = &[
    "doe", "smith", "garcia", "chen", "khan", "rossi", "muller", "brown", "silva", "nguyen",
];
/// Reserved example domains (RFC 2606), so no real mailbox is named.
pub const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
];
/// Phone number shapes in ranges reserved for fiction (US 555-01xx, UK Ofcom drama ranges);
/// each `#` becomes a digit.
pub const PHONE_FORMATS: &[&str] = &[
    "+1 212 555 01##",
    "(415) 555-01##",
    "+1-202-555-01##",
    "+44 20 7946 0###",
    "07700 900###",
];
/// Published test card numbers (they pass the Luhn check and charge nobody).
pub const TEST_CARDS: &[&str] = &[
    "4111 1111 1111 1111",
    "4242424242424242",
    "5555-5555-5555-4444",
    "4012 8888 8888 1881",
    "5105 1051 0510 5100",
    "3782 822463 10005",
];
