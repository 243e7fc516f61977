//! Rules that involve more than one field, stated once for every platform.
//!
//! A reader collects the facts it could read (even from a document with other problems)
//! and asks [`application`] or [`decision`] what is wrong; each finding names a [`Field`],
//! which the reader turns into its own path. Rules about one field alone live in that
//! field's type (`Uscc::parse`, `DivisionCode::parse`, …).

use super::message::Message;
use super::{DivisionCode, Invalid, Outcome, Problems, Sha256Digest};
use crate::codes::{Code, EntityType, Item, ItemKind};

/// A place in the canonical document, for readers to spell in their own vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The item applied for.
    Item,
    /// The operator's USCC.
    OperatorUscc,
    /// The operator's entity type.
    EntityType,
    /// The whole food business section.
    Food,
    /// The business scope.
    BusinessScope,
    /// The premises' division code.
    PremisesDivision,
    /// The target region.
    TargetRegion,
    /// The accepting office's USCC (the gateway checks it lies in the sender's province).
    OfficeUscc,
    /// The whole licence section of a decision.
    Licence,
    /// The licence's end of validity.
    LicenceValidTo,
    /// The licence number.
    LicenceNumber,
}

/// What a reader could read of an application; `None` where the field was absent or bad.
#[derive(Debug, Default)]
pub struct ApplicationFacts {
    /// The item, if known.
    pub item: Option<Code<Item>>,
    /// Whether a USCC was given for the operator.
    pub has_uscc: bool,
    /// The entity type, if known.
    pub entity_type: Option<Code<EntityType>>,
    /// Whether the food section is present.
    pub has_food: bool,
    /// Whether a business scope is present.
    pub has_scope: bool,
    /// The premises' division, if valid.
    pub premises: Option<DivisionCode>,
    /// The target region, if valid.
    pub target: Option<DivisionCode>,
}

/// The cross-field rules of an application, each finding recorded through `path`.
pub fn application(f: &ApplicationFacts, problems: &mut Problems, path: impl Fn(Field) -> String) {
    if let Some(item) = f.item {
        let item_name = || item.name().to_owned();
        match item.kind() {
            ItemKind::Food => {
                if !f.has_food {
                    problems.error(
                        path(Field::Food),
                        Message::RequiredForItem { item: item_name() },
                    );
                }
                if !f.has_uscc {
                    problems.error(
                        path(Field::OperatorUscc),
                        Message::UsccRequiredForItem { item: item_name() },
                    );
                }
                if f.has_scope {
                    problems.error(
                        path(Field::BusinessScope),
                        Message::OnlyForRegistration { item: item_name() },
                    );
                }
            }
            ItemKind::Registration => {
                if !f.has_scope {
                    problems.error(
                        path(Field::BusinessScope),
                        Message::RequiredForItem { item: item_name() },
                    );
                }
                if f.has_uscc {
                    problems.error(
                        path(Field::OperatorUscc),
                        Message::UsccAbsentForRegistration { item: item_name() },
                    );
                }
                if f.has_food {
                    problems.error(
                        path(Field::Food),
                        Message::OnlyForFood { item: item_name() },
                    );
                }
                let fits = match (item.key(), f.entity_type.map(|e| e.key())) {
                    ("gt-registration", Some(e)) => e == "individual-business",
                    ("llc-registration", Some(e)) => e.starts_with("llc"),
                    _ => true,
                };
                if !fits {
                    let entity = f.entity_type.map_or("", |e| e.name());
                    problems.error(
                        path(Field::EntityType),
                        Message::EntityNotForItem {
                            entity: entity.to_owned(),
                            item: item_name(),
                        },
                    );
                }
            }
        }
    }
    if let (Some(premises), Some(target)) = (f.premises, f.target) {
        if premises.province() != target.province() {
            problems.error(
                path(Field::TargetRegion),
                Message::NoJurisdiction {
                    target: target.to_string(),
                    target_name: target.full_name().to_owned(),
                    premises: premises.to_string(),
                    premises_name: premises.full_name().to_owned(),
                },
            );
        }
    }
}

