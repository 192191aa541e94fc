//! The registry as a client reaches it: its URL and the credentials and trust every request
//! carries. `SrSettings` (schema_registry_converter) and kbench's own blocking probes are both
//! built here, so no registry request goes out without the scenario's auth.

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
        req.send()
            .map_err(|e| anyhow::anyhow!("{}", describe_http_error(&e)))
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
        let resp = req
            .send()
            .map_err(|e| anyhow::anyhow!("{}", describe_http_error(&e)))?;
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
