//! The schema registry as kbench uses it: registering the (header-augmented) scenario schema
//! under the subject its strategy names, and resolving writer schemas by id when consuming —
//! both through schema_registry_converter's Confluent-API client.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use apache_avro::Schema;
use schema_registry_converter::async_impl::schema_registry::{
    get_schema_by_id, post_schema, SrSettings,
};
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};

use crate::security::registry::Registry;

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

fn runtime() -> Result<tokio::runtime::Runtime> {
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
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("registering subject {subject} at {registry} failed"))?;
    Ok(Registered {
        id: reg.id,
        subject: subject.to_string(),
        schema: Arc::new(schema),
        json: augmented_json.to_string(),
    })
}

/// Writer schemas by id, fetched from the registry once each.
pub struct SchemaCache {
    sr: SrSettings,
    rt: tokio::runtime::Runtime,
    by_id: HashMap<u32, Arc<Schema>>,
}

impl SchemaCache {
    /// An empty cache for `registry`, with its own async runtime.
    pub fn new(registry: &Registry) -> Result<Self> {
        Ok(SchemaCache {
            sr: registry.sr_settings()?,
            rt: runtime()?,
            by_id: HashMap::new(),
        })
    }

    /// Writer schema `id`, fetched from the registry the first time it is asked for.
    pub fn get(&mut self, id: u32) -> Result<Arc<Schema>> {
        if let Some(s) = self.by_id.get(&id) {
            return Ok(Arc::clone(s));
        }
        let reg = self
            .rt
            .block_on(get_schema_by_id(id, &self.sr))
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("schema id {id} is not in the registry"))?;
        let schema = Arc::new(
            Schema::parse_str(&reg.schema)
                .with_context(|| format!("schema id {id} is not valid Avro"))?,
        );
        self.by_id.insert(id, Arc::clone(&schema));
        Ok(schema)
    }
}
