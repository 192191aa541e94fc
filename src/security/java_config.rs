//! Kafka's Java tools' side of `[cluster.security]` (the perf-test of `compare-tools`, the
//! metadata-quorum tool): the same settings as Java client properties, in a private file given
//! with `--producer.config` / `--command-config` (a password on a command line would show in
//! `ps`), removed again when the tool is done.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::KafkaSecurity;

/// A private directory holding a Java tool's security properties (and PEM key store).
pub struct SecuredConfig {
    dir: PathBuf,
    /// The properties file for `--producer.config` / `--command-config`.
    pub config: PathBuf,
}

fn private_file(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// `key=value` lines as Java's `Properties.load` reads them (`\`, `=`, `:` escaped).
pub fn properties_text(props: &[(String, String)]) -> String {
    let esc = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('=', "\\=")
            .replace(':', "\\:")
    };
    props
        .iter()
        .map(|(k, v)| format!("{}={}\n", esc(k), esc(v)))
        .collect()
}

impl SecuredConfig {
    /// The files for `security`; `None` for plaintext, which needs none.
    pub fn write(security: &KafkaSecurity) -> Result<Option<SecuredConfig>> {
        if *security == KafkaSecurity::default() {
            return Ok(None);
        }
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("kbench-java-config-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let out = SecuredConfig {
            config: dir.join("producer.properties"),
            dir,
        };
        let keystore = out.keystore(security)?;
        let props = security.java_properties(keystore.as_deref());
        private_file(&out.config, &properties_text(&props))?;
        Ok(Some(out))
    }

    /// Kafka's PEM key store is one file, key first, then its certificate chain.
    fn keystore(&self, sec: &KafkaSecurity) -> Result<Option<PathBuf>> {
        let Some((cert, key)) = sec
            .tls
            .as_ref()
            .and_then(|t| t.cert_file.as_ref().zip(t.key_file.as_ref()))
        else {
            return Ok(None);
        };
        let path = self.dir.join("keystore.pem");
        let text = std::fs::read_to_string(key)? + &std::fs::read_to_string(cert)?;
        private_file(&path, &text)?;
        Ok(Some(path))
    }
}

impl Drop for SecuredConfig {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_escape_separators() {
        let t = properties_text(&[("sasl.jaas.config".into(), "a b=\"c:d\";".into())]);
        assert_eq!(t, "sasl.jaas.config=a b\\=\"c\\:d\";\n");
    }
}
