//! docs/reference.md is generated from the clap definitions, so it cannot drift from
//! the binary: this test renders it and compares. To refresh it after changing flags:
//! `UPDATE_DOCS=1 cargo test --test docs`.

use clap::CommandFactory;
use kubectl_longhorn_systembackup::cli::Cli;

fn render(command: &mut clap::Command, path: &str, out: &mut String) {
    let help = command.render_long_help().to_string();
    let level = (path.split(' ').count() - 1).min(4);
    out.push_str(&format!(
        "{} `{path}`\n\n```text\n{}\n```\n\n",
        "#".repeat(level),
        help.trim_end()
    ));
    let names: Vec<String> = command
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub = command
            .find_subcommand_mut(&name)
            .expect("listed subcommand");
        render(sub, &format!("{path} {name}"), out);
    }
}

fn reference() -> String {
    let display = "kubectl longhorn systembackup";
    let mut command = Cli::command()
        .name(display)
        .bin_name(display)
        .term_width(100);
    command.build();
    let mut out = String::from(
        "# Command reference\n\nGenerated from the command definitions by `tests/docs.rs`; do not edit by hand.\n\
         Every command also takes the cluster options (`--kubeconfig`, `--context`, `--cluster`, `--user`,\n\
         `-n/--namespace`, `--request-timeout`, `-v`), shown in full under the first entry.\n\n",
    );
    render(&mut command, display, &mut out);
    out
}

#[test]
fn reference_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md");
    let expected = reference();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).expect("write docs/reference.md");
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/reference.md is out of date with the CLI; regenerate it with: UPDATE_DOCS=1 cargo test --test docs"
    );
}
