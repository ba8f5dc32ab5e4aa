//! The HTML-to-model walk, as blocks (post bodies) and as inlines (titles).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postbook_core::html::{html_to_blocks, html_to_inlines, html_to_text};

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    html_to_blocks(&html);
    html_to_inlines(&html);
    html_to_text(&html);
});
