//! REST API JSON, read and built into a book as `postbook convert` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postbook_core::book::build_book;
use postbook_core::{BookOptions, read_rest_json};

fuzz_target!(|data: &[u8]| {
    if let Ok(read) = read_rest_json("fuzz.json", data) {
        let options = BookOptions {
            site: read.site,
            ..BookOptions::default()
        };
        build_book(read.posts, &options);
    }
});
