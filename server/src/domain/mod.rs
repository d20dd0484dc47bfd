//! Pure decisions: the conversation state machine and routing. No I/O, no clock, no database, no HTTP.

pub mod lifecycle;
pub mod routing;
