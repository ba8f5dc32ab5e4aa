//! The EPUB exporter fed with arbitrary models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postbook_core::{Book, Exporter};
use postbook_epub::{EpubExporter, EpubOptions};

fuzz_target!(|book: Book| {
    let exporter = EpubExporter::new(EpubOptions::default());
    let mut out = Vec::new();
    let _ = exporter.export(&book, &mut out);
});
