//! `holdfast eval …`: evaluations that print figures (and JSON) on any
//! corpus in the formats of the evaluation README.

pub mod attacks;
pub mod classify;
pub mod retrieval;
