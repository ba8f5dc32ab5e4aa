//! EPUB exporter (in progress)
