//! Customer identity: which identifiers an input carries, and how they are
//! matched to exactly one customer without ever merging two silently.

use std::fmt;

use super::{CustomerId, DomainError, Email, ExternalId, Phone, TelegramUserId, TelegramUsername};

/// The kinds of identifier, strongest first. When an input's identifiers
/// point at different customers, the strongest one decides the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKind {
    External,
    TelegramId,
    Email,
    Phone,
    TelegramUsername,
}

impl IdKind {
    pub const ALL: [IdKind; 5] = [
        IdKind::External,
        IdKind::TelegramId,
        IdKind::Email,
        IdKind::Phone,
        IdKind::TelegramUsername,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::External => "external_id",
            IdKind::TelegramId => "telegram_id",
            IdKind::Email => "email",
            IdKind::Phone => "phone",
            IdKind::TelegramUsername => "telegram_username",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| DomainError::new("identifier", format!("unknown kind {s:?}")))
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything an input says about who the customer is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub external_id: Option<ExternalId>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub telegram_id: Option<TelegramUserId>,
    pub telegram_username: Option<TelegramUsername>,
}

impl Identity {
    pub fn is_empty(&self) -> bool {
        self.identifiers().is_empty()
    }

    /// Whether Holdfast could ever write back to this customer.
    pub fn is_reachable(&self) -> bool {
        self.phone.is_some()
            || self.email.is_some()
            || self.telegram_id.is_some()
            || self.telegram_username.is_some()
    }

    /// (kind, normalised value) pairs, strongest first.
    pub fn identifiers(&self) -> Vec<(IdKind, String)> {
        let mut v = Vec::with_capacity(5);
        if let Some(x) = &self.external_id {
            v.push((IdKind::External, x.as_str().to_owned()));
        }
        if let Some(x) = &self.telegram_id {
            v.push((IdKind::TelegramId, x.get().to_string()));
        }
        if let Some(x) = &self.email {
            v.push((IdKind::Email, x.as_str().to_owned()));
        }
        if let Some(x) = &self.phone {
            v.push((IdKind::Phone, x.as_str().to_owned()));
        }
        if let Some(x) = &self.telegram_username {
            v.push((IdKind::TelegramUsername, x.as_str().to_owned()));
        }
        v
    }

    /// Rebuilds an identity from stored (kind, value) rows.
    pub fn from_identifiers<'a>(rows: impl IntoIterator<Item = (IdKind, &'a str)>) -> Self {
        let mut id = Identity::default();
        for (kind, value) in rows {
            match kind {
                IdKind::External => id.external_id = ExternalId::parse(value).ok(),
                IdKind::TelegramId => id.telegram_id = TelegramUserId::parse(value).ok(),
                IdKind::Email => id.email = Email::parse(value).ok(),
                IdKind::Phone => id.phone = Phone::from_e164(value).ok(),
                IdKind::TelegramUsername => {
                    id.telegram_username = TelegramUsername::parse(value).ok()
                }
            }
        }
        id
    }

    pub(crate) fn digest_key(&self) -> String {
        self.identifiers()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// One stored identifier row: `customer` owns `(kind, value)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownIdentifier {
    pub kind: IdKind,
    pub value: String,
    pub customer: CustomerId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictReason {
    /// The identifier already belongs to another customer.
    OwnedByOther(CustomerId),
    /// The matched customer already has a different value of this kind.
    CustomerHasOther(String),
}

/// An identifier that was not attached because attaching it would have
/// merged two customers or replaced a known value. Recorded for an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConflict {
    pub kind: IdKind,
    pub value: String,
    pub reason: ConflictReason,
}

impl fmt::Display for IdentityConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            ConflictReason::OwnedByOther(c) => {
                write!(f, "{} belongs to another customer ({c})", self.kind)
            }
            ConflictReason::CustomerHasOther(_) => write!(
                f,
                "the customer already has a different {}; not replaced",
                self.kind
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Existing(CustomerId),
    New,
}

/// What to do with an input's identity: which customer it is, which new
/// identifiers to attach to that customer, and which conflicts to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionPlan {
    pub customer: Match,
    pub attach: Vec<(IdKind, String)>,
    pub conflicts: Vec<IdentityConflict>,
}

