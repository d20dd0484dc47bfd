//! Beckon's trigger rules: the model, the visit tracker, evaluation, and (with the `parse` feature) the
//! rule-file parser and the visit simulator.
//!
//! This crate is pure: no I/O, no clock, no async, no browser APIs, no panics. The widget compiles it to
//! WebAssembly to decide when to invite a visitor; the server compiles it natively to validate rule files
//! and to simulate visits. Both therefore reach the same verdict for the same visit. Time is always an
//! argument, never read.

pub mod civil;
mod describe;
mod eval;
mod map;
mod model;
mod number;
mod pattern;
mod track;

#[cfg(feature = "parse")]
mod diagnostic;
#[cfg(feature = "parse")]
mod parse;
#[cfg(feature = "parse")]
pub mod simulate;

pub use civil::ZoneTable;
pub use describe::duration as format_duration;
pub use eval::{Explanation, Truth};
pub use map::{VecMap, VecSet};
pub use model::{
    Budget, Condition, ContextTest, ContextValue, Count, DEFAULT_INVITATION_SECONDS, Device,
    Invitation, Limits, Rule, RuleSet, TimeWindow,
};
pub use pattern::Pattern;
pub use track::{
    Environment, EventRecord, InvitationRecord, Location, Page, PageRecord, Tracker,
    VISIT_TIMEOUT_MS, VisitRecord, VisitorRecord, path_of, query_of,
};

#[cfg(feature = "parse")]
pub use diagnostic::Diagnostic;
#[cfg(feature = "parse")]
pub use parse::{CONDITION_KEYS, ParsedFile, check_rule_set, parse_file};
