//! End-to-end tests of the plugin on the test ground (docs/testing.md).

mod harness;
mod invocation;
mod prompts;
mod restore;
mod schedule;
mod systembackup;