/// Matches `provided` against `known`: every stored identifier of every
/// customer that owns at least one of the provided identifiers.
///
/// Rules: the customer owning the strongest provided identifier is the
/// match; a provided identifier owned by someone else, or of a kind the
/// match already has with another value, is a conflict and is not attached.
/// Each customer has at most one value per kind; changing one is an
/// operator's explicit act (merge or edit), never a side effect of input.
pub fn plan_resolution(provided: &Identity, known: &[KnownIdentifier]) -> ResolutionPlan {
    let wanted = provided.identifiers();
    let owner_of = |kind: IdKind, value: &str| {
        known
            .iter()
            .find(|k| k.kind == kind && k.value == value)
            .map(|k| k.customer)
    };
    // The match is the owner of the strongest identifier whose owner does
    // not already hold a different value of a stronger provided kind: an
    // email that belongs to customer C002 does not make input carrying
    // external id C042 into C002.
    let primary = wanted.iter().enumerate().find_map(|(i, (k, v))| {
        let owner = owner_of(*k, v)?;
        let compatible = wanted[..i].iter().all(|(stronger, _)| {
            !known
                .iter()
                .any(|r| r.customer == owner && r.kind == *stronger)
        });
        compatible.then_some(owner)
    });
    let mut attach = Vec::new();
    let mut conflicts = Vec::new();
    for (kind, value) in wanted {
        match (owner_of(kind, &value), primary) {
            (Some(owner), Some(p)) if owner == p => {}
            (Some(owner), _) => conflicts.push(IdentityConflict {
                kind,
                value,
                reason: ConflictReason::OwnedByOther(owner),
            }),
            (None, Some(p)) => {
                let existing = known
                    .iter()
                    .find(|k| k.customer == p && k.kind == kind)
                    .map(|k| k.value.clone());
                match existing {
                    Some(other) => conflicts.push(IdentityConflict {
                        kind,
                        value,
                        reason: ConflictReason::CustomerHasOther(other),
                    }),
                    None => attach.push((kind, value)),
                }
            }
            (None, None) => attach.push((kind, value)),
        }
    }
    ResolutionPlan {
        customer: primary.map_or(Match::New, Match::Existing),
        attach,
        conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ident(ext: Option<&str>, email: Option<&str>, phone: Option<&str>) -> Identity {
        Identity {
            external_id: ext.map(|s| ExternalId::parse(s).unwrap()),
            email: email.map(|s| Email::parse(s).unwrap()),
            phone: phone.map(|s| Phone::parse(s, "RU").unwrap()),
            ..Identity::default()
        }
    }

    fn row(kind: IdKind, value: &str, customer: CustomerId) -> KnownIdentifier {
        KnownIdentifier {
            kind,
            value: value.to_owned(),
            customer,
        }
    }

    #[test]
    fn unknown_identity_makes_a_new_customer_with_everything_attached() {
        let plan = plan_resolution(&ident(Some("C1"), Some("a@b.example"), None), &[]);
        assert_eq!(plan.customer, Match::New);
        assert_eq!(plan.attach.len(), 2);
        assert!(plan.conflicts.is_empty());
    }

    #[test]
    fn a_new_identifier_enriches_the_match() {
        let c = CustomerId::new();
        let known = [row(IdKind::External, "C1", c)];
        let plan = plan_resolution(&ident(Some("C1"), Some("a@b.example"), None), &known);
        assert_eq!(plan.customer, Match::Existing(c));
        assert_eq!(plan.attach, vec![(IdKind::Email, "a@b.example".to_owned())]);
    }

    #[test]
    fn a_different_value_of_a_known_kind_is_a_conflict() {
        let c = CustomerId::new();
        let known = [
            row(IdKind::External, "C1", c),
            row(IdKind::Email, "old@b.example", c),
        ];
        let plan = plan_resolution(&ident(Some("C1"), Some("new@b.example"), None), &known);
        assert_eq!(plan.customer, Match::Existing(c));
        assert!(plan.attach.is_empty());
        assert_eq!(
            plan.conflicts[0].reason,
            ConflictReason::CustomerHasOther("old@b.example".to_owned())
        );
    }

    #[test]
    fn a_weaker_identifier_of_another_customer_does_not_capture_a_new_external_id() {
        let other = CustomerId::new();
        let known = [
            row(IdKind::External, "C2", other),
            row(IdKind::Email, "x@b.example", other),
        ];
        let plan = plan_resolution(&ident(Some("C42"), Some("x@b.example"), None), &known);
        assert_eq!(plan.customer, Match::New);
        assert_eq!(plan.attach, vec![(IdKind::External, "C42".to_owned())]);
        assert_eq!(
            plan.conflicts[0].reason,
            ConflictReason::OwnedByOther(other)
        );
    }

    #[test]
    fn identifiers_of_two_customers_are_never_merged() {
        let a = CustomerId::new();
        let b = CustomerId::new();
        let known = [
            row(IdKind::External, "C1", a),
            row(IdKind::Email, "x@b.example", b),
        ];
        let plan = plan_resolution(&ident(Some("C1"), Some("x@b.example"), None), &known);
        assert_eq!(plan.customer, Match::Existing(a));
        assert_eq!(plan.conflicts[0].reason, ConflictReason::OwnedByOther(b));
        assert!(plan.attach.is_empty());
    }

    proptest! {
        /// Whatever the input, the plan never attaches an identifier that
        /// another customer owns, and never attaches a second value of a kind.
        #[test]
        fn plans_never_steal_or_duplicate(
            owners in proptest::collection::vec((0usize..5, 0usize..3, 0usize..3), 0..8),
            ext in proptest::option::of(0usize..3),
            mail in proptest::option::of(0usize..3),
        ) {
            let customers = [CustomerId::new(), CustomerId::new(), CustomerId::new()];
            let values = |kind: IdKind, i: usize| match kind {
                IdKind::Email => format!("u{i}@x.example"),
                _ => format!("C{i}"),
            };
            let mut known: Vec<KnownIdentifier> = Vec::new();
            for (k, v, c) in owners {
                let kind = [IdKind::External, IdKind::Email][k % 2];
                let value = values(kind, v);
                if known.iter().any(|r| r.kind == kind && (r.value == value || r.customer == customers[c])) {
                    continue;
                }
                known.push(row(kind, &value, customers[c]));
            }
            let provided = Identity {
                external_id: ext.map(|i| ExternalId::parse(&values(IdKind::External, i)).unwrap()),
                email: mail.map(|i| Email::parse(&values(IdKind::Email, i)).unwrap()),
                ..Identity::default()
            };
            let plan = plan_resolution(&provided, &known);
            for (kind, value) in &plan.attach {
                prop_assert!(!known.iter().any(|r| r.kind == *kind && r.value == *value));
                if let Match::Existing(c) = plan.customer {
                    prop_assert!(!known.iter().any(|r| r.customer == c && r.kind == *kind));
                }
            }
            prop_assert_eq!(plan.attach.len() + plan.conflicts.len()
                + provided.identifiers().iter().filter(|(k, v)| {
                    matches!(plan.customer, Match::Existing(c) if known.iter().any(|r| r.customer == c && r.kind == *k && &r.value == v))
                }).count(), provided.identifiers().len());
        }
    }
}
