//! postbook's access to the outside world: a live WordPress site over its REST API
//! ([`site`]), and the images posts name, from a local copy of the site's `wp-content`
//! (`--media`), from `data:` URIs, or downloaded over HTTP(S) when the user asks
//! (`--fetch-images`).
//!
//! Content never makes postbook read a local path it names (`file://`, absolute paths, `..`),
//! and nothing is downloaded unless fetching was asked for.

pub mod http;
pub mod images;
pub mod site;

pub use http::{FetchError, HttpClient, HttpLimits, is_private_address, is_private_host};
pub use images::{ImageReport, ImageSources, resolve_images};
pub use site::{Fetched, Kind, SiteError, SiteQuery, fetch_site};
