//! A small, careful HTTP client: http and https only, time and size limits, a bounded number
//! of redirects, and a User-Agent that names postbook. TLS is rustls: no system OpenSSL.

use std::io::Read;
use std::time::Duration;

/// Limits on one request.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// The whole request, connect to last byte.
    pub timeout: Duration,
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Redirects followed before giving up.
    pub max_redirects: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            timeout: Duration::from_secs(30),
            max_bytes: 25 * 1024 * 1024,
            max_redirects: 5,
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
        HttpClient {
            agent: config.into(),
            limits,
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
        })
    }

    fn error(&self, e: ureq::Error) -> FetchError {
        match e {
            ureq::Error::StatusCode(status) => FetchError::Status { status },
            ureq::Error::Timeout(_) => FetchError::Timeout(self.limits.timeout),
            ureq::Error::TooManyRedirects => {
                FetchError::Other(format!("more than {} redirects", self.limits.max_redirects))
            }
            other => FetchError::Other(other.to_string()),
        }
    }
}
