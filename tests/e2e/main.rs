//! End-to-end tests of the plugin on the test ground (docs/testing.md).

mod auth;
mod bundle;
mod completion;
mod harness;
mod invocation;
mod krew;
mod longhorn_rules;
mod prompts;
mod restore;
mod schedule;
mod systembackup;
mod upload;
