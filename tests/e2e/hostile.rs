//! Hostile and broken bundles: `inspect` meets zips built to hurt it and must refuse
//! each with one clear line, in bounded memory, writing nothing. (docs/reliability.md
//! states the limits.)

use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;

use crate::harness::{self, Run};

/// Peak resident memory allowed for one `inspect` of a hostile file.
const MAX_RSS_KIB: u64 = 256 * 1024;

/// A small valid bundle's entries, for hostile variations.
fn valid_entries(name: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            format!("{name}/metadata.yaml"),
            b"longhornVersion: v1.12.0\n".to_vec(),
        ),
        (
            format!("{name}/yamls/longhorn/volumes.yaml"),
            b"apiVersion: longhorn.io/v1beta2\nitems: []\nkind: VolumeList\nmetadata:\n  resourceVersion: \"1\"\n"
                .to_vec(),
        ),
    ]
}

fn write_zip(path: &Path, entries: &[(String, Vec<u8>)], options: SimpleFileOptions) {
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in entries {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap();
}

/// A raw deflate stream that inflates to `blocks` MiB of zeros, built from one
/// compressed block repeated, so an 8 GiB bomb costs milliseconds to make.
fn deflate_zeros(blocks: usize) -> (Vec<u8>, u64) {
    let chunk = vec![0u8; 1 << 20];
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&chunk).unwrap();
    encoder.flush().unwrap(); // sync flush: ends on a byte boundary, block not final
    let block = encoder.get_ref().clone();
    let mut stream = Vec::with_capacity(block.len() * blocks + 2);
    for _ in 0..blocks {
        stream.extend_from_slice(&block);
    }
    stream.extend_from_slice(&[0x03, 0x00]); // a final, empty fixed-Huffman block
    (stream, (chunk.len() * blocks) as u64)
}

/// A zip with one deflated entry whose local and central headers declare
/// `declared_size`, whatever the stream inflates to.
fn raw_deflate_zip(path: &Path, name: &str, stream: &[u8], declared_size: u64) {
    let declared = u32::try_from(declared_size.min(u64::from(u32::MAX))).unwrap();
    let name = name.as_bytes();
    let compressed = u32::try_from(stream.len()).unwrap();
    let crc = 0u32; // never reached: the caps stop reading first
    let mut out = Vec::new();
    let local = |out: &mut Vec<u8>| {
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&8u16.to_le_bytes()); // deflate
        out.extend_from_slice(&0u32.to_le_bytes()); // time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&compressed.to_le_bytes());
        out.extend_from_slice(&declared.to_le_bytes());
        out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
    };
    local(&mut out);
    out.extend_from_slice(stream);
    let central_at = u32::try_from(out.len()).unwrap();
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&20u16.to_le_bytes()); // made by
    out.extend_from_slice(&20u16.to_le_bytes()); // needed
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&compressed.to_le_bytes());
    out.extend_from_slice(&declared.to_le_bytes());
    out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&[0; 2 + 2 + 2 + 2 + 4]); // extra, comment, disk, attrs
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name);
    let central_size = u32::try_from(out.len()).unwrap() - central_at;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).unwrap();
}

