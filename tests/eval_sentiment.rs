//! Sentiment quality guard on the public airline corpus (see BENCHMARKS.md for the figures).

mod common;

use tideline::client::eval::{sentiment, LabelKind};

#[test]
fn sentiment_on_airline_tweets_meets_the_targets() {
    let Some(path) = common::shared_data("airline_tweets.csv") else {
        return;
    };
    let result = sentiment(&path, "text", "airline_sentiment", LabelKind::Names).unwrap();
    let accuracy = result.confusion.accuracy();
    let macro_f1 = result.confusion.macro_f1(&result.gold_labels);
    println!("{}", result.confusion.report(&result.gold_labels));
    assert_eq!(result.confusion.total(), 14_640);
    assert!(macro_f1 >= 0.60, "macro-F1 {macro_f1:.3}");
    assert!(accuracy >= 0.65, "accuracy {accuracy:.3}");
}
