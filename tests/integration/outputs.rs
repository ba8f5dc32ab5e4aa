//! Output paths that are not plain files: devices, named pipes, symbolic links, a folder in
//! the way, and two runs writing the same file at once. Nothing postbook does may replace a
//! device, a pipe or a link; a regular file is replaced whole or not at all.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;

const FORMATS: [&str; 3] = ["txt", "epub", "pdf"];

fn seed() -> String {
    fixtures()
        .join("rest/samples/seed-post-9325.json")
        .to_str()
        .expect("utf-8 path")
        .to_string()
}

/// Converts the seed post into `format` in `dir`, writing to `output`.
fn convert_seed(dir: &Path, format: &str, output: &str) -> std::process::Output {
    run_in(dir, &["convert", &seed(), "-f", format, "-o", output], None)
}

/// The bytes `postbook` writes for the seed post in `format` to a fresh regular file.
fn reference(dir: &Path, format: &str) -> Vec<u8> {
    output_of(dir, &seed(), format, "reference")
}

/// The bytes `postbook` writes for `input` in `format` to a fresh regular file `NAME.FORMAT`.
fn output_of(dir: &Path, input: &str, format: &str, name: &str) -> Vec<u8> {
    let path = dir.join(format!("{name}.{format}"));
    let out = run_in(
        dir,
        &[
            "convert",
            input,
            "-f",
            format,
            "-o",
            path.to_str().unwrap(),
            "-q",
        ],
        None,
    );
    assert!(out.status.success(), "{input}: {}", stderr(&out));
    std::fs::read(&path).expect("output")
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".postbook-"))
        .collect()
}

fn is_char_device(path: &str) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

#[test]
fn dev_null_and_dev_full_are_written_not_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in FORMATS {
        let out = convert_seed(dir.path(), format, "/dev/null");
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("warning"),
            "{format}: a device is not a misnamed file: {}",
            stderr(&out)
        );
        assert!(is_char_device("/dev/null"), "{format}: /dev/null replaced");

        let out = convert_seed(dir.path(), format, "/dev/full");
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("/dev/full: cannot write: No space left on device"),
            "{format}: {err}"
        );
        assert!(is_char_device("/dev/full"), "{format}: /dev/full replaced");

        // the same through standard output
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        let out = Command::new(env!("CARGO_BIN_EXE_postbook"))
            .args(["convert", &seed(), "-f", format, "-o", "-"])
            .stdin(Stdio::null())
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{format}");
        assert!(
            stderr(&out).contains("standard output: cannot write: No space left on device"),
            "{format}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_named_pipe_gets_the_whole_output_and_stays_a_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in FORMATS {
        let expected = reference(dir.path(), format);
        let fifo = dir.path().join(format!("pipe.{format}"));
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            // opening a pipe for reading waits for its writer
            std::thread::spawn(move || std::fs::read(&fifo).expect("read the pipe"))
        };
        let out = convert_seed(dir.path(), format, fifo.to_str().unwrap());
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        let received = reader.join().expect("reader");
        assert_eq!(
            received.len(),
            expected.len(),
            "{format}: bytes through the pipe"
        );
        assert!(received == expected, "{format}: the pipe got other bytes");
        let kind = std::fs::symlink_metadata(&fifo).expect("pipe").file_type();
        assert!(kind.is_fifo(), "{format}: the pipe was replaced");
        assert!(leftovers(dir.path()).is_empty());

        // /dev/stdout is a link whose text is not a path ("pipe:[N]"): still the pipe
        let out = convert_seed(dir.path(), format, "/dev/stdout");
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        assert!(
            out.stdout == expected,
            "{format}: /dev/stdout got other bytes"
        );
    }
}

