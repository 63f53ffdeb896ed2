//! Storage adapters: the only place that talks SQL. `open` picks the
//! backend once, from settings.

pub mod migrations;
pub mod pg_admin;
pub mod postgres;
pub mod sqlite;
