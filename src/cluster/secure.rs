//! A local cluster with secured client listeners (`kbench cluster up --security sasl_ssl|ssl`):
//! a CA and certificates generated per cluster with `openssl`, a SCRAM user created by Kafka's own
//! storage tool, the client listener switched to SASL_SSL (SCRAM-SHA-512/256 and PLAIN) or to
//! mutual TLS, the registry's KafkaSQL storage connected the same way, and the files another
//! client needs to connect (CA, client certificate and key, password file) kept in the cluster's
//! `security/` directory. The inter-broker and controller listeners stay as they are.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::security::{
    ClientSecurity, KafkaSecurity, Mechanism, Protocol, RegistryAuth, Sasl, Secret, Tls,
};

/// How the client listeners of a local cluster are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalSecurity {
    /// SASL over TLS: SCRAM-SHA-512 (also SCRAM-SHA-256 and PLAIN) for user `kbench`.
    SaslSsl,
    /// Mutual TLS: clients present a certificate signed by the cluster's CA.
    Ssl,
}

impl LocalSecurity {
    /// The client listeners' `security.protocol`.
    pub fn protocol(self) -> Protocol {
        match self {
            LocalSecurity::SaslSsl => Protocol::SaslSsl,
            LocalSecurity::Ssl => Protocol::Ssl,
        }
    }
}

/// The user kbench creates on a secured local cluster.
pub const USER: &str = "kbench";

/// A secured local cluster's connection files, as its state file records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecureRecord {
    /// How the client listeners are secured.
    pub mode: LocalSecurity,
    /// CA certificate that signed the brokers' and the client's certificates.
    pub ca_file: PathBuf,
    /// The brokers' key and certificate, in one PEM file (Kafka's PEM key store).
    pub broker_keystore: PathBuf,
    /// Client certificate (mutual TLS; also what the registry presents).
    pub client_cert: PathBuf,
    /// Client private key.
    pub client_key: PathBuf,
    /// Client key and certificate in one PEM file, for Java clients.
    pub client_keystore: PathBuf,
    /// SASL user name (`sasl_ssl` only).
    pub username: Option<String>,
    /// SASL mechanism clients should use (`sasl_ssl` only).
    pub mechanism: Option<Mechanism>,
    /// File holding the password (SASL and the registry's basic auth), readable by its owner
    /// only.
    pub password_file: Option<PathBuf>,
    /// The registry is reached through its HTTPS front with basic auth (user [`USER`]).
    #[serde(default)]
    pub registry_front: bool,
}

/// How to connect to a secured local cluster, for `cluster status` and other tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// `security.protocol`.
    pub protocol: Protocol,
    /// SASL mechanism, for SASL_SSL.
    pub sasl_mechanism: Option<Mechanism>,
    /// SASL user name.
    pub username: Option<String>,
    /// File holding the password of SASL and of the registry's basic auth (the password
    /// itself is never shown).
    pub password_file: Option<PathBuf>,
    /// Registry basic-auth user, when the registry sits behind its HTTPS front.
    pub registry_username: Option<String>,
    /// CA to trust.
    pub ca_file: PathBuf,
    /// Client certificate, for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// Client key, for mutual TLS.
    pub key_file: Option<PathBuf>,
}

impl std::fmt::Display for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.protocol)?;
        if let (Some(m), Some(u)) = (&self.sasl_mechanism, &self.username) {
            write!(f, ", {m} as {u}")?;
        }
        if let Some(p) = &self.password_file {
            write!(f, ", password in {}", p.display())?;
        }
        write!(f, ", CA {}", self.ca_file.display())?;
        if let (Some(c), Some(k)) = (&self.cert_file, &self.key_file) {
            write!(
                f,
                ", client certificate {} key {}",
                c.display(),
                k.display()
            )?;
        }
        if let Some(u) = &self.registry_username {
            write!(f, "; registry over HTTPS with basic auth as {u}")?;
        }
        Ok(())
    }
}

fn openssl(args: &[&str], dir: &Path) -> Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context(
            "cannot run `openssl` (install Debian's `openssl` package to secure a local cluster)",
        )?;
    if !out.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Write `text` to `path`, readable by its owner only.
