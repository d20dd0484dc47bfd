//! The supervisors' screens: the live Ongoing conversations dashboard, pinned in the Sessions pane
//! under Home for supervisors and admins.

mod ongoing;

pub use ongoing::Ongoing;
