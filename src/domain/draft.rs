//! Drafts and their state machine:
//! `proposed → approved | edited | rejected`, `approved | edited → queued`,
//! `queued → sent | failed`, and an operator may re-queue a failed draft.

use std::fmt;

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DraftState {
    Proposed,
    Approved,
    Edited,
    Rejected,
    Queued,
    Sent,
    Failed,
}

impl DraftState {
    pub const ALL: [DraftState; 7] = [
        DraftState::Proposed,
        DraftState::Approved,
        DraftState::Edited,
        DraftState::Rejected,
        DraftState::Queued,
        DraftState::Sent,
        DraftState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Proposed => "proposed",
            DraftState::Approved => "approved",
            DraftState::Edited => "edited",
            DraftState::Rejected => "rejected",
            DraftState::Queued => "queued",
            DraftState::Sent => "sent",
            DraftState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| DomainError::new("state", format!("unknown draft state {s:?}")))
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, DraftState::Rejected | DraftState::Sent)
    }
}

impl fmt::Display for DraftState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone (a manager, the dispatcher, a channel) does to a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftAction {
    Approve,
    Edit,
    Reject,
    Queue,
    MarkSent,
    MarkFailed,
    Requeue,
}

impl DraftAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftAction::Approve => "approve",
            DraftAction::Edit => "edit",
            DraftAction::Reject => "reject",
            DraftAction::Queue => "queue",
            DraftAction::MarkSent => "mark_sent",
            DraftAction::MarkFailed => "mark_failed",
            DraftAction::Requeue => "requeue",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a draft that is {from}")]
pub struct InvalidTransition {
    pub from: DraftState,
    pub action: &'static str,
}

impl DraftState {
    /// The one place that says which transitions exist.
    pub fn apply(self, action: DraftAction) -> Result<DraftState, InvalidTransition> {
        use DraftAction as A;
        use DraftState as S;
        let to = match (self, action) {
            (S::Proposed, A::Approve) => S::Approved,
            (S::Proposed, A::Edit) => S::Edited,
            (S::Proposed, A::Reject) => S::Rejected,
            (S::Approved | S::Edited, A::Queue) => S::Queued,
            (S::Queued, A::MarkSent) => S::Sent,
            (S::Queued, A::MarkFailed) => S::Failed,
            (S::Failed, A::Requeue) => S::Queued,
            (from, action) => {
                return Err(InvalidTransition {
                    from,
                    action: action.as_str(),
                });
            }
        };
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DraftAction as A;
    use DraftState as S;

    #[test]
    fn happy_paths() {
        assert_eq!(
            S::Proposed
                .apply(A::Approve)
                .unwrap()
                .apply(A::Queue)
                .unwrap(),
            S::Queued
        );
        assert_eq!(S::Queued.apply(A::MarkSent).unwrap(), S::Sent);
        assert_eq!(
            S::Proposed.apply(A::Edit).unwrap().apply(A::Queue).unwrap(),
            S::Queued
        );
        assert_eq!(S::Failed.apply(A::Requeue).unwrap(), S::Queued);
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for a in [
            A::Approve,
            A::Edit,
            A::Reject,
            A::Queue,
            A::MarkSent,
            A::MarkFailed,
            A::Requeue,
        ] {
            assert!(S::Sent.apply(a).is_err());
            assert!(S::Rejected.apply(a).is_err());
        }
        assert!(S::Proposed.apply(A::MarkSent).is_err());
        assert!(S::Approved.apply(A::Approve).is_err());
    }
}
