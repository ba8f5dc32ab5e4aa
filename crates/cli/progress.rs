//! The progress bar on stderr: reading, laying out and writing, shown only when stderr is a
//! terminal and `-q` is not given. Messages printed while it shows go above it.

use std::io::IsTerminal;
use std::sync::OnceLock;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// Sets the bar up for the run: visible when stderr is a terminal and not `quiet`.
pub fn init(quiet: bool) {
    let visible = !quiet && std::io::stderr().is_terminal();
    let bar = if visible {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        bar.set_style(style(None));
        bar
    } else {
        ProgressBar::hidden()
    };
    let _ = BAR.set(bar);
}

fn bar() -> Option<&'static ProgressBar> {
    BAR.get().filter(|b| !b.is_hidden())
}

/// Starts a step: `message`, with a bar of `total` items when it is known, else a count.
pub fn step(message: &str, total: Option<usize>) {
    let Some(bar) = bar() else { return };
    // the message first, the style last: whatever is drawn in between names the new step
    bar.set_message(message.to_string());
    bar.set_length(total.map_or(0, |t| t as u64));
    bar.set_position(0);
    bar.set_style(style(total));
    bar.tick();
}

/// A bar when the total is known, else a spinner with a count; a long message is cut to the
/// terminal's width rather than wrapped.
fn style(total: Option<usize>) -> ProgressStyle {
    let template = match total {
        Some(_) => "{wide_msg} [{bar:30}] {pos}/{len} {elapsed}",
        None => "{spinner} {wide_msg} {pos} {elapsed}",
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Moves the current step to `done` items.
pub fn set(done: usize) {
    if let Some(bar) = bar() {
        bar.set_position(done as u64);
    }
}

/// `n` more items done in the current step.
pub fn add(n: usize) {
    if let Some(bar) = bar() {
        bar.inc(n as u64);
    }
}

/// Clears the bar at the end of the run.
pub fn finish() {
    if let Some(bar) = bar() {
        bar.finish_and_clear();
    }
}

/// Prints a line to stderr above the bar.
pub fn eprint_line(line: &str) {
    match bar() {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}
