//! Beckon's trigger rules: the model, evaluation against a visit, and (with the `parse` feature) the rule-file parser.
//!
//! This crate is pure: no I/O, no clock, no async, no browser APIs, no panics. The widget compiles it to
//! WebAssembly to decide when to invite a visitor; the server compiles it natively to validate rule files
//! and to simulate visits. Both therefore reach the same verdict for the same visit. Time is always an
//! argument, never read.

mod eval;
mod model;
mod pattern;

#[cfg(feature = "parse")]
mod diagnostic;
#[cfg(feature = "parse")]
mod parse;

pub use eval::{Explanation, VisitState, explain, first_firing};
pub use model::{Condition, DEFAULT_INVITATION_SECONDS, Invitation, Rule, RuleSet};
pub use pattern::Pattern;

#[cfg(feature = "parse")]
pub use diagnostic::Diagnostic;
#[cfg(feature = "parse")]
pub use parse::{ParsedFile, check_rule_set, parse_file};
