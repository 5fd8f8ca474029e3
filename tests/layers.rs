//! The import rule of docs/design.md, checked over the sources: the top-level modules
//! form layers and every `crate::…`/`super::…` path goes to a lower one, and within
//! a module no file reaches itself again through the files it uses (no cycle). A
//! violation names the file and the path that breaks the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer: a path may only lead to a lower layer.
const LAYERS: &[(&str, u8)] = &[
    ("cli", 6),
    ("commands", 5),
    ("bundle", 4),
    ("store", 4),
    ("longhorn", 3),
    ("cron", 2),
    ("kube", 1),
    ("output", 1),
    ("go", 0),
];

/// A source file of the crate: its module path (`["longhorn", "install"]`).
struct Source {
    module: Vec<String>,
    text: String,
}

fn sources() -> BTreeMap<PathBuf, Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).expect("under src");
            let mut module: Vec<String> = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let text = strip_comments_and_strings(&std::fs::read_to_string(&path).expect("read"));
            found.insert(relative.to_path_buf(), Source { module, text });
        }
    }
    found
}

/// The code without comments and string contents, so that prose naming a path is no
/// import.
fn strip_comments_and_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            ('"', _) => {
                out.push('"');
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                out.push('"');
                i += 1;
            }
            ('\'', _) if chars.get(i + 2) == Some(&'\'') => {
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Every path a file names, made absolute (`crate::a::b`, `super::c` → `[a, b]`,
/// `[parent…, c]`), use-groups expanded.
fn paths(source: &Source) -> Vec<Vec<String>> {
    let text = &source.text;
    let mut found = Vec::new();
    let starts = regex::Regex::new(r"\b(crate|super)::").expect("regex");
    for start in starts.find_iter(text) {
        // Not the tail of a longer path (`a::super::b` does not occur; `self::` aside).
        let tree = read_tree(&text[start.start()..]);
        for path in expand(&tree) {
            if let Some(absolute) = absolute(&source.module, &path) {
                found.push(absolute);
            }
        }
    }
    found
}

/// A use tree (`a::b::{c, d::{e, f}}`) or a plain path, as text.
fn read_tree(text: &str) -> String {
    let mut depth = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => break,
            _ => {}
        }
        end = i + c.len_utf8();
    }
    text[..end].to_string()
}

fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    match tree.find('{') {
        None => vec![tree],
        Some(open) => {
            let prefix = &tree[..open];
            let inner = &tree[open + 1..tree.len().saturating_sub(1)];
            let mut parts = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .flat_map(|part| {
                    expand(part).into_iter().map(move |p| {
                        if p == "self" {
                            prefix.trim_end_matches("::").to_string()
                        } else {
                            format!("{prefix}{p}")
                        }
                    })
                })
                .collect()
        }
    }
}

fn absolute(module: &[String], path: &str) -> Option<Vec<String>> {
    let mut segments = path.split("::").filter(|s| !s.is_empty());
    let mut base: Vec<String> = match segments.next()? {
        "crate" => Vec::new(),
        "super" => module[..module.len().checked_sub(1)?].to_vec(),
        _ => return None,
    };
    for segment in segments {
        if segment == "super" {
            base.pop();
        } else {
            base.push(segment.to_string());
        }
    }
    Some(base)
}

/// The file a path leads to: its longest prefix that is a module.
fn target<'a>(modules: &'a BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<&'a PathBuf> {
    (0..=path.len())
        .rev()
        .find_map(|len| modules.get(&path[..len]))
}

fn layer(top: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, layer)| *layer)
        .unwrap_or_else(|| {
            panic!("src/{top} is in no layer of tests/layers.rs; add it, and to docs/design.md")
        })
}

#[test]
fn imports_go_down_the_layers_and_no_file_reaches_itself() {
    let sources = sources();
    let modules: BTreeMap<Vec<String>, PathBuf> = sources
        .iter()
        .map(|(path, source)| (source.module.clone(), path.clone()))
        .collect();
    let mut edges: BTreeMap<&PathBuf, BTreeSet<&PathBuf>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (file, source) in &sources {
        for path in paths(source) {
            let Some(to) = target(&modules, &path) else {
                continue;
            };
            if to == file || path.is_empty() || source.module.is_empty() {
                continue;
            }
            let (from_top, to_top) = (&source.module[0], &path[0]);
            if from_top != to_top && layer(from_top) <= layer(to_top) {
                wrong.push(format!(
                    "{} (layer {}) uses crate::{} (layer {})",
                    file.display(),
                    layer(from_top),
                    path.join("::"),
                    layer(to_top)
                ));
            }
            edges.entry(file).or_default().insert(to);
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that go up or sideways:\n{}",
        wrong.join("\n")
    );

    // A cycle: a file that reaches itself through the files it uses.
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut stack: Vec<(&PathBuf, Vec<&PathBuf>)> = vec![(start, vec![start])];
        let mut seen = BTreeSet::new();
        while let Some((file, trail)) = stack.pop() {
            for next in edges.get(file).into_iter().flatten() {
                if next == start {
                    let names: Vec<String> =
                        trail.iter().map(|f| f.display().to_string()).collect();
                    cycles.push(format!("{} -> {}", names.join(" -> "), start.display()));
                } else if seen.insert(*next) {
                    let mut longer = trail.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    cycles.sort();
    cycles.dedup();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn paths_are_read_like_the_compiler_reads_them() {
    let module = vec![
        "bundle".to_string(),
        "inspect".to_string(),
        "archive".to_string(),
    ];
    let source = Source {
        module: module.clone(),
        text: strip_comments_and_strings(
            "use super::{Limits, refuse};\nuse crate::kube::{self, api::{Kube, Selector}};\n// crate::cli::x\nlet e = crate::longhorn::Error::from(\"crate::go\");",
        ),
    };
    let found: Vec<String> = paths(&source).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        [
            "bundle::inspect::Limits",
            "bundle::inspect::refuse",
            "kube",
            "kube::api::Kube",
            "kube::api::Selector",
            "longhorn::Error::from",
        ]
    );
}
