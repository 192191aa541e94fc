//! Seeded generation of Avro values from a schema (being written).
