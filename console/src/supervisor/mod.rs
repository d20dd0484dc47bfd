//! The supervisors' screens: the live Ongoing conversations dashboard, pinned in the Sessions pane
//! under Home for supervisors and admins, with the agents board beside it and the assign and transfer
//! dialog.

mod agents_board;
mod move_dialog;
mod ongoing;

pub use ongoing::Ongoing;
