//! `completion SHELL`: a static completion script for this binary.

use crate::cli::CompletionArgs;
use crate::completion;
use crate::error::Result;
use crate::output;

pub fn run(args: &CompletionArgs, bin_name: &str) -> Result<()> {
    output::stdout(&completion::script(args.shell, bin_name))
}
