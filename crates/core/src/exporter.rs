//! The seam between the model and the output formats.

use std::io::Write;

use crate::error::ExportError;
use crate::model::Book;

/// One output format. Each exporter crate implements it; the CLI keeps the one list of them.
pub trait Exporter {
    /// The format's name as `--format` takes it, e.g. `txt`.
    fn name(&self) -> &'static str;
    /// The file extension without the dot.
    fn extension(&self) -> &'static str;
    /// A one-line description for `postbook formats`.
    fn description(&self) -> &'static str {
        ""
    }
    /// Whether the format embeds images, so that they are worth fetching before export.
    fn embeds_images(&self) -> bool {
        false
    }
    /// Warnings from the exports so far (characters no font has, …), each once; the CLI
    /// prints them after the run.
    fn take_warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Writes the whole book to `out`.
    fn export(&self, book: &Book, out: &mut dyn Write) -> Result<(), ExportError>;
    /// Writes the whole book to `out`, calling `progress(done, total)` with the chapters
    /// finished, for a progress bar. Formats that are quick need not say.
    fn export_with_progress(
        &self,
        book: &Book,
        out: &mut dyn Write,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<(), ExportError> {
        let _ = progress;
        self.export(book, out)
    }
}
