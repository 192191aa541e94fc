//! `[cluster.security]` validated into a [`SecuritySpec`]: protocol and mechanism names checked,
//! SASL and TLS settings only where the protocol uses them, secrets only as `${VAR}` references.
//! The same table, at the top level as `[security]`, is the `--security` file of `produce` and
//! `consume`.

use std::path::Path;

use strum::VariantNames;

use super::raw::{RawRegistryAuth, RawSecurity};
use super::source::{ScenarioError, Source};
use crate::security::secret::is_reference;
use crate::security::spec::{RegistrySpec, SaslSpec, SecuritySpec, TlsSpec};
use crate::security::{Mechanism, Protocol};

type R<T> = Result<T, ScenarioError>;

/// Where the security table sits and what its file looks like to messages.
struct At<'a> {
    src: &'a Source,
    table: &'a str,
}

impl At<'_> {
    fn err(&self, field: &str, msg: impl Into<String>) -> ScenarioError {
        self.src.error(&format!("{}.{field}", self.table), msg)
    }

    /// A secret must be `${VAR}`: a password written in clear would end up in every copy of the
    /// file and in every report that echoes it.
    fn secret(&self, field: &str, v: &Option<String>) -> R<Option<String>> {
        match v {
            Some(s) if !is_reference(s) => Err(self.err(
                field,
                "write secrets as an environment variable reference, e.g. \
                 \"${KBENCH_SASL_PASSWORD}\", and export the variable: a password in clear in a \
                 scenario file ends up everywhere the file goes",
            )),
            other => Ok(other.clone()),
        }
    }
}

fn protocol(at: &At, raw: &RawSecurity) -> R<Protocol> {
    let Some(name) = raw.protocol.as_deref() else {
        return Err(at.err(
            "protocol",
            format!("is required; one of {}", Protocol::VARIANTS.join(", ")),
        ));
    };
    Protocol::parse(name).ok_or_else(|| {
        at.err(
            "protocol",
            format!(
                "unknown protocol \"{name}\"; allowed: {}",
                Protocol::VARIANTS.join(", ")
            ),
        )
    })
}

fn sasl(at: &At, raw: &RawSecurity, p: Protocol) -> R<Option<SaslSpec>> {
    if !p.sasl() {
        for (f, v) in [
            ("sasl_mechanism", &raw.sasl_mechanism),
            ("username", &raw.username),
            ("password", &raw.password),
        ] {
            if v.is_some() {
                return Err(at.err(
                    f,
                    format!(
                        "only applies with a SASL protocol (SASL_SSL, SASL_PLAINTEXT), not {p}"
                    ),
                ));
            }
        }
        return Ok(None);
    }
    let name = raw.sasl_mechanism.as_deref().ok_or_else(|| {
        at.err(
            "sasl_mechanism",
            format!(
                "{p} needs sasl_mechanism: one of {}",
                Mechanism::VARIANTS.join(", ")
            ),
        )
    })?;
    let mechanism = Mechanism::parse(name).ok_or_else(|| {
        at.err(
            "sasl_mechanism",
            format!(
                "unsupported mechanism \"{name}\"; allowed: {} (OAUTHBEARER and GSSAPI are not: \
                 kbench's librdkafka is built without libcurl and Kerberos)",
                Mechanism::VARIANTS.join(", ")
            ),
        )
    })?;
    let username = raw
        .username
        .clone()
        .ok_or_else(|| at.err("username", format!("{p} needs username")))?;
    let password = at.secret("password", &raw.password)?.ok_or_else(|| {
        at.err(
            "password",
            format!("{p} needs password = \"${{SOME_VARIABLE}}\""),
        )
    })?;
    Ok(Some(SaslSpec {
        mechanism,
        username,
        password,
    }))
}

fn tls(at: &At, raw: &RawSecurity, p: Protocol) -> R<Option<TlsSpec>> {
    let fields = [
        ("ca_file", raw.ca_file.is_some()),
        ("cert_file", raw.cert_file.is_some()),
        ("key_file", raw.key_file.is_some()),
        ("key_password", raw.key_password.is_some()),
        ("verify_hostname", raw.verify_hostname.is_some()),
    ];
    if !p.tls() {
        if let Some((f, _)) = fields.iter().find(|(_, set)| *set) {
            return Err(at.err(
                f,
                format!("only applies with a TLS protocol (SSL, SASL_SSL), not {p}"),
            ));
        }
        return Ok(None);
    }
    if raw.cert_file.is_some() != raw.key_file.is_some() {
        let missing = if raw.cert_file.is_some() {
            "key_file"
        } else {
            "cert_file"
        };
        return Err(at.err(missing, "mutual TLS needs both cert_file and key_file"));
    }
    Ok(Some(TlsSpec {
        ca_file: raw.ca_file.clone(),
        cert_file: raw.cert_file.clone(),
        key_file: raw.key_file.clone(),
        key_password: at.secret("key_password", &raw.key_password)?,
        verify_hostname: raw.verify_hostname.unwrap_or(true),
    }))
}

fn registry(at: &At, raw: Option<&RawRegistryAuth>) -> R<RegistrySpec> {
    let Some(r) = raw else {
        return Ok(RegistrySpec::default());
    };
    let reg = At {
        src: at.src,
        table: &format!("{}.registry", at.table),
    }
    .secret("password", &r.password)?;
    if r.username.is_some() != reg.is_some() {
        let missing = if r.username.is_some() {
            "registry.password"
        } else {
            "registry.username"
        };
        return Err(at.err(
            missing,
            "basic auth needs both registry.username and registry.password",
        ));
    }
    Ok(RegistrySpec {
        username: r.username.clone(),
        password: reg,
        ca_file: r.ca_file.clone(),
    })
}

/// Validate the security table at `table` (`cluster.security`) of `src`.
pub fn security_section(src: &Source, table: &str, raw: &RawSecurity) -> R<SecuritySpec> {
    let at = At { src, table };
    let p = protocol(&at, raw)?;
    Ok(SecuritySpec {
        origin: format!("{} [{table}]", src.path.display()),
        base_dir: crate::security::spec::dir_of(&src.path),
        protocol: p,
        sasl: sasl(&at, raw, p)?,
        tls: tls(&at, raw, p)?,
        registry: registry(&at, raw.registry.as_ref())?,
    })
}

/// A `--security` file: a `[security]` table with the keys of `[cluster.security]`.
pub fn load_file(path: &Path) -> Result<SecuritySpec, ScenarioError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        security: RawSecurity,
    }
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        line: 0,
        col: 0,
        field: String::new(),
        message: format!("cannot read the security file: {e}"),
    })?;
    let src = Source::new(path, text);
    let file: File = toml::from_str(&src.text)
        .map_err(|e| src.error_at(e.span(), "security", e.message().trim()))?;
    security_section(&src, "security", &file.security)
}
