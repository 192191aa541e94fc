//! Security as a scenario (or `--security` file) states it, before the environment is read:
//! secrets are `${VAR}` references and files may name variables too. [`SecuritySpec::resolve`]
//! reads them when a run starts — the edge — so validating a scenario needs no secret, and a
//! missing one is an error naming the variable and the field.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};

use super::secret::{self, ExpandError, Secret};
use super::{ClientSecurity, KafkaSecurity, Mechanism, Protocol, RegistryAuth, Sasl, Tls};

/// SASL as written: the password is a `${VAR}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslSpec {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// User name (may reference variables).
    pub username: String,
    /// `${VAR}` holding the password.
    pub password: String,
}

/// TLS as written: files may reference variables and are relative to the spec's directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSpec {
    /// CA file to trust.
    pub ca_file: Option<String>,
    /// Client certificate (mutual TLS).
    pub cert_file: Option<String>,
    /// Client key.
    pub key_file: Option<String>,
    /// `${VAR}` holding the key's passphrase.
    pub key_password: Option<String>,
    /// Check the broker certificate's host name (default true).
    pub verify_hostname: bool,
}

/// Registry auth as written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistrySpec {
    /// Basic auth user name.
    pub username: Option<String>,
    /// `${VAR}` holding the basic auth password.
    pub password: Option<String>,
    /// CA file to trust for an `https://` registry.
    pub ca_file: Option<String>,
}

/// `[cluster.security]` as validated, secrets not yet read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecuritySpec {
    /// Where it was written (file and table), for messages: `scenarios/x.toml [cluster.security]`.
    pub origin: String,
    /// Directory relative files are resolved against.
    pub base_dir: PathBuf,
    /// `security.protocol`.
    pub protocol: Protocol,
    /// SASL, with a SASL protocol.
    pub sasl: Option<SaslSpec>,
    /// TLS, with a TLS protocol.
    pub tls: Option<TlsSpec>,
    /// Registry auth.
    pub registry: RegistrySpec,
}

impl SecuritySpec {
    fn expand(&self, field: &str, text: &str) -> Result<String> {
        secret::expand(text).or_else(|e| match e {
            ExpandError::Unset(var) => bail!(
                "{}: {field} = \"{text}\": environment variable {var} is not set; export it \
                 before running (secrets are read from the environment, never from the file)",
                self.origin
            ),
            ExpandError::Malformed(m) => bail!("{}: {field}: {m}", self.origin),
        })
    }

    fn secret(&self, field: &str, reference: &str) -> Result<Secret> {
        Ok(Secret::new(self.expand(field, reference)?))
    }

    fn file(&self, field: &str, text: &str) -> Result<PathBuf> {
        let p = PathBuf::from(self.expand(field, text)?);
        let p = if p.is_relative() {
            self.base_dir.join(p)
        } else {
            p
        };
        if let Err(e) = std::fs::File::open(&p) {
            bail!(
                "{}: {field}: cannot read {} ({e})",
                self.origin,
                p.display()
            );
        }
        Ok(p)
    }

    fn opt_file(&self, field: &str, text: Option<&String>) -> Result<Option<PathBuf>> {
        text.map(|t| self.file(field, t)).transpose()
    }

    fn resolve_tls(&self, t: &TlsSpec) -> Result<Tls> {
        Ok(Tls {
            ca_file: self.opt_file("ca_file", t.ca_file.as_ref())?,
            cert_file: self.opt_file("cert_file", t.cert_file.as_ref())?,
            key_file: self.opt_file("key_file", t.key_file.as_ref())?,
            key_password: (t.key_password.as_ref())
                .map(|r| self.secret("key_password", r))
                .transpose()?,
            verify_hostname: t.verify_hostname,
        })
    }

    fn resolve_registry(&self) -> Result<RegistryAuth> {
        let r = &self.registry;
        let basic = match (&r.username, &r.password) {
            (Some(u), Some(p)) => Some((
                self.expand("registry.username", u)?,
                self.secret("registry.password", p)?,
            )),
            _ => None,
        };
        Ok(RegistryAuth {
            basic,
            ca_file: self.opt_file("registry.ca_file", r.ca_file.as_ref())?,
        })
    }

    /// Read the environment and the files: the security every client will use. Fails naming
    /// the unset variable or the unreadable file and the field that refers to it.
    pub fn resolve(&self) -> Result<ClientSecurity> {
        let sasl = match &self.sasl {
            Some(s) => Some(Sasl {
                mechanism: s.mechanism,
                username: self.expand("username", &s.username)?,
                password: self.secret("password", &s.password)?,
            }),
            None => None,
        };
        let tls = self.tls.as_ref().map(|t| self.resolve_tls(t)).transpose()?;
        Ok(ClientSecurity {
            kafka: KafkaSecurity {
                protocol: self.protocol,
                sasl,
                tls,
            },
            registry: self.resolve_registry()?,
        })
    }
}

/// The resolved security's two halves, shared by every client of a run.
pub fn shared(sec: ClientSecurity) -> (Arc<KafkaSecurity>, Arc<RegistryAuth>) {
    (Arc::new(sec.kafka), Arc::new(sec.registry))
}

/// The directory of `file`, for resolving the relative paths it names.
pub fn dir_of(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}
