//! Shell completions and the manual page, made from the argument definitions.

use std::process::{Command, Stdio};

use crate::common::*;

/// `postbook completions SHELL` prints a script for each shell; bash's, loaded into bash and
/// called as bash calls it (command, word, previous word), completes `--format` with the
/// format names and the subcommands by name.
#[test]
fn completions_complete_formats_and_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("postbook"), "{shell}: {script}");
        assert!(script.contains("format"), "{shell}: no --format");
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );

    if !tool_available("bash", "bash", &["-c", "true"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("postbook.bash");
    std::fs::write(&script, run(&["completions", "bash"]).stdout).expect("script");
    let complete = |words: &str, cword: usize| -> String {
        let program = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={cword}; _postbook postbook \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new("bash")
            .args(["--norc", "-c", &program])
            .stdin(Stdio::null())
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let formats = complete("postbook convert --format ''", 3);
    assert_eq!(formats, "txt epub pdf all");
    assert_eq!(complete("postbook convert -f e", 3), "epub");
    let subcommands = complete("postbook ''", 1);
    for name in ["convert", "fetch", "formats", "completions", "man"] {
        assert!(
            subcommands.split_whitespace().any(|w| w == name),
            "{name} not in {subcommands}"
        );
    }
}

/// `postbook man` prints a manual page that `man` renders, with every subcommand's options.
#[test]
fn the_manual_page_renders() {
    let out = run(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let roff = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(roff.contains(".TH postbook 1"), "{roff}");
    for section in ["POSTBOOK CONVERT: OPTIONS", "POSTBOOK FETCH: OPTIONS"] {
        assert!(roff.contains(section), "no {section}");
    }
    if !tool_available("man", "man", &["--version"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("postbook.1");
    std::fs::write(&page, &roff).expect("page");
    let out = Command::new("man")
        .args(["-l", page.to_str().expect("utf-8")])
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .stdin(Stdio::null())
        .output()
        .expect("man");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
    for option in ["--format", "--page-size", "--jobs", "--output"] {
        assert!(text.contains(option), "the rendered page lacks {option}");
    }
    assert!(!text.contains(".SH"), "roff left unrendered");
}