pub fn private_write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Sign a new key's certificate for `cn` with the CA in `dir`, with `ext` (an openssl
/// extension section), and write `<name>.key` and `<name>.pem`.
fn issue(dir: &Path, name: &str, cn: &str, ext: &str) -> Result<()> {
    let (key, csr, pem, cnf) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    std::fs::write(dir.join(&cnf), ext)?;
    let subj = format!("/CN={cn}");
    openssl(
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", &subj,
        ],
        dir,
    )?;
    let serial = format!("0x{}", uuid::Uuid::new_v4().simple());
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "30",
            "-out",
            &pem,
            "-extfile",
            &cnf,
        ],
        dir,
    )?;
    std::fs::remove_file(dir.join(&csr)).ok();
    std::fs::remove_file(dir.join(&cnf)).ok();
    std::fs::set_permissions(dir.join(&key), std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Generate the CA, the brokers' and the client's certificates and (for `sasl_ssl`) a random
/// password under `dir`; returns the record and the password.
pub fn generate(dir: &Path, mode: LocalSecurity) -> Result<(SecureRecord, Secret)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=kbench local cluster CA",
        ],
        dir,
    )?;
    issue(
        dir,
        "broker",
        "kbench-broker",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    )?;
    issue(dir, "client", USER, "extendedKeyUsage=clientAuth\n")?;
    let cat = |a: &str, b: &str| -> Result<String> {
        Ok(std::fs::read_to_string(dir.join(a))? + &std::fs::read_to_string(dir.join(b))?)
    };
    private_write(
        &dir.join("broker-keystore.pem"),
        &cat("broker.key", "broker.pem")?,
    )?;
    private_write(
        &dir.join("client-keystore.pem"),
        &cat("client.key", "client.pem")?,
    )?;
    let password = Secret::new(uuid::Uuid::new_v4().simple().to_string());
    let sasl = mode == LocalSecurity::SaslSsl;
    let password_file = dir.join("client.password");
    private_write(&password_file, password.expose())?;
    let record = SecureRecord {
        mode,
        ca_file: dir.join("ca.pem"),
        broker_keystore: dir.join("broker-keystore.pem"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
        client_keystore: dir.join("client-keystore.pem"),
        username: sasl.then(|| USER.to_string()),
        mechanism: sasl.then_some(Mechanism::ScramSha512),
        password_file: Some(password_file),
        registry_front: true,
    };
    Ok((record, password))
}

impl SecureRecord {
    /// What a client needs to connect.
    pub fn connection(&self) -> Connection {
        let mtls = self.mode == LocalSecurity::Ssl;
        Connection {
            protocol: self.mode.protocol(),
            sasl_mechanism: self.mechanism,
            username: self.username.clone(),
            password_file: self.password_file.clone(),
            registry_username: self.registry_front.then(|| USER.to_string()),
            ca_file: self.ca_file.clone(),
            cert_file: mtls.then(|| self.client_cert.clone()),
            key_file: mtls.then(|| self.client_key.clone()),
        }
    }

    /// The SASL password, read from its file (`None` for mutual TLS).
    pub fn password(&self) -> Result<Option<Secret>> {
        let Some(f) = &self.password_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the cluster's password file {}", f.display()))?;
        Ok(Some(Secret::new(text.trim())))
    }

    /// How a client of this cluster connects.
    pub fn client_security(&self) -> Result<ClientSecurity> {
        let password = self.password()?;
        let registry = match (&password, self.registry_front) {
            (Some(p), true) => RegistryAuth {
                basic: Some((USER.to_string(), p.clone())),
                ca_file: Some(self.ca_file.clone()),
            },
            _ => RegistryAuth::default(),
        };
        Ok(ClientSecurity {
            kafka: self.kafka_security(password),
            registry,
        })
    }

    /// How a Kafka client of this cluster connects, with `password` for SASL.
    fn kafka_security(&self, password: Option<Secret>) -> KafkaSecurity {
        let tls = Tls {
            ca_file: Some(self.ca_file.clone()),
            verify_hostname: true,
            ..Tls::default()
        };
        match (self.mode, password) {
            (LocalSecurity::SaslSsl, Some(password)) => KafkaSecurity {
                protocol: Protocol::SaslSsl,
                sasl: Some(Sasl {
                    mechanism: self.mechanism.unwrap_or(Mechanism::ScramSha512),
                    username: self.username.clone().unwrap_or_else(|| USER.into()),
                    password,
                }),
                tls: Some(tls),
            },
            _ => KafkaSecurity {
                protocol: Protocol::Ssl,
                sasl: None,
                tls: Some(Tls {
                    cert_file: Some(self.client_cert.clone()),
                    key_file: Some(self.client_key.clone()),
                    ..tls
                }),
            },
        }
    }

