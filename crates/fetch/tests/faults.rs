//! Faults a real server will not produce on demand, from a small HTTP server started inside the
//! test on 127.0.0.1: slow answers, resets, truncated bodies, 500s then success, a redirect
//! loop, a huge body, and a site without pretty permalinks.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use postbook_fetch::site::{discover, fetch_site};
use postbook_fetch::{FetchError, HttpClient, HttpLimits, SiteError, SiteQuery};

/// What the server does for a request: given the path and how many requests came before,
/// it writes the raw answer (or nothing, to reset).
type Handler = dyn Fn(&str, usize, &mut TcpStream) + Send + Sync;

fn serve(handler: Arc<Handler>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let handler = handler.clone();
            let n = count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 8192];
                let read = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..read]).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                handler(&path, n, &mut stream);
            });
        }
    });
    format!("http://{addr}")
}

fn answer(stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn client(timeout_ms: u64) -> HttpClient {
    HttpClient::new(HttpLimits {
        timeout: Duration::from_millis(timeout_ms),
        max_bytes: 1024 * 1024,
        max_redirects: 3,
        retries: 3,
        backoff: Duration::from_millis(20),
        // the test servers are on loopback
        allow_private: true,
    })
}

#[test]
fn slow_answers_time_out() {
    let base = serve(Arc::new(|_: &str, _: usize, s: &mut TcpStream| {
        std::thread::sleep(Duration::from_millis(1500));
        answer(s, "200 OK", "", b"late");
    }));
    let c = HttpClient::new(HttpLimits {
        retries: 0,
        ..HttpLimits {
            timeout: Duration::from_millis(300),
            allow_private: true,
            ..HttpLimits::default()
        }
    });
    let started = Instant::now();
    let err = c.get_retrying(&format!("{base}/x")).unwrap_err();
    assert!(matches!(err, FetchError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1400));
}

#[test]
fn resets_and_500s_are_retried_until_success() {
    let base = serve(Arc::new(|_: &str, n: usize, s: &mut TcpStream| match n {
        0 => {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        1 => answer(s, "500 Internal Server Error", "", b"oops"),
        2 => answer(
            s,
            "429 Too Many Requests",
            "Retry-After: 0\r\n",
            b"slow down",
        ),
        _ => answer(s, "200 OK", "Content-Type: text/plain\r\n", b"fine"),
    }));
    let r = client(2000)
        .get_retrying(&format!("{base}/x"))
        .expect("succeeds in the end");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"fine");
}

#[test]
fn truncated_bodies_are_errors_then_retried() {
    let base = serve(Arc::new(|_: &str, n: usize, s: &mut TcpStream| {
        if n == 0 {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nonly a little");
        } else {
            answer(s, "200 OK", "", b"[]");
        }
    }));
    let c = client(2000);
    let r = c
        .get_retrying(&format!("{base}/x"))
        .expect("the retry succeeds");
    assert_eq!(r.body, b"[]");
    // with no retries left the truncation is an error, not a short body
    let base = serve(Arc::new(|_: &str, _: usize, s: &mut TcpStream| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nonly a little",
        );
    }));
    let none = HttpClient::new(HttpLimits {
        retries: 0,
        allow_private: true,
        ..HttpLimits::default()
    });
    assert!(none.get_retrying(&format!("{base}/x")).is_err());
}

