//! A small, careful HTTP client: http and https only, time and size limits, a bounded number
//! of redirects, and a User-Agent that names postbook. TLS is rustls: no system OpenSSL.

use std::io::Read;

use std::time::Duration;
use ureq::ResponseExt;

/// Limits on one request.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// The whole request, connect to last byte.
    pub timeout: Duration,
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Redirects followed before giving up.
    pub max_redirects: u32,
    /// Further attempts after a dropped connection, a timeout, a 429 or a 5xx.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub backoff: Duration,
    /// Whether hosts on loopback, private, link-local or unique-local addresses may be
    /// reached. Off for what someone else's content names (images), so that a post cannot make
    /// postbook fetch from the user's own network; on for the site the user asked for.
    pub allow_private: bool,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            timeout: Duration::from_secs(30),
            max_bytes: 25 * 1024 * 1024,
            max_redirects: 5,
            retries: 3,
            backoff: Duration::from_millis(500),
            allow_private: false,
        }
    }
}

/// Why a request failed, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http or https URL.
    #[error("not an http or https URL")]
    Scheme,
    /// The server answered with an error status.
    #[error("the server answered {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than allowed.
    #[error("the response is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The request timed out.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// Anything else: DNS, connection, TLS, protocol, too many redirects.
    #[error("{0}")]
    Other(String),
}

/// A response: status, content type and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, when sent.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// Every header, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The URL that answered, after redirects.
    pub url: String,
}

impl Response {
    /// The first header of this name (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header of this name (lower case).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP client with postbook's limits.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    limits: HttpLimits,
}

impl HttpClient {
    /// A client with these limits.
    pub fn new(limits: HttpLimits) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(limits.timeout))
            .max_redirects(limits.max_redirects)
            .user_agent(concat!(
                "postbook/",
                env!("CARGO_PKG_VERSION"),
                " (WordPress to EPUB, PDF and text)"
            ))
            .http_status_as_error(false)
            .build();
        let guard = GuardedResolver {
            allow_private: limits.allow_private,
        };
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            guard,
        );
        HttpClient { agent, limits }
    }

    /// The limits this client keeps.
    pub fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    /// GETs `url`, retrying with backoff after dropped connections, timeouts, 429 and 5xx
    /// (a `Retry-After` of up to a minute is honoured). The last answer or error is returned.
    pub fn get_retrying(&self, url: &str) -> Result<Response, FetchError> {
        let mut attempt = 0;
        loop {
            let result = self.get(url);
            let retry_after = match &result {
                Ok(r) if r.status == 429 || (500..600).contains(&r.status) => Some(
                    r.header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(60))),
                ),
                Ok(_) => None,
                Err(FetchError::Scheme | FetchError::TooLarge { .. }) => None,
                Err(FetchError::Other(m)) if m.contains("redirect") => None,
                Err(_) => Some(None),
            };
            match retry_after {
                Some(wait) if attempt < self.limits.retries => {
                    let backoff = self.limits.backoff * 2u32.saturating_pow(attempt);
                    std::thread::sleep(wait.unwrap_or(backoff));
                    attempt += 1;
                }
                _ => return result,
            }
        }
    }

    /// GETs `url`; any status is returned, only transport failures are errors.
    pub fn get(&self, url: &str) -> Result<Response, FetchError> {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(FetchError::Scheme);
        }
        let mut response = self.agent.get(url).call().map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let final_url = response.get_uri().to_string();
        let limit = self.limits.max_bytes;
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut body)
            .map_err(|e| FetchError::Other(format!("reading the response failed: {e}")))?;
        if body.len() as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        Ok(Response {
            status,
            content_type,
            body,
            headers,
            url: final_url,
        })
    }

    fn error(&self, e: ureq::Error) -> FetchError {
        match e {
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                FetchError::Other(e.to_string())
            }
            ureq::Error::StatusCode(status) => FetchError::Status { status },
            ureq::Error::Timeout(_) => FetchError::Timeout(self.limits.timeout),
            ureq::Error::TooManyRedirects => {
                FetchError::Other(format!("more than {} redirects", self.limits.max_redirects))
            }
            ureq::Error::Io(e) => FetchError::Other(format!(
                "the connection failed ({e}); check the address and that the site is up"
            )),
            ureq::Error::HostNotFound => {
                FetchError::Other("the host name cannot be resolved; check the address".into())
            }
            ureq::Error::ConnectionFailed => FetchError::Other(
                "cannot connect; check the address and that the site is up".into(),
            ),
            other => FetchError::Other(other.to_string()),
        }
    }
}

/// Whether an address is on the user's own machine or network, or the cloud's metadata
/// service: loopback, private (RFC 1918), link-local (169.254/16, which holds the metadata
/// address), unspecified, unique-local (fc00::/7), link-local IPv6 (fe80::/10), and IPv4
/// addresses mapped into IPv6.
pub fn is_private_address(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64/10, carrier-grade NAT, is as private as 10/8 in practice
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Whether the host of `url` resolves to a private address (see [`is_private_address`]):
/// a site on such an address may have its images fetched from there too.
pub fn is_private_host(url: &str) -> bool {
    use std::net::ToSocketAddrs;
    let Ok(uri) = url.trim().parse::<ureq::http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    (host, port)
        .to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.any(|a| is_private_address(a.ip())))
}

/// Name resolution that refuses private addresses unless they are allowed. The check is on
/// the resolved addresses, for every connection (redirects included), so neither a name that
/// points at 127.0.0.1 nor a redirect to 10.0.0.1 gets through.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
}

impl ureq::unversioned::resolver::Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let all = ureq::unversioned::resolver::DefaultResolver::default()
            .resolve(uri, config, timeout)?;
        if self.allow_private {
            return Ok(all);
        }
        let mut public = self.empty();
        for addr in all.iter().filter(|a| !is_private_address(a.ip())) {
            public.push(*addr);
        }
        if public.is_empty() {
            let host = uri.host().unwrap_or("the host");
            let ip = all.first().map(|a| a.ip().to_string()).unwrap_or_default();
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "not fetched: {host} is on a private address ({ip}), and the site is not; --allow-private-hosts fetches it"
                ),
            )));
        }
        Ok(public)
    }
}
