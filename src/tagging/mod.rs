//! Tagging: every verbatim gets a journey stage, driver, product areas, severity and sentiment,
//! each with its confidence and the evidence that produced it.

pub mod sentiment;
