//! End-to-end tests of the plugin on the test ground (docs/testing.md).

mod auth;
mod bundle;
mod care;
mod completion;
mod harness;
mod hostile;
mod invocation;
mod krew;
mod load;
mod longhorn_rules;
mod offline;
mod prompts;
mod restarts;
mod restore;
mod schedule;
mod systembackup;
mod tls;
mod upload;