#[test]
fn a_symbolic_link_is_followed_and_stays_a_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = dir.path().join("targets");
    std::fs::create_dir(&targets).expect("mkdir");
    for format in FORMATS {
        let expected = reference(dir.path(), format);
        // a link to an existing file (relative, into another folder)
        let real = targets.join(format!("book.{format}"));
        std::fs::write(&real, b"the old book").expect("write");
        let link = dir.path().join(format!("link.{format}"));
        std::os::unix::fs::symlink(format!("targets/book.{format}"), &link).expect("symlink");
        // a link to a file that does not exist yet
        let missing = targets.join(format!("new.{format}"));
        let dangling = dir.path().join(format!("dangling.{format}"));
        std::os::unix::fs::symlink(&missing, &dangling).expect("symlink");

        for (link, real) in [(&link, &real), (&dangling, &missing)] {
            let out = convert_seed(dir.path(), format, link.to_str().unwrap());
            assert!(out.status.success(), "{format}: {}", stderr(&out));
            let kind = std::fs::symlink_metadata(link).expect("link").file_type();
            assert!(kind.is_symlink(), "{format}: {} replaced", link.display());
            assert!(
                std::fs::read(real).expect("target") == expected,
                "{format}: {} not updated through its link",
                real.display()
            );
        }
        assert!(leftovers(dir.path()).is_empty() && leftovers(&targets).is_empty());
    }
}

#[test]
fn a_folder_in_the_way_is_an_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    const STEM: &str = "are-north-koreans-fighting-in-ukraine-heres-what-we-know";
    for format in FORMATS {
        // in a folder of outputs, a folder where this format's file should go
        let out_dir = dir.path().join(format!("out-{format}"));
        let blocker = out_dir.join(format!("{STEM}.{format}"));
        std::fs::create_dir_all(blocker.join("inside")).expect("mkdir");
        let folder = format!("out-{format}/");
        let out = run_in(
            dir.path(),
            &["convert", &seed(), "-f", "all", "-o", &folder],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{STEM}.{format}: cannot write: a folder is in the way"
            )),
            "{format}: {err}"
        );
        // the folder is untouched and none of the other formats was written
        assert!(blocker.join("inside").is_dir());
        let names: Vec<String> = std::fs::read_dir(&out_dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("{STEM}.{format}")], "{format}");
        // and as the one output file
        let single = dir.path().join(format!("single.{format}"));
        std::fs::create_dir_all(single.join("inside")).expect("mkdir");
        let out = convert_seed(dir.path(), format, single.to_str().unwrap());
        // a folder given as the output is where the file goes
        assert!(out.status.success(), "{format}: {}", stderr(&out));
        assert!(
            single.join(format!("{STEM}.{format}")).is_file(),
            "{format}"
        );
        assert!(single.join("inside").is_dir());
    }
    // a link to a folder is a folder: the output goes inside it
    let out_dir = dir.path().join("out-txt");
    std::fs::remove_dir_all(out_dir.join(format!("{STEM}.txt"))).expect("rm");
    let linked = dir.path().join("linked");
    std::os::unix::fs::symlink(&out_dir, &linked).expect("symlink");
    let out = convert_seed(dir.path(), "txt", "linked");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out_dir.join(format!("{STEM}.txt")).is_file());
    assert!(
        std::fs::symlink_metadata(&linked)
            .expect("link")
            .file_type()
            .is_symlink()
    );
}

#[test]
fn two_runs_writing_one_path_at_once_leave_one_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = fixtures()
        .join("rest/samples/gutenberg-posts.json")
        .to_str()
        .unwrap()
        .to_string();
    for format in ["txt", "epub"] {
        let a = reference(dir.path(), format);
        let b = output_of(dir.path(), &other, format, "b");
        let target: PathBuf = dir.path().join(format!("same.{format}"));
        for round in 0..6 {
            let spawn = |input: &str| {
                Command::new(env!("CARGO_BIN_EXE_postbook"))
                    .args(["convert", input, "-f", format, "-q", "-o"])
                    .arg(&target)
                    .stdin(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start")
            };
            let first = spawn(&seed());
            let second = spawn(&other);
            for child in [first, second] {
                let out = child.wait_with_output().expect("wait");
                assert!(out.status.success(), "{}", stderr(&out));
            }
            let got = std::fs::read(&target).expect("result");
            assert!(
                got == a || got == b,
                "{format} round {round}: {} bytes, neither run's whole output ({} or {})",
                got.len(),
                a.len(),
                b.len()
            );
        }
        assert!(leftovers(dir.path()).is_empty());
    }
}
