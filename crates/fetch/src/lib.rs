//! postbook's access to the outside world: images named by posts, from a local copy of the
//! site's `wp-content` (`--media`), from `data:` URIs, or downloaded over HTTP(S) when the user
//! asks (`--fetch-images`).
//!
//! Content never makes postbook read a local path it names (`file://`, absolute paths, `..`),
//! and nothing is downloaded unless fetching was asked for.

pub mod http;
pub mod images;

pub use http::{FetchError, HttpClient, HttpLimits};
pub use images::{ImageReport, ImageSources, resolve_images};
