//! The schema registry as kbench uses it: registering the (header-augmented) scenario schema
//! under the subject its strategy names, and resolving writer schemas by id when consuming —
//! both through schema_registry_converter's Confluent-API client — and evolving a subject
//! (new versions, compatibility) through the Confluent API directly. The cache of writer
//! schemas by id is in `schema_cache`.

use std::sync::Arc;

use anyhow::{Context, Result};
use apache_avro::Schema;
use schema_registry_converter::async_impl::schema_registry::post_schema;
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};

use crate::security::registry::{Registry, RequestError};

/// A schema registered for a run.
#[derive(Debug, Clone)]
pub struct Registered {
    /// Id the registry assigned to the schema.
    pub id: u32,
    /// Subject the schema is registered under.
    pub subject: String,
    /// The registered schema, parsed.
    pub schema: Arc<Schema>,
    /// The schema JSON as registered (with kbench's header fields).
    pub json: String,
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start an async runtime for the registry client")
}

/// Full name (`namespace.Name`) of a top-level named schema.
pub fn full_name(schema: &Schema) -> Option<String> {
    match schema {
        Schema::Record(r) => Some(r.name.fullname(None)),
        _ => None,
    }
}

/// Register `augmented_json` under `subject` (idempotent: the same schema gets the same id).
pub fn register(registry: &Registry, subject: &str, augmented_json: &str) -> Result<Registered> {
    let schema =
        Schema::parse_str(augmented_json).context("the schema to register is not valid Avro")?;
    let supplied = SuppliedSchema::new(
        full_name(&schema),
        SchemaType::Avro,
        augmented_json.to_string(),
    );
    let sr = registry.sr_settings()?;
    let reg = runtime()?
        .block_on(post_schema(&sr, subject.to_string(), supplied))
        .map_err(anyhow::Error::new)
        .with_context(|| format!("registering subject {subject} at {registry} failed"))?;
    Ok(Registered {
        id: reg.id,
        subject: subject.to_string(),
        schema: Arc::new(schema),
        json: augmented_json.to_string(),
    })
}

/// What the registry said to a new version of a subject's schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Registration {
    /// Registered (or already there): its id, and its version under the subject where known.
    Accepted {
        /// Registry id.
        id: u32,
        /// Version number under the subject.
        version: Option<u32>,
    },
    /// Refused, with the registry's own words (409: incompatible, 422: invalid).
    Rejected {
        /// HTTP status.
        status: u16,
        /// The registry's message.
        message: String,
    },
}

/// How long one evolution request may take before it counts as failed.
const EVOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn subject_path(subject: &str) -> String {
    format!("/subjects/{}", urlencode(subject))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The registry's message in an error answer, else the answer itself.
fn message(status: u16, body: &serde_json::Value) -> String {
    body.get("message")
        .and_then(|m| m.as_str())
        .map_or_else(|| format!("HTTP {status}: {body}"), str::to_string)
}

/// Register `augmented_json` as a new version of `subject` through the Confluent API
/// (`POST /subjects/{subject}/versions`), letting the registry judge compatibility. An error
/// only when the registry could not be asked or answered something else than yes or no. The
/// version number is left to [`version_of`], so each request can be timed on its own.
pub fn register_version(
    registry: &Registry,
    subject: &str,
    augmented_json: &str,
) -> Result<Registration> {
    let body = serde_json::json!({ "schema": augmented_json });
    let path = format!("{}/versions", subject_path(subject));
    let (status, answer) =
        registry.send_json(reqwest::Method::POST, &path, &body, EVOLVE_TIMEOUT)?;
    match status {
        200..=299 => {
            let id = answer.get("id").and_then(|v| v.as_u64()).with_context(|| {
                format!("the registry accepted the schema but gave no id: {answer}")
            })?;
            Ok(Registration::Accepted {
                id: id as u32,
                version: None,
            })
        }
        409 | 422 => Ok(Registration::Rejected {
            status,
            message: message(status, &answer),
        }),
        _ => Err(RequestError::status(
            status,
            format!("registering under {subject}: {}", message(status, &answer)),
        )
        .into()),
    }
}

/// The version number `augmented_json` has under `subject` (`POST /subjects/{subject}`);
/// `None` when the subject does not hold it.
pub fn version_of(registry: &Registry, subject: &str, augmented_json: &str) -> Result<Option<u32>> {
    let body = serde_json::json!({ "schema": augmented_json });
    let (status, answer) = registry.send_json(
        reqwest::Method::POST,
        &subject_path(subject),
        &body,
        EVOLVE_TIMEOUT,
    )?;
    Ok(match status {
        200..=299 => answer
            .get("version")
            .and_then(|v| v.as_u64())
            .map(|v| v as u32),
        _ => None,
    })
}

/// Set `subject`'s compatibility mode (`PUT /config/{subject}`), e.g. `BACKWARD`.
pub fn set_compatibility(registry: &Registry, subject: &str, mode: &str) -> Result<()> {
    let body = serde_json::json!({ "compatibility": mode });
    let path = format!("/config/{}", urlencode(subject));
    let (status, answer) =
        registry.send_json(reqwest::Method::PUT, &path, &body, EVOLVE_TIMEOUT)?;
    if !(200..=299).contains(&status) {
        let text = format!(
            "the registry refused compatibility {mode} for {subject}: {}",
            message(status, &answer)
        );
        return Err(RequestError::status(status, text).into());
    }
    Ok(())
}
