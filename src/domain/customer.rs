//! A customer record as a shop's CRM exports it.

use super::{DomainError, Identity};

/// A validated customer profile: who they are and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProfile {
    pub identity: Identity,
    pub name: Option<String>,
}

impl NewProfile {
    pub fn validate(self) -> Result<Self, DomainError> {
        if self.identity.external_id.is_none() {
            return Err(DomainError::new("customer_id", "is missing"));
        }
        if !self.identity.is_reachable() {
            return Err(DomainError::new(
                "customer",
                "has no phone, email or Telegram username: the customer cannot be reached or matched",
            ));
        }
        if let Some(n) = &self.name
            && n.chars().count() > 200
        {
            return Err(DomainError::new("name", "is longer than 200 characters"));
        }
        Ok(self)
    }
}
