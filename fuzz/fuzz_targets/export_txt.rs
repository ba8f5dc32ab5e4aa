//! The plain-text exporter fed with arbitrary models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postbook_core::{Book, Exporter};
use postbook_text::{TextExporter, TextOptions};

fuzz_target!(|input: (Book, u8)| {
    let (book, width) = input;
    let exporter = TextExporter::new(TextOptions {
        width: usize::from(width),
    });
    let mut out = Vec::new();
    if exporter.export(&book, &mut out).is_ok() {
        assert!(std::str::from_utf8(&out).is_ok(), "the text is not UTF-8");
    }
});
