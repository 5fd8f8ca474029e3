//! Shell completion, two ways:
//! - `completion SHELL` prints a static script (clap_complete) for the binary itself;
//! - as `kubectl_complete-longhorn` (a link to this binary), it answers kubectl's
//!   plugin-completion protocol (kubectl ≥ 1.26, kubernetes/kubectl:pkg/cmd/plugin/plugin.go):
//!   the words typed so far come as arguments, candidates go out one per line, and
//!   the last line is a Cobra directive (`:4` = no file completion).
//!
//! Names of SystemBackups, RecurringJobs and SystemRestores complete live from the
//! cluster, using the `--kubeconfig`/`--context`/`-n` typed on the same line.

use std::ffi::OsString;

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;

use super::args::{Cli, GlobalArgs, Shell};
use super::connect_options;
use super::invocation::{self, GROUP_ALIASES, GROUP_COMMAND, Invocation};
use crate::commands::shared::names::{LineFlags, use_line_flags};

/// Cobra's ShellCompDirectiveNoFileComp.
const NO_FILE_COMPLETION: &str = ":4";

/// A static completion script for `bin_name`. Started as `kubectl-longhorn`, the
/// binary wants `systembackup` first, and so does its script.
pub fn script(shell: Shell, bin_name: &str) -> String {
    let mut command = if Invocation::from_argv0(&bin_name.into()).vendor_form {
        clap::Command::new(bin_name.to_string()).subcommand(
            Cli::command()
                .name(GROUP_COMMAND)
                .visible_aliases(GROUP_ALIASES),
        )
    } else {
        Cli::command()
    };
    let mut out = Vec::new();
    match shell {
        Shell::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut command, bin_name, &mut out)
        }
        Shell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut command, bin_name, &mut out)
        }
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut command, bin_name, &mut out)
        }
        Shell::Powershell => clap_complete::generate(
            clap_complete::Shell::PowerShell,
            &mut command,
            bin_name,
            &mut out,
        ),
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    match shell {
        Shell::Bash => fix_bash_states(&text, bin_name),
        _ => text,
    }
}

/// clap_complete's bash script tracks the subcommand typed so far in `$cmd`, spelling
/// a `-` of the binary name `__` there but `__subcmd__` in the `case` arms that read
/// it, so with a hyphenated name (all of ours) no arm matches and nothing after the
/// first word completes (clap-rs/clap#6421, open). Spell the arms like `$cmd`.
fn fix_bash_states(script: &str, bin_name: &str) -> String {
    const SEP: &str = "__subcmd__";
    let arms = format!("{}{SEP}", bin_name.replace('-', SEP));
    let state = format!("{}{SEP}", bin_name.replace('-', "__"));
    script.replace(&arms, &state)
}

/// kubectl's plugin-completion protocol: `words` are the plugin's arguments with the
/// word being completed last (possibly empty).
pub fn kubectl_complete(invocation: &Invocation, words: &[OsString]) -> String {
    let mut lines = candidates(invocation, words);
    lines.push(NO_FILE_COMPLETION.to_string());
    lines.join("\n") + "\n"
}

