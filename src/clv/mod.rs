//! Customer-lifetime-value core: BTYD models (BG/NBD, Pareto/NBD,
//! Gamma-Gamma, sBG, BG/BB), maximum-likelihood fitting, predictions,
//! discounted CLV and the transaction → RFM summary. Pure numeric code: no
//! IO, no logging, no serde.

mod bgbb;
mod bgbb_likelihood;
mod bgnbd;
mod bgnbd_likelihood;
mod clv_value;
mod dates;
mod dual;
mod error;
mod gamma_gamma;
mod minimize;
mod multistart;
mod nelder_mead;
mod optimize;
mod pnbd;
mod rfm;
mod sbg;
pub mod simulate;
pub mod special;
mod stderr;
mod summary;

pub use bgbb::{BetaGeometricBetaBinomial, BgBbRow};
pub use bgnbd::{BgNbd, CustomerScore};
pub use clv_value::{
    ClvOptions, TransactionModel, customer_lifetime_value, customer_lifetime_values,
};
pub use error::ClvError;
pub use gamma_gamma::GammaGamma;
pub use optimize::{FitDiagnostics, FitOptions};
pub use pnbd::ParetoNbd;
pub use rfm::{RfmRow, compress_rfm};
pub use sbg::{SbgObservation, ShiftedBetaGeometric};
pub use summary::{
    CalibrationHoldout, CustomerSummary, DAYS_PER_MONTH, Period, Transaction,
    calibration_and_holdout, civil_from_days, days_from_civil, parse_ymd,
    summary_from_transactions,
};
