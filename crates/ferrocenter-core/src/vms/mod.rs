//! VM operations: power and migration.
mod power;