#[test]
fn redirect_loops_stop() {
    let base = serve(Arc::new(|path: &str, _: usize, s: &mut TcpStream| {
        let next = if path == "/a" { "/b" } else { "/a" };
        answer(
            s,
            "301 Moved Permanently",
            &format!("Location: {next}\r\n"),
            b"",
        );
    }));
    let started = Instant::now();
    let err = client(2000).get_retrying(&format!("{base}/a")).unwrap_err();
    assert!(err.to_string().contains("redirect"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a loop is not retried"
    );
}

#[test]
fn huge_bodies_are_refused() {
    let base = serve(Arc::new(|_: &str, _: usize, s: &mut TcpStream| {
        let body = vec![b'x'; 3 * 1024 * 1024];
        answer(s, "200 OK", "", &body);
    }));
    let err = client(5000)
        .get_retrying(&format!("{base}/big"))
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
}

fn api_index() -> Vec<u8> {
    br#"{"name":"Plain Site","description":"No pretty permalinks","url":"http://x","namespaces":["wp/v2"]}"#.to_vec()
}

const POST: &str = r#"{"id":ID,"date_gmt":"2024-01-0DT00:00:00","modified":"2024-01-0DT00:00:00","modified_gmt":"2024-01-0DT00:00:00","slug":"p-ID","title":{"rendered":"Post ID"},"content":{"rendered":"<p>Body ID</p>"}}"#;

/// A site without pretty permalinks: /wp-json/ is a 404, the API lives at ?rest_route=, and
/// the collection comes in pages of two.
fn plain_site() -> String {
    serve(Arc::new(|path: &str, _: usize, s: &mut TcpStream| {
        if path == "/" {
            let base = "";
            let _ = base;
            answer(
                s,
                "200 OK",
                "Content-Type: text/html\r\n",
                b"<html>home</html>",
            );
        } else if path.starts_with("/wp-json") {
            answer(s, "404 Not Found", "", b"<html>not found</html>");
        } else if path == "/?rest_route=/" {
            answer(
                s,
                "200 OK",
                "Content-Type: application/json\r\n",
                &api_index(),
            );
        } else if path.starts_with("/?rest_route=/wp/v2/posts") {
            let page: usize = path
                .split("page=")
                .last()
                .and_then(|p| p.split('&').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let ids: Vec<usize> = match page {
                1 => vec![5, 4],
                2 => vec![3, 2],
                3 => vec![1],
                _ => vec![],
            };
            let posts: Vec<String> = ids
                .iter()
                .map(|id| {
                    POST.replace("ID", &id.to_string())
                        .replace("0D", &format!("0{id}"))
                })
                .collect();
            let body = format!("[{}]", posts.join(","));
            answer(
                s,
                "200 OK",
                "Content-Type: application/json\r\nX-WP-Total: 5\r\nX-WP-TotalPages: 3\r\n",
                body.as_bytes(),
            );
        } else {
            answer(s, "404 Not Found", "", b"{}");
        }
    }))
}

#[test]
fn discovery_falls_back_to_rest_route() {
    let base = plain_site();
    let root = discover(&client(2000), &base).expect("found");
    assert_eq!(root, format!("{base}/?rest_route=/"));
    let query = SiteQuery {
        per_page: 2,
        ..SiteQuery::default()
    };
    let pages = std::sync::Mutex::new(Vec::new());
    let fetched = fetch_site(&client(2000), &base, &query, &|done, total| {
        pages.lock().expect("lock").push((done, total));
    })
    .expect("fetched");
    let ids: Vec<u64> = fetched
        .posts
        .iter()
        .filter_map(|p| p["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![5, 4, 3, 2, 1]);
    assert_eq!(*pages.lock().expect("lock"), vec![(1, 3), (2, 3), (3, 3)]);
    assert_eq!(fetched.site["name"], "Plain Site");
}

#[test]
fn wordpress_errors_are_quoted() {
    let base = serve(Arc::new(|path: &str, _: usize, s: &mut TcpStream| {
        if path == "/" {
            answer(
                s,
                "200 OK",
                "Link: </wp-json/>; rel=\"https://api.w.org/\"\r\n",
                b"home",
            );
        } else if path == "/wp-json/" {
            answer(s, "200 OK", "", &api_index());
        } else {
            answer(
                s,
                "401 Unauthorized",
                "Content-Type: application/json\r\n",
                br#"{"code":"rest_cannot_access","message":"Only authenticated users can access the REST API.","data":{"status":401}}"#,
            );
        }
    }));
    let err = fetch_site(&client(2000), &base, &SiteQuery::default(), &|_, _| {}).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SiteError::Status { status: 401, .. }));
    assert!(
        text.contains("401 rest_cannot_access: Only authenticated users can access the REST API."),
        "{text}"
    );
    assert!(text.contains("refuses anonymous access"), "{text}");
}

#[test]
fn not_wordpress() {
    let base = serve(Arc::new(|_: &str, _: usize, s: &mut TcpStream| {
        answer(
            s,
            "200 OK",
            "Content-Type: text/html\r\n",
            b"<html>just a page</html>",
        );
    }));
    let err = discover(&client(2000), &base).unwrap_err();
    assert!(
        err.to_string().contains("no WordPress REST API found"),
        "{err}"
    );
}

#[test]
fn only_http_and_https() {
    for url in ["file:///etc/passwd", "ftp://example.com/x", "gopher://x"] {
        let err = client(1000).get(url).unwrap_err();
        assert!(matches!(err, FetchError::Scheme), "{url}: {err}");
    }
}

#[test]
fn image_cache_is_used_and_damaged_entries_are_fetched_again() {
    use postbook_core::html::html_to_blocks;
    use postbook_core::model::{Book, Chapter, PostMeta};
    use postbook_fetch::{ImageSources, resolve_images};

    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/media/foo.png"
    ))
    .expect("fixture image");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let base = serve(Arc::new(move |_: &str, _: usize, s: &mut TcpStream| {
        counter.fetch_add(1, Ordering::SeqCst);
        answer(s, "200 OK", "Content-Type: image/png\r\n", &png);
    }));
    let cache = tempfile::tempdir().expect("tempdir");
    let book = || Book {
        chapters: vec![Chapter {
            meta: PostMeta::default(),
            blocks: html_to_blocks(&format!("<img src=\"{base}/a.png\" alt=\"a\">")),
        }],
        ..Book::default()
    };
    let sources = ImageSources {
        media_dir: None,
        fetch: Some(client(2000)),
        cache: Some(cache.path().to_path_buf()),
    };
    let resolve = || {
        let mut b = book();
        let report = resolve_images(&mut b, &sources);
        assert_eq!(
            (report.found, report.missing.len()),
            (1, 0),
            "{:?}",
            report.missing
        );
    };
    resolve();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .expect("cache")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one cached image and no temporary file: {entries:?}"
    );
    resolve();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the second run uses the cache"
    );
    // a half-written entry (as a killed run could leave) is downloaded again
    std::fs::write(&entries[0], &b"\x89PNG\r\n\x1a\n"[..]).expect("damage");
    resolve();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}
