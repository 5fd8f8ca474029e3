//! What several verbs do the same way, as kubectl does it: list and get
//! ([`listing`]), delete with a confirmation ([`deletion`]), and complete the names of
//! objects live from the cluster ([`names`]).

pub mod deletion;
pub mod listing;
pub mod names;
