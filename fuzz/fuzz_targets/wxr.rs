//! WordPress export files (WXR), every status kept, built into a book.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postbook_core::book::build_book;
use postbook_core::{BookOptions, WxrOptions, read_wxr};

fuzz_target!(|data: &[u8]| {
    let options = WxrOptions {
        statuses: vec!["any".into()],
        ..WxrOptions::default()
    };
    if let Ok(read) = read_wxr("fuzz.xml", data, &options) {
        let options = BookOptions {
            site: read.site,
            ..BookOptions::default()
        };
        build_book(read.posts, &options);
    }
});
