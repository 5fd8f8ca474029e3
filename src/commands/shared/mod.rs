//! What several verbs do the same way, as kubectl does it: list and get
//! ([`listing`]), delete with a confirmation ([`deletion`]),
//! end a deletion Longhorn does not finish ([`force`]), report and wait for a
//! created SystemBackup ([`created`]), complete the names of objects live from the
//! cluster ([`names`]), show then carry out a plan of deletions ([`plan`]), and fetch a bundle from the
//! backup target to read it ([`fetch`]).

pub mod created;
pub mod deletion;
pub mod fetch;
pub mod force;
pub mod listing;
pub mod names;
pub mod plan;
