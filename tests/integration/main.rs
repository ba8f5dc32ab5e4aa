//! postbook's end-to-end tests, as one test binary: one link instead of one per file, and
//! their tests run side by side (the validators' slow ones with the rest). The tests with time
//! bounds are `tests/long_texts.rs`, a binary of its own, so that they run alone.

mod accessibility;
mod book_file;
mod cli;
mod common;
mod epub;
mod hardening;
mod jobs;
mod live;
mod manual;
mod outputs;
mod parts;
mod pdf;
mod scripts;
mod tagged_pdf;
mod words;
