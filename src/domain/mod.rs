//! Holdfast's vocabulary: validated values and the rules between them.
//! No IO, no storage, no HTTP: everything here is plain data and logic.

mod analysis;
mod channel;
mod customer;
mod draft;
mod email;
mod error;
mod event;
mod identity;
mod ids;
mod message;
mod money;
mod phone;
mod telegram;
mod time;

pub use analysis::{Intent, Lang, Phase, Sentiment};
pub use channel::ChannelKind;
pub use customer::NewProfile;
pub use draft::{DraftAction, DraftState, InvalidTransition};
pub use email::Email;
pub use error::DomainError;
pub use event::{AmountRule, EventKind, NewEvent};
pub use identity::{
    ConflictReason, IdKind, Identity, IdentityConflict, KnownIdentifier, Match, ResolutionPlan,
    plan_resolution,
};
pub use ids::{
    ConversationId, CustomerId, DraftId, EventId, ExternalId, JobId, MessageId, OutboxId,
    SourceEventId,
};
pub use message::{Direction, MessageText, NewMessage};
pub use money::{Currency, Money};
pub use phone::Phone;
pub use telegram::{TelegramUserId, TelegramUsername};
pub use time::Timestamp;
