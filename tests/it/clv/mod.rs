//! Customer-value models: accuracy on the shared CLV data sets, summary
//! parity with lifetimes, and property tests on simulated data.

mod accuracy;
mod data;
mod properties;
mod summary_parity;
