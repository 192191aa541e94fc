//! Container images are an input of a docker run, not an assumption. This part owns which image
//! each role runs (Kafka, the schema registry, kbench itself), where it comes from — upstream
//! (Docker Hub, present or pullable) or built here offline from a Debian root file system and
//! the same pinned Maven Central artifacts the process backend runs (`recipe`, `base`, `build`)
//! — and the choice between them (`resolve`). It speaks to the engine through [`ImageEngine`],
//! which the docker backend's client implements, so it knows no backend.

mod base;
mod build;
mod recipe;
mod resolve;

pub use base::debian_mirror;
pub use build::{build_all, without_debug_info, Artifacts, Built};
pub use recipe::{Recipe, BASE_TAG};
pub use resolve::{candidates, local_tag, resolve, Candidate, RegistryKind, Resolved};

use std::collections::HashMap;
use std::fmt;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Label on every image kbench builds: the digest of everything that went into it, so a build
/// is skipped when nothing changed.
pub const INPUTS_LABEL: &str = "dev.kbench.inputs";
/// Label on every image kbench builds: how it was made, in words.
pub const SOURCE_LABEL: &str = "dev.kbench.source";

/// What a container is there to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A Kafka node (broker + controller).
    Kafka,
    /// The schema registry.
    Registry,
    /// kbench itself, for load from containers.
    Kbench,
}

impl Role {
    /// Every role, in build order.
    pub const ALL: [Role; 3] = [Role::Kafka, Role::Registry, Role::Kbench];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Kafka => "kafka",
            Role::Registry => "registry",
            Role::Kbench => "kbench",
        })
    }
}

/// Which images a docker cluster runs: `[cluster] images` and `--images`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    /// The upstream image when it is here or can be pulled, else the one built here.
    #[default]
    Auto,
    /// Upstream images only (apache/kafka, Confluent's registry): pulled when missing.
    Upstream,
    /// Images built here by `kbench images build` only.
    Local,
}

impl Choice {
    /// Whether this choice lets a role run an image of `origin`.
    pub fn allows(self, origin: Origin) -> bool {
        match self {
            Choice::Auto => true,
            Choice::Upstream => origin == Origin::Upstream,
            Choice::Local => origin == Origin::Local,
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Choice::Auto => "auto",
            Choice::Upstream => "upstream",
            Choice::Local => "local",
        })
    }
}

/// Where an image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Published by its project (Docker Hub), present here or pulled.
    Upstream,
    /// Built on this machine by `kbench images build`.
    Local,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Upstream => "upstream",
            Origin::Local => "built here",
        })
    }
}

/// An image the engine has: its id (content digest), size and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    /// `sha256:...`, the image's content-addressed id.
    pub id: String,
    /// Size in bytes, as the engine reports it.
    pub size: u64,
    /// The image's labels.
    pub labels: HashMap<String, String>,
}

/// What an engine must do for images. The docker backend's client implements it; calls block.
pub trait ImageEngine {
    /// The image `reference` if the engine has it.
    fn image(&self, reference: &str) -> Result<Option<Present>>;
    /// Pull `reference`; the error says why it cannot be had.
    fn pull(&self, reference: &str) -> Result<()>;
    /// Import a root file system (an uncompressed tar) as image `reference`.
    fn import_rootfs(&self, rootfs_tar: Vec<u8>, reference: &str) -> Result<()>;
    /// Build `reference` from a build context (a tar with a `Dockerfile`), with build arguments
    /// and labels; `progress` receives each step's line.
    fn build(
        &self,
        context: Vec<u8>,
        reference: &str,
        args: &HashMap<String, String>,
        labels: &HashMap<String, String>,
        progress: &dyn Fn(&str),
    ) -> Result<()>;
}

/// Megabytes, for sizes in messages.
pub fn megabytes(bytes: u64) -> u64 {
    bytes / 1_000_000
}
