//! The registry as a client reaches it: its URL and the credentials and trust every request
//! carries. `SrSettings` (schema_registry_converter) and kbench's own blocking probes are both
//! built here, so no registry request goes out without the scenario's auth. A request that
//! fails is classified here too, from the error's types (`RequestFailure`), where it is made.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use schema_registry_converter::async_impl::schema_registry::SrSettings;

use super::RegistryAuth;

/// A schema registry's Confluent-compatible API and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Base URL, without a trailing `/` (e.g. `https://host:8443/apis/ccompat/v7`).
    pub url: String,
    /// Basic auth and CA.
    pub auth: Arc<RegistryAuth>,
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// The CA file as a reqwest certificate, naming the file when it cannot be read or parsed.
fn ca_certificate(path: &std::path::Path) -> Result<reqwest::Certificate> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read the registry CA file {}", path.display()))?;
    reqwest::Certificate::from_pem(&pem).with_context(|| {
        format!(
            "the registry CA file {} is not a PEM certificate",
            path.display()
        )
    })
}

impl Registry {
    /// A registry at `url` (trailing `/` dropped) with `auth`.
    pub fn new(url: impl Into<String>, auth: Arc<RegistryAuth>) -> Registry {
        Registry {
            url: url.into().trim_end_matches('/').to_string(),
            auth,
        }
    }

    /// A registry without auth (the local plaintext cluster).
    pub fn plain(url: impl Into<String>) -> Registry {
        Registry::new(url, Arc::new(RegistryAuth::default()))
    }

    /// Settings for schema_registry_converter's async client, with this auth and CA.
    pub fn sr_settings(&self) -> Result<SrSettings> {
        let mut builder = SrSettings::new_builder(self.url.clone());
        if let Some((user, password)) = &self.auth.basic {
            builder.set_basic_authorization(user, Some(password.expose()));
        }
        let mut client = reqwest::Client::builder();
        if let Some(ca) = &self.auth.ca_file {
            client = client.add_root_certificate(ca_certificate(ca)?);
        }
        builder
            .build_with(client)
            .map_err(|e| anyhow::anyhow!("cannot build the registry client: {e}"))
    }

    /// `GET <url><path>` with this auth, through a blocking client that gives up after `timeout`.
    pub fn get(&self, path: &str, timeout: Duration) -> Result<reqwest::blocking::Response> {
        self.get_with(&self.blocking_client(timeout)?, path)
    }

    /// A blocking client that trusts this registry's CA and gives up after `timeout`, for
    /// callers that ask often (a probe) and should not build one per request.
    pub fn blocking_client(&self, timeout: Duration) -> Result<reqwest::blocking::Client> {
        let mut client = reqwest::blocking::Client::builder().timeout(timeout);
        if let Some(ca) = &self.auth.ca_file {
            client = client.add_root_certificate(ca_certificate(ca)?);
        }
        client.build().context("cannot build an HTTP client")
    }

    /// `GET <url><path>` with this auth through `client`.
    pub fn get_with(
        &self,
        client: &reqwest::blocking::Client,
        path: &str,
    ) -> Result<reqwest::blocking::Response> {
        let mut req = client.get(format!("{}{path}", self.url));
        if let Some((user, password)) = &self.auth.basic {
            req = req.basic_auth(user, Some(password.expose()));
        }
        req.send().map_err(|e| RequestError::of_reqwest(&e).into())
    }

    /// `method <url><path>` with a JSON body and this auth: the status and the answer as JSON
    /// (`Null` when it is not JSON). An error only when no answer came (refused, timeout).
    pub fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<(u16, serde_json::Value)> {
        let client = self.blocking_client(timeout)?;
        let mut req = client
            .request(method, format!("{}{path}", self.url))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .body(body.to_string());
        if let Some((user, password)) = &self.auth.basic {
            req = req.basic_auth(user, Some(password.expose()));
        }
        let resp = req.send().map_err(|e| RequestError::of_reqwest(&e))?;
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or_default()))
    }

    /// Check that `GET /subjects` answers 200, or say why not: refused, TLS not trusted (naming
    /// the CA file), credentials refused (401/403), or another status.
    pub fn check(&self, timeout: Duration) -> Result<()> {
        let resp = self.get("/subjects", timeout).map_err(|e| {
            let raw = format!("{e:#}");
            if raw.contains("certificate verify failed") {
                let trusted = match &self.auth.ca_file {
                    Some(ca) => format!("the CA file {}", ca.display()),
                    None => "the system's CAs (no ca_file in [cluster.security.registry])".into(),
                };
                anyhow::anyhow!(
                    "the schema registry's TLS certificate at {} is not trusted by {trusted}",
                    self.url
                )
            } else {
                e.context(format!(
                    "the schema registry at {} does not answer",
                    self.url
                ))
            }
        })?;
        let status = resp.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            401 | 403 => match &self.auth.basic {
                Some((user, _)) => bail!(
                    "the schema registry at {} refused the credentials of user {user} (HTTP {status})",
                    self.url
                ),
                None => bail!(
                    "the schema registry at {} wants credentials (HTTP {status}); set \
                     username and password in [cluster.security.registry]",
                    self.url
                ),
            },
            502..=504 => Err(GatewayAnswer {
                url: self.url.clone(),
                status: status.as_u16(),
            }
            .into()),
            _ => bail!(
                "the schema registry at {} answered GET /subjects with HTTP {status}",
                self.url
            ),
        }
    }

    /// [`Self::check`], asked again for up to `settle` while a proxy in front of the registry
    /// answers for it that it cannot reach it (502-504): a gateway's answer during a restart or
    /// right after a start, not the registry's.
    pub fn check_settled(&self, timeout: Duration, settle: Duration) -> Result<()> {
        let end = std::time::Instant::now() + settle;
        loop {
            match self.check(timeout) {
                Err(e) if e.is::<GatewayAnswer>() && std::time::Instant::now() < end => {
                    std::thread::sleep(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    /// Whether `GET /subjects` answers 200 within `timeout`.
    pub fn answers(&self, timeout: Duration) -> bool {
        self.check(timeout).is_ok()
    }
}

/// A proxy in front of the registry answered that it could not reach it.
#[derive(Debug, thiserror::Error)]
#[error("the schema registry at {url} answered GET /subjects with HTTP {status} (a gateway's answer: the proxy in front of it could not reach it)")]
pub struct GatewayAnswer {
    /// The registry's URL.
    pub url: String,
    /// 502, 503 or 504.
    pub status: u16,
}

/// Why a registry request got no usable answer, as counted in results (`refused`, `HTTP 502`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestFailure {
    /// An answer with this status (a front answering for a dead registry gives 502-504).
    Status(u16),
    /// No answer in time.
    Timeout,
    /// Nothing listens.
    Refused,
    /// The connection was reset or closed before the answer.
    Reset,
    /// Anything else (DNS, TLS, a body that is not what was asked).
    Other,
}

impl fmt::Display for RequestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestFailure::Status(code) => write!(f, "HTTP {code}"),
            RequestFailure::Timeout => f.write_str("timeout"),
            RequestFailure::Refused => f.write_str("refused"),
            RequestFailure::Reset => f.write_str("connection reset"),
            RequestFailure::Other => f.write_str("other"),
        }
    }
}

