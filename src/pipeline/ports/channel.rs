//! The channel port: how a reply leaves Holdfast.

use async_trait::async_trait;

use crate::domain::ChannelKind;
use crate::pipeline::views::{OutboxEntry, Receipt};

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// Worth retrying (network, rate limit, the service is down).
    #[error("temporary: {0}")]
    Temporary(String),
    /// Retrying will not help (blocked by the user, no such chat).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// What a channel can promise about a send that may have happened before a
/// crash. See ARCHITECTURE.md, "Delivery guarantees".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarantee {
    /// `lookup` can tell whether a key was sent: no duplicates.
    ExactlyOnce,
    /// No way to ask: a crash between send and mark can resend once.
    AtLeastOnce,
}

#[async_trait]
pub trait Channel: Send + Sync + 'static {
    fn kind(&self) -> ChannelKind;
    fn guarantee(&self) -> Guarantee;
    /// Sends one delivery; `entry.idempotency_key` identifies it.
    async fn send(&self, entry: &OutboxEntry) -> Result<Receipt, ChannelError>;
    /// For `ExactlyOnce` channels: the receipt of an earlier send with this
    /// key, if there was one.
    async fn lookup(&self, idempotency_key: &str) -> Result<Option<Receipt>, ChannelError> {
        let _ = idempotency_key;
        Ok(None)
    }
}
