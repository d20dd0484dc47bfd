//! The supervisors' screens: the live Ongoing conversations dashboard, pinned in the Sessions pane
//! under Home for supervisors and admins, with the agents board beside it and the assign and transfer
//! dialog; and for admins the audit log of what supervisors did.

mod agents_board;
mod audit;
mod move_dialog;
mod ongoing;

pub use audit::AuditLog;
pub use ongoing::Ongoing;
