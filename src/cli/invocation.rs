//! One binary, several names (docs/design.md, "One binary, several names"). kubectl finds a
//! plugin by its file name and passes the remaining arguments, so the name tells us
//! what the user typed:
//!
//! | file name                          | user typed                          | first argument   |
//! |------------------------------------|-------------------------------------|------------------|
//! | `kubectl-longhorn` (krew `longhorn`) | `kubectl longhorn systembackup …`   | `systembackup`   |
//! | `kubectl-longhorn-systembackup`    | `kubectl longhorn systembackup …`   | the verb         |
//! | `kubectl-longhorn_systembackup`    | `kubectl longhorn-systembackup …`   | the verb         |
//! | `kubectl_complete-<one of those>`  | (kubectl asking for completions)    | the words so far |

use std::ffi::OsString;
use std::path::Path;

/// What the binary was started as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `kubectl longhorn` is the plugin; `systembackup` must come first.
    pub vendor_form: bool,
    /// How usage lines start, e.g. `kubectl longhorn systembackup`.
    pub display: String,
    /// Started by kubectl to complete a command line.
    pub completion: bool,
}

pub const GROUP_COMMAND: &str = "systembackup";
pub const GROUP_ALIASES: &[&str] = &["sb"];

impl Invocation {
    pub fn from_argv0(argv0: &OsString) -> Self {
        let file = Path::new(argv0)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (completion, plugin) = match file.strip_prefix("kubectl_complete-") {
            Some(rest) => (true, rest.to_string()),
            None => (
                false,
                file.strip_prefix("kubectl-")
                    .unwrap_or("longhorn-systembackup")
                    .to_string(),
            ),
        };
        match plugin.as_str() {
            "longhorn" => Invocation {
                vendor_form: true,
                display: "kubectl longhorn".into(),
                completion,
            },
            "longhorn_systembackup" => Invocation {
                vendor_form: false,
                display: "kubectl longhorn-systembackup".into(),
                completion,
            },
            _ => Invocation {
                vendor_form: false,
                display: format!("kubectl longhorn {GROUP_COMMAND}"),
                completion,
            },
        }
    }

    /// The display name of the verb-level command.
    pub fn verb_display(&self) -> String {
        if self.vendor_form {
            format!("{} {GROUP_COMMAND}", self.display)
        } else {
            self.display.clone()
        }
    }
}

/// Global flags that take their value as the next word (`-n ns`, `--context x`).
const VALUE_FLAGS: &[&str] = &[
    "-n",
    "--namespace",
    "--kubeconfig",
    "--context",
    "--cluster",
    "--user",
    "--request-timeout",
];

/// In the vendor form, finds `systembackup` among the leading words (only global flags
/// may precede it) and returns the arguments for the verb-level parser: the leading
/// flags followed by everything after `systembackup`. `None` when it is absent.
pub fn strip_group(args: &[OsString]) -> Option<Vec<OsString>> {
    let mut index = 0;
    while index < args.len() {
        let word = args[index].to_string_lossy();
        if word == GROUP_COMMAND || GROUP_ALIASES.contains(&word.as_ref()) {
            let mut rest: Vec<OsString> = args[..index].to_vec();
            rest.extend_from_slice(&args[index + 1..]);
            return Some(rest);
        }
        if !word.starts_with('-') {
            return None;
        }
        index += if VALUE_FLAGS.contains(&word.as_ref()) {
            2
        } else {
            1
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn names_map_to_the_form_the_user_typed() {
        let krew = Invocation::from_argv0(&"/home/u/.krew/bin/kubectl-longhorn".into());
        assert!(krew.vendor_form && !krew.completion);
        assert_eq!(krew.verb_display(), "kubectl longhorn systembackup");

        let manual = Invocation::from_argv0(&"/usr/local/bin/kubectl-longhorn-systembackup".into());
        assert!(!manual.vendor_form);
        assert_eq!(manual.verb_display(), "kubectl longhorn systembackup");

        let alt = Invocation::from_argv0(&"kubectl-longhorn_systembackup".into());
        assert_eq!(alt.verb_display(), "kubectl longhorn-systembackup");

        let complete = Invocation::from_argv0(&"kubectl_complete-longhorn".into());
        assert!(complete.completion && complete.vendor_form);

        let exe = Invocation::from_argv0(&"kubectl-longhorn.exe".into());
        assert!(exe.vendor_form);
    }

    #[test]
    fn group_word_is_found_after_global_flags() {
        assert_eq!(
            strip_group(&os(&["systembackup", "list"])),
            Some(os(&["list"]))
        );
        assert_eq!(
            strip_group(&os(&[
                "-n",
                "lh",
                "--context=c",
                "systembackup",
                "list",
                "-o",
                "json"
            ])),
            Some(os(&["-n", "lh", "--context=c", "list", "-o", "json"]))
        );
        assert_eq!(
            strip_group(&os(&["sb", "wait", "x"])),
            Some(os(&["wait", "x"]))
        );
        assert_eq!(strip_group(&os(&["volumes", "list"])), None);
        assert_eq!(strip_group(&os(&["-n", "systembackup"])), None);
        assert_eq!(strip_group(&os(&[])), None);
    }
}
