//! Channel adapters: where replies leave Holdfast. Each real channel gets
//! a folder (config, source, sink); the dev sink stands in for channels
//! that are not configured, in demos and development.

pub mod dev_sink;
