//! Where output goes and whether a person is watching: prompts, live progress and
//! colour depend on it.

use std::io::IsTerminal;

/// Where output goes and whether a person is watching.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        Terminal {
            stdin: std::io::stdin().is_terminal(),
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
        }
    }

    /// Prompts need a person on both ends: input to read and a screen to draw on.
    pub fn can_prompt(self) -> bool {
        self.stdin && self.stderr
    }

    /// Colour only on a terminal, and never when NO_COLOR is set.
    pub fn color(self) -> bool {
        self.stdout && std::env::var_os("NO_COLOR").is_none()
    }
}
