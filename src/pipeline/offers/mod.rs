//! Retention offers: the catalogue and the engine that picks one.

mod catalogue;
mod engine;

pub use catalogue::{Catalogue, CatalogueError, Eligibility, Offer, OfferKind, Rules};
pub use engine::{ChosenOffer, OfferContext, OfferDecision, OfferPolicy, choose};
