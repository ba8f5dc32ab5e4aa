//! The EPUB exporter fed with arbitrary models. Most inputs come with a cover of their own,
//! as with `--cover`: drawing the generated cover (a large PNG) would slow the fuzzer to a few
//! inputs a second; the flag byte asks for the generated one now and then.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postbook_core::model::ImageData;
use postbook_core::{Book, Exporter};
use postbook_epub::{EpubExporter, EpubOptions};

/// A 1×1 grey PNG.
const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0,
    0, 0, 58, 126, 155, 85, 0, 0, 0, 10, 73, 68, 65, 84, 120, 156, 99, 104, 0, 0, 0, 130, 0, 129,
    119, 205, 114, 182, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

fuzz_target!(|input: (Book, u8)| {
    let (book, flags) = input;
    let cover = (flags % 16 != 0).then(|| ImageData {
        media_type: "image/png".into(),
        data: std::sync::Arc::new(PNG.to_vec()),
        width: 1,
        height: 1,
    });
    let exporter = EpubExporter::new(EpubOptions {
        cover,
        toc_depth: usize::from(flags % 4) + 1,
        ..EpubOptions::default()
    });
    let mut out = Vec::new();
    let _ = exporter.export(&book, &mut out);
});
