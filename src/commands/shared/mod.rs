//! What several verbs do the same way, as kubectl does it: list and get
//! ([`listing`]), delete with a confirmation ([`deletion`]),
//! end a deletion Longhorn does not finish ([`force`]), report and wait for a
//! created SystemBackup ([`created`]), complete the names of objects live from the
//! cluster ([`names`]), and show then carry out a plan of deletions ([`plan`]).

pub mod created;
pub mod deletion;
pub mod force;
pub mod listing;
pub mod names;
pub mod plan;