fn candidates(invocation: &Invocation, words: &[OsString]) -> Vec<String> {
    let words: Vec<OsString> = if words.is_empty() {
        vec![OsString::new()]
    } else {
        words.to_vec()
    };
    let verb_words = if invocation.vendor_form {
        if words.len() == 1 {
            // Completing the first word of `kubectl longhorn …`.
            let typed = words[0].to_string_lossy();
            return std::iter::once(GROUP_COMMAND)
                .chain(GROUP_ALIASES.iter().copied())
                .filter(|c| c.starts_with(typed.as_ref()))
                .map(str::to_string)
                .collect();
        }
        match invocation::strip_group(&words[..words.len() - 1]) {
            Some(mut rest) => {
                rest.push(words[words.len() - 1].clone());
                rest
            }
            None => return Vec::new(),
        }
    } else {
        words
    };
    let flags = line_flags(&verb_words);
    use_line_flags(LineFlags {
        connect: connect_options(&flags),
        namespace: flags.namespace,
    });
    let mut command = Cli::command();
    let mut args = vec![OsString::from(invocation.verb_display())];
    args.extend(verb_words);
    let index = args.len() - 1;
    let typed = args[index].to_string_lossy().into_owned();
    // As Cobra does: flags only once the word starts with '-'.
    let wants_flags = typed.starts_with('-');
    match clap_complete::engine::complete(&mut command, args, index, None) {
        Ok(found) => found
            .into_iter()
            .filter(|c| !c.is_hide_set())
            .map(|c| own_name(&c, &typed))
            .filter(|value| wants_flags || !value.starts_with('-'))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// clap_complete offers one word per subcommand, the alphabetically first of its name
/// and visible aliases (`get` for `list`, `recurringjob` for `schedule`). Offer the
/// command's own name when it fits what was typed, as Cobra does.
fn own_name(candidate: &CompletionCandidate, typed: &str) -> String {
    let value = candidate.get_value().to_string_lossy().into_owned();
    candidate
        .get_id()
        .and_then(|id| id.strip_prefix("command::"))
        .filter(|name| name.starts_with(typed))
        .map_or(value, str::to_string)
}

/// The cluster flags among `words`, read leniently (the line is unfinished).
fn line_flags(words: &[OsString]) -> GlobalArgs {
    let mut flags = GlobalArgs::default();
    let words: Vec<String> = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let mut index = 0;
    while index < words.len() {
        let (flag, inline) = match words[index].split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (words[index].clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--kubeconfig" | "--context" | "--cluster" | "--user" | "-n" | "--namespace"
        );
        if takes_value {
            let value = inline.or_else(|| {
                index += 1;
                words.get(index).cloned()
            });
            match flag.as_str() {
                "--kubeconfig" => flags.kubeconfig = value.map(Into::into),
                "--context" => flags.context = value,
                "--cluster" => flags.cluster = value,
                "--user" => flags.user = value,
                _ => flags.namespace = value,
            }
        }
        index += 1;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn completes_the_group_word_then_verbs() {
        let vendor = Invocation::from_argv0(&"kubectl_complete-longhorn".into());
        assert_eq!(
            kubectl_complete(&vendor, &words(&["sys"])),
            "systembackup\n:4\n"
        );
        let out = kubectl_complete(&vendor, &words(&["systembackup", "de"]));
        assert!(
            out.contains("describe\n") && out.contains("delete\n") && out.ends_with(":4\n"),
            "{out}"
        );
        let verb = Invocation::from_argv0(&"kubectl_complete-longhorn_systembackup".into());
        let out = kubectl_complete(&verb, &words(&["sch"]));
        assert!(out.starts_with("schedule\n"), "{out}");
    }

    #[test]
    fn offers_commands_by_their_own_names() {
        let verb = Invocation::from_argv0(&"kubectl_complete-longhorn_systembackup".into());
        let out = kubectl_complete(&verb, &words(&[""]));
        let offered: Vec<&str> = out.lines().collect();
        for name in ["list", "schedule", "create", "completion"] {
            assert!(offered.contains(&name), "{name} missing: {out}");
        }
        assert!(!offered.contains(&"get") && !offered.contains(&"recurringjob"));
        // A visible alias still completes when only it fits.
        assert_eq!(kubectl_complete(&verb, &words(&["ge"])), "get\n:4\n");
    }

    #[test]
    fn completes_flags_and_values() {
        let verb = Invocation::from_argv0(&"kubectl_complete-longhorn-systembackup".into());
        let out = kubectl_complete(
            &verb,
            &words(&["create", "x", "--volume-backup-policy", ""]),
        );
        assert!(
            out.contains("if-not-present\n")
                && out.contains("always\n")
                && out.contains("disabled\n"),
            "{out}"
        );
        let out = kubectl_complete(&verb, &words(&["list", "--no-h"]));
        assert!(out.contains("--no-headers\n"), "{out}");
    }

    #[test]
    fn reads_cluster_flags_from_the_line() {
        let flags = line_flags(&words(&[
            "-n",
            "lh",
            "--context=prod",
            "get",
            "--kubeconfig",
            "/k",
        ]));
        assert_eq!(flags.namespace.as_deref(), Some("lh"));
        assert_eq!(flags.context.as_deref(), Some("prod"));
        assert_eq!(
            flags.kubeconfig.as_deref(),
            Some(std::path::Path::new("/k"))
        );
    }

    #[test]
    fn scripts_name_the_binary() {
        let bash = script(Shell::Bash, "kubectl-longhorn-systembackup");
        assert!(bash.contains("kubectl-longhorn-systembackup") && bash.contains("schedule"));
        assert!(script(Shell::Fish, "x").contains("complete -c x"));
    }

    #[test]
    fn bash_case_arms_match_the_state_variable() {
        let bash = script(Shell::Bash, "kubectl-longhorn-systembackup");
        assert!(bash.contains("cmd=\"kubectl__longhorn__systembackup__subcmd__create\""));
        assert!(bash.contains("\n        kubectl__longhorn__systembackup__subcmd__create)\n"));
        assert!(!bash.contains("kubectl__subcmd__"), "{bash}");
    }

    #[test]
    fn vendor_script_starts_with_the_group_word() {
        let bash = script(Shell::Bash, "kubectl-longhorn");
        assert!(bash.contains("kubectl__longhorn,systembackup)"), "{bash}");
        assert!(bash.contains("kubectl__longhorn__subcmd__systembackup,create)"));
    }
}
