//! Pure decisions: account rules, signed identities, the conversation state machine, routing and
//! sentiment. No I/O, no clock, no database, no HTTP.

pub mod agents;
pub mod identity;
pub mod lifecycle;
pub mod routing;
pub mod sentiment;
