//! The PDF exporter fed with arbitrary models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postbook_core::{Book, Exporter};
use postbook_pdf::{PdfExporter, PdfOptions};

fuzz_target!(|book: Book| {
    let exporter = PdfExporter::new(PdfOptions::default());
    let mut out = Vec::new();
    let _ = exporter.export(&book, &mut out);
});
