//! End-to-end tests of the plugin on the test ground (docs/testing.md).

mod bundle;
mod harness;
mod invocation;
mod prompts;
mod systembackup;
