//! Limits that protect the user: images named by someone else's content are not fetched
//! from the user's own network, and inputs and posts larger than the limits are refused with
//! a message naming the file and the limit.

use std::path::Path;

use crate::common::*;

fn post_json(link: &str, html: &str) -> String {
    let content = serde_json::to_string(html).expect("json string");
    format!(
        r#"{{"id":7,"slug":"p","link":"{link}","title":{{"rendered":"P"}},"content":{{"rendered":{content}}}}}"#
    )
}

fn embedded_images(epub: &Path) -> usize {
    let zip = zip::ZipArchive::new(std::fs::File::open(epub).expect("open")).expect("zip");
    zip.file_names()
        .filter(|n| n.starts_with("OEBPS/images/image-"))
        .count()
}

#[test]
fn images_on_private_addresses_are_fetched_only_for_a_site_there_or_when_allowed() {
    let png = std::fs::read(fixtures().join("media/foo.png")).expect("png");
    let base = serve(
        vec![
            ("/a.png", 200, "image/png", png.clone()),
            ("/b.png", 200, "image/png", png),
        ],
        60,
    );
    let port = base.rsplit(':').next().expect("port");
    // by address and by a name that resolves to loopback: the check is on the address
    let html = format!(
        "<p>text</p><figure><img src=\"{base}/a.png\" alt=\"a\"></figure><figure><img src=\"http://localhost:{port}/b.png\" alt=\"b\"></figure>"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let public = dir.path().join("public.json");
    std::fs::write(&public, post_json("https://blog.invalid/p/", &html)).expect("write");
    let local = dir.path().join("local.json");
    std::fs::write(&local, post_json(&format!("{base}/p/"), &html)).expect("write");
    let book = dir.path().join("p.epub");
    let convert = |input: &Path, extra: &[&str]| {
        let mut args = vec![
            "convert",
            input.to_str().expect("utf-8"),
            "-o",
            book.to_str().expect("utf-8"),
            "--fetch-images",
            "-v",
        ];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        (stderr(&out), embedded_images(&book))
    };

    // a site elsewhere: its content cannot reach loopback
    let (err, n) = convert(&public, &[]);
    assert_eq!(n, 0, "{err}");
    assert!(err.contains("2 of 2 images could not be embedded"), "{err}");
    assert!(
        err.contains(
            "not fetched: 127.0.0.1 is on a private address (127.0.0.1), and the site is not; --allow-private-hosts fetches it"
        ),
        "{err}"
    );
    assert!(
        err.contains("not fetched: localhost is on a private address"),
        "{err}"
    );
    // unless the user allows it
    let (err, n) = convert(&public, &["--allow-private-hosts"]);
    assert_eq!(n, 2, "{err}");
    // a site that is itself on loopback keeps its images
    let (err, n) = convert(&local, &[]);
    assert_eq!(n, 2, "{err}");
}

#[test]
fn private_address_ranges() {
    use postbook_fetch::is_private_address;
    for ip in [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ] {
        assert!(is_private_address(ip.parse().expect(ip)), "{ip} is private");
    }
    for ip in [
        "8.8.8.8",
        "172.32.0.1",
        "172.15.255.255",
        "192.169.0.1",
        "100.128.0.1",
        "2001:4860::8888",
        "::ffff:8.8.8.8",
    ] {
        assert!(!is_private_address(ip.parse().expect(ip)), "{ip} is public");
    }
}

#[test]
fn inputs_larger_than_the_limit_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("big.json");
    let html = format!("<p>{}</p>", "word ".repeat(40_000));
    std::fs::write(&input, post_json("https://blog.invalid/p/", &html)).expect("write");
    let name = input.to_str().expect("utf-8");
    // exit 1, the message on standard error, nothing on standard output
    let refused = |out: std::process::Output, message: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    };
    let to_text =
        |input: &str, limit: &str| run(&["convert", input, "-f", "txt", "-o", "-", limit]);

    // a file
    refused(
        to_text(name, "--max-input-size=100K"),
        &format!("{name}: larger than 100 KB, the largest input read (--max-input-size)"),
    );
    // standard input
    let bytes = std::fs::read(&input).expect("read");
    refused(
        run_in(
            dir.path(),
            &[
                "convert",
                "-",
                "-f",
                "txt",
                "-o",
                "-",
                "--max-input-size=100K",
            ],
            Some(&bytes),
        ),
        "<stdin>: more than 100 KB, the largest input read (--max-input-size)",
    );
    // a folder of files: the file is named
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::copy(&input, folder.join("big.json")).expect("copy");
    refused(
        to_text(folder.to_str().unwrap(), "--max-input-size=150000"),
        "big.json: larger than 146.5 KB",
    );
    // one post's HTML
    refused(
        to_text(name, "--max-post-size=64K"),
        &format!(
            "{name}: post 7 has 195.3 KB of HTML, more than 64 KB, the largest post read (--max-post-size)"
        ),
    );
    // within the limits, and the defaults, it converts
    for extra in ["--max-input-size=1M", "--max-post-size=1M", "-q"] {
        let out = to_text(name, extra);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("word word"));
    }
    // a size that is not one is a usage error
    for bad in ["0", "12X", "-5", "99999999999G", "1.5M"] {
        let out = to_text(name, &format!("--max-input-size={bad}"));
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is not a size"),
            "{bad}: {}",
            stderr(&out)
        );
    }
}