/// The hostile files, each with the words its refusal must contain.
fn hostile_bundles(dir: &Path) -> Vec<(&'static str, PathBuf, &'static str)> {
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut cases = Vec::new();
    let mut add = |label: &'static str, expected: &'static str, make: &dyn Fn(&Path)| {
        let path = dir.join(format!("{label}.zip"));
        make(&path);
        cases.push((label, path, expected));
    };

    let (bomb, inflated) = deflate_zeros(8 << 10); // 8 GiB
    add("bomb", "zip bomb", &|p| {
        raw_deflate_zip(p, "bomb/yamls/longhorn/volumes.yaml", &bomb, inflated)
    });
    add("bomb-lying-header", "", &|p| {
        raw_deflate_zip(
            p,
            "bomb-lying-header/yamls/longhorn/volumes.yaml",
            &bomb,
            4096,
        )
    });
    add("many-entries", "entries", &|p| {
        many_empty_entries(p, "many-entries", 60_000)
    });
    add("traversal", "path traversal", &|p| {
        let mut entries = valid_entries("traversal");
        entries.push(("traversal/../../etc/cron.d/evil".into(), b"x".to_vec()));
        write_zip(p, &entries, deflated);
    });
    add("absolute", "path traversal", &|p| {
        let mut entries = valid_entries("absolute");
        entries.push(("/etc/cron.d/evil".into(), b"x".to_vec()));
        write_zip(p, &entries, deflated);
    });
    add("symlink", "symbolic link", &|p| {
        let mut writer = zip::ZipWriter::new(std::fs::File::create(p).unwrap());
        for (name, data) in valid_entries("symlink") {
            writer.start_file(name, deflated).unwrap();
            writer.write_all(&data).unwrap();
        }
        writer
            .add_symlink(
                "symlink/yamls/longhorn/settings.yaml",
                "/etc/shadow",
                deflated,
            )
            .unwrap();
        writer.finish().unwrap();
    });
    add("duplicate", "more than once", &|p| {
        let mut entries = valid_entries("duplicate");
        entries.push(entries[1].clone());
        // The zip crate refuses to write a duplicate name; write it under a placeholder
        // of the same length and rename it in the bytes.
        let last = entries.len() - 1;
        entries[last].0 = entries[last].0.replace("volumes", "volumez");
        write_zip(p, &entries, deflated);
        let bytes = std::fs::read(p).unwrap();
        let renamed = replace_all(&bytes, b"volumez.yaml", b"volumes.yaml");
        std::fs::write(p, renamed).unwrap();
    });
    add("truncated", "", &|p| {
        let mut entries = valid_entries("truncated");
        entries.push((
            "truncated/yamls/longhorn/settings.yaml".into(),
            vec![b'a'; 100_000],
        ));
        write_zip(p, &entries, deflated);
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
    });
    add("deep-yaml", "", &|p| {
        let mut entries = valid_entries("deep-yaml");
        let depth = 10_000;
        let mut text =
            String::from("apiVersion: longhorn.io/v1beta2\nkind: VolumeList\nitems:\n- spec: ");
        text.push_str(&"[".repeat(depth));
        text.push_str(&"]".repeat(depth));
        text.push('\n');
        entries[1].1 = text.into_bytes();
        write_zip(p, &entries, deflated);
    });
    add("long-line", "", &|p| {
        // 1 GiB on one line, stored as a bomb would be: its ratio gives it away.
        let (line, inflated) = deflate_zeros(1 << 10);
        raw_deflate_zip(p, "long-line/yamls/longhorn/volumes.yaml", &line, inflated)
    });
    cases
}

/// A zip of `count` empty stored entries, written directly (the zip crate takes a
/// quarter of a millisecond per entry in a debug build).
fn many_empty_entries(path: &Path, folder: &str, count: u16) {
    let mut local = Vec::new();
    let mut central = Vec::new();
    for i in 0..count {
        let name = format!("{folder}/yamls/longhorn/{i}.yaml");
        let offset = u32::try_from(local.len()).unwrap();
        let name_len = u16::try_from(name.len()).unwrap();
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, stored, time, date
        local.extend_from_slice(&[0; 12]); // crc, sizes
        local.extend_from_slice(&name_len.to_le_bytes());
        local.extend_from_slice(&[0, 0]);
        local.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_at = u32::try_from(local.len()).unwrap();
    let central_size = u32::try_from(central.len()).unwrap();
    let mut out = local;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).unwrap();
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Runs `inspect FILE` under GNU time, returning the run and its peak RSS in KiB.
async fn inspect_measured(file: &Path, dir: &Path) -> (Run, u64) {
    let rss_file = dir.join("rss");
    let args = vec![
        "-f".to_string(),
        "%M".to_string(),
        "-o".to_string(),
        rss_file.display().to_string(),
        harness::binary().display().to_string(),
        "inspect".to_string(),
        file.display().to_string(),
    ];
    let run = harness::run_in("/usr/bin/time", args, &[], Some(dir)).await;
    let rss = std::fs::read_to_string(&rss_file)
        .expect("GNU time wrote the peak RSS (apt-get install time)")
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("a number of KiB");
    let _ = std::fs::remove_file(rss_file);
    (run, rss)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_refuses_hostile_bundles_in_bounded_memory() {
    let files = tempfile::tempdir().unwrap();
    let cases = hostile_bundles(files.path());
    let work = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (label, path, expected) in &cases {
        let (run, rss) = inspect_measured(path, work.path()).await;
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let mut problems = Vec::new();
        if run.code != 1 {
            problems.push(format!("exit {}", run.code));
        }
        if lines.len() != 1 || !lines[0].starts_with("error: ") {
            problems.push(format!("{} stderr lines", lines.len()));
        }
        if run.stderr.contains("panicked") {
            problems.push("panicked".into());
        }
        if !run.stderr.contains(expected) {
            problems.push(format!("no {expected:?} in the message"));
        }
        if rss > MAX_RSS_KIB {
            problems.push(format!("peak RSS {} MiB", rss / 1024));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{label}: {}\n  stderr: {}",
                problems.join(", "),
                run.stderr.trim().chars().take(400).collect::<String>()
            ));
        }
    }
    let written: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert!(written.is_empty(), "inspect wrote files: {written:?}");
    assert!(
        failures.is_empty(),
        "{} of {} hostile bundles were not refused cleanly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
