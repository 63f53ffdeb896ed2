//! The offer catalogue (`knowledge/offers.toml`): what may be offered, to
//! whom, how often, within which caps, at what cost to the business.

use std::collections::HashSet;

use serde::Deserialize;

use crate::domain::{Lang, Phase};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    Discount,
    FreeItem,
    FreeDelivery,
    ExtraSkip,
    Pause,
    PlanChange,
    Points,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    #[serde(default)]
    pub active_subscription: bool,
    #[serde(default)]
    pub min_paid_deliveries: u32,
    #[serde(default)]
    pub min_orders_12m: u32,
    #[serde(default)]
    pub requires_incident: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    pub id: String,
    pub kind: OfferKind,
    pub title_ru: String,
    pub title_en: String,
    pub priced: bool,
    #[serde(default)]
    pub max_discount_pct: Option<u32>,
    #[serde(default)]
    pub discount_steps_pct: Vec<u32>,
    #[serde(default)]
    pub max_deliveries: Option<u32>,
    #[serde(default)]
    pub duration_days: Option<u32>,
    #[serde(default)]
    pub max_points: Option<u32>,
    pub cost_rub: u32,
    pub cooldown_days: u32,
    pub phases: Vec<String>,
    #[serde(default)]
    pub eligibility: Eligibility,
}

impl Offer {
    pub fn title(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ru => &self.title_ru,
            Lang::En => &self.title_en,
        }
    }

    pub fn phases(&self) -> Vec<Phase> {
        self.phases
            .iter()
            .filter_map(|p| Phase::parse(p).ok())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub max_offers_per_reply: u32,
    pub max_priced_offers_per_reply: u32,
    pub min_days_between_priced_offers: u32,
    #[serde(default)]
    pub excluded_segments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub rules: Rules,
    #[serde(rename = "offer")]
    pub offers: Vec<Offer>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{0}")]
    Toml(String),
    #[error("offer {id:?}: {reason}")]
    Invalid { id: String, reason: String },
}

impl Catalogue {
    /// Parses and checks a catalogue: unique ids, known phases, discount
    /// steps within the cap, caps present for the kinds that need them.
    pub fn parse(toml_text: &str) -> Result<Catalogue, CatalogueError> {
        let c: Catalogue =
            toml::from_str(toml_text).map_err(|e| CatalogueError::Toml(e.to_string()))?;
        let mut seen = HashSet::new();
        for o in &c.offers {
            let bad = |reason: &str| {
                Err(CatalogueError::Invalid {
                    id: o.id.clone(),
                    reason: reason.to_owned(),
                })
            };
            if !seen.insert(o.id.as_str()) {
                return bad("appears twice");
            }
            if o.phases.is_empty() || o.phases.iter().any(|p| Phase::parse(p).is_err()) {
                return bad(
                    "phases must be a non-empty list of new, active, hot, at_risk, churning, resisting",
                );
            }
            if o.kind == OfferKind::Discount {
                let Some(cap) = o.max_discount_pct else {
                    return bad("a discount needs max_discount_pct");
                };
                if cap == 0 || cap > 100 || o.discount_steps_pct.iter().any(|s| *s == 0 || *s > cap)
                {
                    return bad("discount steps must be between 1 and max_discount_pct");
                }
            }
            if o.kind == OfferKind::Points && o.max_points.is_none() {
                return bad("a points offer needs max_points");
            }
            if o.priced != (o.cost_rub > 0) && o.kind != OfferKind::Points {
                return bad("priced offers cost something and unpriced ones cost nothing");
            }
        }
        Ok(c)
    }

    pub fn get(&self, id: &str) -> Option<&Offer> {
        self.offers.iter().find(|o| o.id == id)
    }

    /// The highest discount any offer allows.
    pub fn max_discount_pct(&self) -> u32 {
        self.offers
            .iter()
            .filter_map(|o| o.max_discount_pct)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogue_is_valid() {
        let c = Catalogue::parse(include_str!("../../../knowledge/offers.toml")).unwrap();
        assert!(c.offers.len() >= 5);
        assert_eq!(c.max_discount_pct(), 20);
        assert!(c.rules.max_priced_offers_per_reply >= 1);
    }

    #[test]
    fn invalid_catalogues_are_refused() {
        let base = "[rules]\nmax_offers_per_reply = 2\nmax_priced_offers_per_reply = 1\nmin_days_between_priced_offers = 30\n";
        let bad_steps = format!(
            "{base}[[offer]]\nid = \"d\"\nkind = \"discount\"\ntitle_ru = \"a\"\ntitle_en = \"a\"\npriced = true\nmax_discount_pct = 20\ndiscount_steps_pct = [10, 30]\ncost_rub = 5\ncooldown_days = 1\nphases = [\"at_risk\"]\n"
        );
        assert!(Catalogue::parse(&bad_steps).is_err());
        let bad_phase = bad_steps
            .replace("[10, 30]", "[10]")
            .replace("at_risk", "sleepy");
        assert!(Catalogue::parse(&bad_phase).is_err());
        let ok = bad_steps.replace("[10, 30]", "[10]");
        assert!(Catalogue::parse(&ok).is_ok());
        assert!(
            Catalogue::parse(&format!("{ok}{}", &ok[ok.find("[[offer]]").unwrap()..])).is_err(),
            "duplicate id"
        );
    }
}
