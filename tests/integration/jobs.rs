//! `--jobs N`: the same book, byte for byte, whatever the number of threads.

use crate::common::*;

#[test]
fn outputs_are_the_same_for_any_number_of_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs: Vec<String> = [
        "rest/samples/gutenberg-posts-embed.json",
        "rest/scripts/hebrew.json",
        "rest/scripts/persian.json",
        "rest/scripts/hindi.json",
    ]
    .iter()
    .map(|p| fixtures().join(p).to_str().expect("utf-8").to_string())
    .collect();
    let media = fixtures().join("media");
    for format in ["txt", "epub", "pdf"] {
        let mut outputs = Vec::new();
        for jobs in ["1", "2", "5"] {
            let path = dir.path().join(format!("book-{jobs}.{format}"));
            let mut args = vec!["convert"];
            args.extend(inputs.iter().map(String::as_str));
            args.extend([
                "-f",
                format,
                "-j",
                jobs,
                "--media",
                media.to_str().unwrap(),
                "-q",
                "-o",
                path.to_str().unwrap(),
            ]);
            let out = run(&args);
            assert!(out.status.success(), "{format} -j {jobs}: {}", stderr(&out));
            outputs.push((jobs, std::fs::read(&path).expect("output")));
        }
        let (_, first) = &outputs[0];
        assert!(first.len() > 1000, "{format}: {} bytes", first.len());
        for (jobs, bytes) in &outputs[1..] {
            assert!(
                bytes == first,
                "{format}: -j {jobs} gave other bytes than -j 1 ({} and {})",
                bytes.len(),
                first.len()
            );
        }
    }
    // not a number of threads
    for bad in ["0", "x", "-1"] {
        let flag = format!("--jobs={bad}");
        let out = run(&["convert", &inputs[0], "-f", "txt", &flag]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
}

/// Every fixture on its own (a single post has no front matter, an export is read another
/// way): `--jobs 1` and `--jobs 4` give the same bytes in every format.
#[test]
fn every_fixture_is_the_same_with_one_thread_and_four() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut inputs = Vec::new();
    for sub in ["rest/elements", "rest/scripts", "rest/samples", "wxr"] {
        let mut files: Vec<_> = std::fs::read_dir(fixtures().join(sub))
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "xml"))
            .collect();
        files.sort();
        inputs.extend(files);
    }
    assert!(inputs.len() >= 10, "{} fixtures", inputs.len());
    let media = fixtures().join("media");
    for input in &inputs {
        let name = input.file_name().and_then(|n| n.to_str()).expect("name");
        for format in ["txt", "epub", "pdf"] {
            let mut outputs = Vec::new();
            for jobs in ["1", "4"] {
                let path = dir.path().join(format!("{name}-{jobs}.{format}"));
                let out = run(&[
                    "convert",
                    input.to_str().expect("utf-8"),
                    "-f",
                    format,
                    "-j",
                    jobs,
                    "--media",
                    media.to_str().expect("utf-8"),
                    "-q",
                    "-o",
                    path.to_str().expect("utf-8"),
                ]);
                assert!(
                    out.status.success(),
                    "{name} {format} -j {jobs}: {}",
                    stderr(&out)
                );
                outputs.push(std::fs::read(&path).expect("output"));
            }
            assert!(outputs[0].len() > 100, "{name} {format}");
            assert!(
                outputs[0] == outputs[1],
                "{name} {format}: -j 4 gave other bytes than -j 1"
            );
        }
    }
}
