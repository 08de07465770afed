//! VM operations: power and migration.
mod migrate;
mod power;