/// What a reader could read of a decision.
#[derive(Debug, Default)]
pub struct DecisionFacts {
    /// The outcome, if known.
    pub outcome: Option<Outcome>,
    /// Whether a licence section is present.
    pub has_licence: bool,
    /// Validity, if both dates were read.
    pub validity: Option<(super::Date, super::Date)>,
}

/// The cross-field rules of a decision.
pub fn decision(f: &DecisionFacts, problems: &mut Problems, path: impl Fn(Field) -> String) {
    match (f.outcome, f.has_licence) {
        (Some(Outcome::Granted), false) => {
            problems.error(path(Field::Licence), Message::LicenceRequired)
        }
        (Some(o @ (Outcome::Refused | Outcome::Correction)), true) => {
            problems.error(path(Field::Licence), Message::LicenceAbsent { outcome: o })
        }
        _ => {}
    }
    if let Some((from, to)) = f.validity {
        if to < from {
            problems.error(
                path(Field::LicenceValidTo),
                Message::ValidityReversed {
                    from: from.to_string(),
                    to: to.to_string(),
                },
            );
        }
    }
}

/// Checks a licence number: a food licence number (`JY…`) by its format, with a check
/// digit mismatch as a warning; any other licence number must not be empty.
pub fn licence_number(number: &str, problems: &mut Problems, path: impl Fn() -> String) {
    if number.starts_with("JY") {
        match super::FoodLicenceNo::parse(number) {
            Ok((_, Some(warning))) => problems.warn(path(), warning),
            Ok((_, None)) => {}
            Err(e) => problems.error(path(), e.0),
        }
    } else if number.trim().is_empty() {
        problems.error(path(), Message::LicenceNoEmpty);
    }
}

/// A material's claimed digest must be the digest of its content.
pub fn digest_matches(claimed: &Sha256Digest, actual: &Sha256Digest) -> Result<(), Invalid> {
    if claimed == actual {
        return Ok(());
    }
    Err(Invalid(Message::DigestMismatch {
        actual: hex::encode(actual.0),
        claimed: hex::encode(claimed.0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: &ApplicationFacts) -> Vec<String> {
        let mut p = Problems::new();
        application(f, &mut p, |field| format!("{field:?}"));
        p.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn food_items_need_the_food_section_and_a_uscc() {
        let f = ApplicationFacts {
            item: Code::from_key("food-new"),
            ..Default::default()
        };
        let found = run(&f);
        assert!(
            found.iter().any(|s| s.starts_with("Food: required")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|s| s.starts_with("OperatorUscc:")),
            "{found:?}"
        );
    }

    #[test]
    fn registrations_need_scope_and_no_uscc_and_a_fitting_entity() {
        let f = ApplicationFacts {
            item: Code::from_key("gt-registration"),
            has_uscc: true,
            entity_type: Code::from_key("llc"),
            ..Default::default()
        };
        let found = run(&f);
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn target_must_have_jurisdiction_over_the_premises() {
        let f = ApplicationFacts {
            premises: DivisionCode::parse("330482").ok(),
            target: DivisionCode::parse("310116").ok(),
            ..Default::default()
        };
        let found = run(&f);
        assert!(found[0].contains("no jurisdiction"), "{found:?}");
    }

    #[test]
    fn granted_needs_a_licence_and_refused_has_none() {
        let mut p = Problems::new();
        let f = DecisionFacts {
            outcome: Some(Outcome::Granted),
            ..Default::default()
        };
        decision(&f, &mut p, |_| "zz".into());
        let f = DecisionFacts {
            outcome: Some(Outcome::Refused),
            has_licence: true,
            ..Default::default()
        };
        decision(&f, &mut p, |_| "zz".into());
        assert_eq!(p.len(), 2);
    }
}