impl RequestFailure {
    /// The failure `e` or the first of its causes says it is, by their types.
    pub fn of(e: &(dyn std::error::Error + 'static)) -> RequestFailure {
        let mut cause = Some(e);
        while let Some(c) = cause {
            if let Some(kind) = Self::of_one(c) {
                return kind;
            }
            cause = c.source();
        }
        RequestFailure::Other
    }

    /// The failure of an error that went through anyhow (its chain of causes).
    pub fn of_anyhow(e: &anyhow::Error) -> RequestFailure {
        Self::of(e.as_ref())
    }

    fn of_one(e: &(dyn std::error::Error + 'static)) -> Option<RequestFailure> {
        use std::io::ErrorKind as Io;
        if let Some(r) = e.downcast_ref::<RequestError>() {
            return Some(r.failure);
        }
        if let Some(g) = e.downcast_ref::<GatewayAnswer>() {
            return Some(RequestFailure::Status(g.status));
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            if let Some(status) = r.status() {
                return Some(RequestFailure::Status(status.as_u16()));
            }
            return r.is_timeout().then_some(RequestFailure::Timeout);
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            return (h.is_closed() || h.is_incomplete_message() || h.is_canceled())
                .then_some(RequestFailure::Reset);
        }
        let io = e.downcast_ref::<std::io::Error>()?;
        match io.kind() {
            Io::ConnectionRefused => Some(RequestFailure::Refused),
            Io::TimedOut => Some(RequestFailure::Timeout),
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
                Some(RequestFailure::Reset)
            }
            _ => None,
        }
    }
}

/// A registry request that failed, with its classification and the whole story in words.
#[derive(Debug, thiserror::Error)]
#[error("{text}")]
pub struct RequestError {
    /// What kind of failure.
    pub failure: RequestFailure,
    text: String,
}

impl RequestError {
    /// reqwest's error, classified, with its causes in the message.
    pub fn of_reqwest(e: &reqwest::Error) -> RequestError {
        RequestError {
            failure: RequestFailure::of(e),
            text: describe_http_error(e),
        }
    }

    /// The registry answered with `status` where it should not have; `text` says what was asked.
    pub fn status(status: u16, text: String) -> RequestError {
        RequestError {
            failure: RequestFailure::Status(status),
            text,
        }
    }
}

/// reqwest's error with its causes, which is where "certificate verify failed" hides.
fn describe_http_error(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// The failure of `GET /subjects` on a loopback server that treats each connection with
    /// `serve` (nothing listens when `serve` is `None`).
    fn failure_against(serve: Option<fn(std::net::TcpStream)>) -> RequestFailure {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        match serve {
            Some(serve) => {
                std::thread::spawn(move || {
                    if let Ok((conn, _)) = listener.accept() {
                        serve(conn);
                    }
                });
            }
            None => drop(listener),
        }
        let registry = Registry::plain(format!("http://127.0.0.1:{port}"));
        let e = registry
            .get("/subjects", Duration::from_millis(500))
            .map(|r| RequestError::status(r.status().as_u16(), "answered".into()))
            .map_or_else(|e| e, anyhow::Error::new);
        RequestFailure::of_anyhow(&e)
    }

    #[test]
    fn real_failures_are_classified_by_their_types() {
        assert_eq!(failure_against(None), RequestFailure::Refused);
        let silent: fn(std::net::TcpStream) = |conn| {
            std::thread::sleep(Duration::from_secs(2));
            drop(conn)
        };
        assert_eq!(failure_against(Some(silent)), RequestFailure::Timeout);
        let hang_up: fn(std::net::TcpStream) = |mut conn| {
            let _ = conn.read(&mut [0u8; 1024]);
            drop(conn)
        };
        assert_eq!(failure_against(Some(hang_up)), RequestFailure::Reset);
        let gateway: fn(std::net::TcpStream) = |mut conn| {
            let _ = conn.read(&mut [0u8; 1024]);
            let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        };
        assert_eq!(failure_against(Some(gateway)), RequestFailure::Status(502));
        assert_eq!(RequestFailure::Status(502).to_string(), "HTTP 502");
    }
}
