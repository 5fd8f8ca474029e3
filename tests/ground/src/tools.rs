//! Finds the ground's binaries. Each one is built from a package registry by
//! `tests/tools/install.sh` and cached outside the clone, so this is fast after the
//! first run; a missing toolchain fails loudly with the script's instructions.

use std::path::PathBuf;
use std::process::Command;

use crate::Error;

/// Path of `tests/tools/install.sh` in this checkout.
pub fn install_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/install.sh")
}

/// Runs `install.sh <component> [arg]` and returns the path it prints.
pub fn install(component: &str, arg: Option<&str>) -> Result<PathBuf, Error> {
    let script = install_script();
    let mut command = Command::new("bash");
    command.arg(&script).arg(component);
    if let Some(arg) = arg {
        command.arg(arg);
    }
    let output = command.output().map_err(|source| Error::Io {
        context: format!("running {}", script.display()),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::Install {
            component: component.to_string(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Ok(PathBuf::from(path))
}
