//! postbook's core: the document model ([`model`]), the WordPress readers ([`rest`], [`wxr`]), HTML to
//! the model ([`html`]), book assembly ([`book`]) and the [`Exporter`] trait.
//!
//! Core knows no exporter and no network: inputs come in as bytes, books go out as a model.

pub mod book;
pub mod dump;
pub mod error;
pub mod exporter;
pub mod filter;
pub mod html;
pub mod labels;
pub mod lang;
pub mod model;
pub mod rest;
pub mod wxr;

pub use book::{BookOptions, GroupBy, Order, assemble};
pub use error::{ExportError, ReadError};
pub use exporter::Exporter;
pub use filter::Filter;
pub use model::{Block, Book, BookMeta, Chapter, DateTime, Inline, Part, PostMeta};
pub use rest::{Post, ReadOutput, Site, read_rest_json, read_rest_json_each, read_rest_json_from};
pub use wxr::{WxrOptions, read_wxr};

/// Runs `f`, failing the test when it takes `secs` seconds or more: the tests of hostile input
/// that must stay linear.
#[cfg(test)]
pub(crate) fn within<T>(secs: u64, what: &str, f: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let out = f();
    assert!(
        started.elapsed().as_secs() < secs,
        "{what}: {:?}",
        started.elapsed()
    );
    out
}