    /// The client listener's settings in `server.properties` (they replace the plaintext
    /// protocol map entry).
    pub fn broker_properties(&self, password: Option<&Secret>) -> Vec<(String, String)> {
        let kv = |k: &str, v: String| (k.to_string(), v);
        let protocol = self.mode.protocol();
        let mut out = vec![
            kv(
                "listener.security.protocol.map",
                format!("CLIENT:{protocol},INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"),
            ),
            kv("listener.name.client.ssl.keystore.type", "PEM".into()),
            kv(
                "listener.name.client.ssl.keystore.location",
                self.broker_keystore.display().to_string(),
            ),
            kv("listener.name.client.ssl.truststore.type", "PEM".into()),
            kv(
                "listener.name.client.ssl.truststore.location",
                self.ca_file.display().to_string(),
            ),
        ];
        match self.mode {
            LocalSecurity::Ssl => out.push(kv(
                "listener.name.client.ssl.client.auth",
                "required".into(),
            )),
            LocalSecurity::SaslSsl => {
                let scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
                out.push(kv(
                    "listener.name.client.sasl.enabled.mechanisms",
                    "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN".into(),
                ));
                out.push(kv(
                    "listener.name.client.scram-sha-512.sasl.jaas.config",
                    scram.into(),
                ));
                out.push(kv(
                    "listener.name.client.scram-sha-256.sasl.jaas.config",
                    scram.into(),
                ));
                let pw = password.map_or("", |p| p.expose());
                out.push(kv(
                    "listener.name.client.plain.sasl.jaas.config",
                    format!("org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}=\"{pw}\";"),
                ));
            }
        }
        out
    }

    /// `kafka-storage format` arguments that create the SCRAM user (none for mutual TLS).
    pub fn format_args(&self, password: Option<&Secret>) -> Vec<String> {
        let Some(pw) = password.filter(|_| self.mode == LocalSecurity::SaslSsl) else {
            return Vec::new();
        };
        ["SCRAM-SHA-512", "SCRAM-SHA-256"]
            .iter()
            .flat_map(|m| {
                [
                    "--add-scram".to_string(),
                    format!("{m}=[name={USER},password={}]", pw.expose()),
                ]
            })
            .collect()
    }

    /// The registry's KafkaSQL client settings (Apicurio passes `apicurio.kafka.common.*` to
    /// every Kafka client it makes), as a Quarkus `application.properties`.
    pub fn registry_properties(&self, password: Option<&Secret>) -> String {
        let sec = self.kafka_security(password.cloned());
        let keystore = (self.mode == LocalSecurity::Ssl).then_some(self.client_keystore.as_path());
        sec.java_properties(keystore)
            .into_iter()
            .map(|(k, v)| format!("apicurio.kafka.common.{k}={v}\n"))
            .collect()
    }
}

/// Remove a secured cluster's keys, certificates, password and every settings file that holds
/// the password (the nodes' `server.properties`, the registry's `config/` and `front/` under
/// `workdir`), at teardown.
pub fn remove<'a>(
    rec: &SecureRecord,
    workdir: &Path,
    node_configs: impl Iterator<Item = &'a Path>,
) {
    if let Some(dir) = rec.ca_file.parent() {
        std::fs::remove_dir_all(dir).ok();
    }
    std::fs::remove_dir_all(workdir.join("registry").join("config")).ok();
    std::fs::remove_dir_all(workdir.join("registry").join("front")).ok();
    for c in node_configs {
        std::fs::remove_file(c).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sasl_cluster_gets_certificates_a_user_and_listener_settings() {
        let dir = std::env::temp_dir().join(format!("kbench-secure-{}", std::process::id()));
        let (rec, pw) = generate(&dir, LocalSecurity::SaslSsl).unwrap();
        assert!(rec.ca_file.is_file() && rec.broker_keystore.is_file());
        assert_eq!(rec.password().unwrap().unwrap(), pw);
        let mode = std::fs::metadata(rec.password_file.as_ref().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let props = rec.broker_properties(Some(&pw));
        assert!(props.iter().any(
            |(k, v)| k == "listener.security.protocol.map" && v.starts_with("CLIENT:SASL_SSL,")
        ));
        let args = rec.format_args(Some(&pw));
        assert_eq!(args.len(), 4);
        assert!(args[1].starts_with("SCRAM-SHA-512=[name=kbench,password="));
        let reg = rec.registry_properties(Some(&pw));
        assert!(
            reg.contains("apicurio.kafka.common.security.protocol=SASL_SSL\n"),
            "{reg}"
        );
        assert!(
            reg.contains("apicurio.kafka.common.ssl.truststore.location="),
            "{reg}"
        );
        // The client certificate verifies against the CA.
        let out = Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&rec.ca_file)
            .arg(&rec.client_cert)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
