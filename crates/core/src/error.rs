//! Errors of reading inputs and of exporting books.

use std::io;

/// Why an input could not be read. Every message names the input first.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The input's name.
        file: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The input is empty.
    #[error("{file}: the file is empty (expected WordPress REST API JSON)")]
    Empty {
        /// The input's name.
        file: String,
    },
    /// The input is not valid JSON.
    #[error("{file}:{line}:{column}: invalid JSON: {message}")]
    Json {
        /// The input's name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The input is not well-formed XML.
    #[error("{file}:{line}:{column}: invalid XML: {message}")]
    Xml {
        /// The input's name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the XML parser said.
        message: String,
    },
    /// The input is a WordPress error response, not posts.
    #[error("{file}: this is a WordPress error response ({status}{code}): {message}")]
    WordPress {
        /// The input's name.
        file: String,
        /// `data.status` followed by a space, or empty.
        status: String,
        /// WordPress's error code, e.g. `rest_post_invalid_id`.
        code: String,
        /// WordPress's message.
        message: String,
    },
    /// The input is JSON, but not WordPress posts.
    #[error("{file}: {message}")]
    NotPosts {
        /// The input's name.
        file: String,
        /// What was expected and what was found.
        message: String,
    },
}

/// Why an exporter failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the output failed.
    #[error("cannot write: {0}")]
    Io(#[from] io::Error),
    /// The exporter could not represent the book.
    #[error("{0}")]
    Format(String),
}
