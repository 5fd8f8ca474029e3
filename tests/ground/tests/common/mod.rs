//! Helpers shared by the oracle tests.

use std::io::Write;

use longhorn_ground::crds::selected_version;

/// The Longhorn version under test (LONGHORN_VERSION, default the newest supported).
pub fn version() -> String {
    selected_version().expect("a supported LONGHORN_VERSION")
}

/// A deflated zip of `(path, contents)` entries.
pub fn build_zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, contents) in files {
        writer.start_file(*path, options).unwrap();
        writer.write_all(contents.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}
