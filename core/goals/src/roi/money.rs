//! Units that may be added together, and money converted into one currency.
//!
//! A report that adds followers to dollars, or euros to dollars at an
//! imaginary rate of 1, is worse than no report. Every aggregate in goals and
//! reports goes through [`Quantity::add`] and [`Money::convert`], which refuse
//! both and say what to configure instead.

use std::collections::BTreeMap;
use tally_config::ClientConfig;
use tally_model::Unit;

/// Why two amounts cannot be combined.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    /// Money in two currencies and no rate between them.
    #[error("{context}: amounts in {from} cannot be added to amounts in {to} without a rate; add `currency = \"{to}\"` and `rates = {{ {from} = ... }}` (one {from} in {to}) to client `{client}`")]
    NoRate {
        /// What was being added up.
        context: String,
        /// The client whose config needs the rate.
        client: String,
        /// The currency without a rate.
        from: String,
        /// The currency amounts are converted into.
        to: String,
    },
    /// Different kinds of unit (a count and money).
    #[error("{context}: {left} cannot be added to {right}; they are different units")]
    Mismatch {
        /// What was being added up.
        context: String,
        /// One unit.
        left: String,
        /// The other unit.
        right: String,
    },
}

/// A value with its unit, where money is already in the client's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The amount.
    pub value: f64,
    /// Its unit (`Currency` only ever in the client's currency).
    pub unit: Unit,
}

impl Quantity {
    /// The sum of two quantities of the same unit.
    pub fn add(&self, other: &Quantity, context: &str) -> Result<Quantity, UnitError> {
        if self.unit != other.unit {
            return Err(UnitError::Mismatch {
                context: context.to_string(),
                left: other.unit.to_string(),
                right: self.unit.to_string(),
            });
        }
        Ok(Quantity {
            value: self.value + other.value,
            unit: self.unit.clone(),
        })
    }
}

/// Converts money into one client's currency.
///
/// The currency is the client's `currency`; without one, it is the first
/// currency met, and any other currency is an error (there is no rate).
#[derive(Debug, Clone)]
pub struct Money {
    client: String,
    currency: Option<String>,
    rates: BTreeMap<String, f64>,
}

impl Money {
    /// The converter for a client's config.
    pub fn for_client(client: &ClientConfig) -> Money {
        Money {
            client: client.id.clone(),
            currency: client.currency.as_ref().map(|c| c.as_str().to_string()),
            rates: client.rates.clone(),
        }
    }

    /// The currency amounts are converted into, once known.
    pub fn currency(&self) -> Option<&str> {
        self.currency.as_deref()
    }

    /// The unit a value of `unit` has after conversion.
    pub fn target_unit(&mut self, unit: &Unit) -> Unit {
        match unit {
            Unit::Currency(code) => {
                Unit::Currency(self.currency.get_or_insert_with(|| code.clone()).clone())
            }
            other => other.clone(),
        }
    }

    /// `value` in `unit` as a quantity in the client's currency (other units pass through).
    pub fn convert(
        &mut self,
        value: f64,
        unit: &Unit,
        context: &str,
    ) -> Result<Quantity, UnitError> {
        let Unit::Currency(code) = unit else {
            return Ok(Quantity {
                value,
                unit: unit.clone(),
            });
        };
        let target = self.currency.get_or_insert_with(|| code.clone()).clone();
        if *code == target {
            return Ok(Quantity {
                value,
                unit: Unit::Currency(target),
            });
        }
        match self.rates.get(code) {
            Some(rate) => Ok(Quantity {
                value: value * rate,
                unit: Unit::Currency(target),
            }),
            None => Err(UnitError::NoRate {
                context: context.to_string(),
                client: self.client.clone(),
                from: code.clone(),
                to: target,
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_config::Currency;

    fn client(currency: Option<&str>, rates: &[(&str, f64)]) -> ClientConfig {
        ClientConfig {
            id: "bakery".into(),
            name: "Bakery".into(),
            timezone: chrono_tz::Tz::UTC,
            currency: currency.map(|c| Currency::parse(c).unwrap()),
            value_per_lead: None,
            value_per_conversion: None,
            rates: rates.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn followers_cannot_be_added_to_dollars() {
        let followers = Quantity {
            value: 10.0,
            unit: Unit::Count,
        };
        let dollars = Quantity {
            value: 5.0,
            unit: Unit::Currency("USD".into()),
        };
        let e = followers
            .add(&dollars, "the funnel")
            .unwrap_err()
            .to_string();
        assert!(e.contains("USD cannot be added to count"), "{e}");
    }

    #[test]
    fn a_currency_without_a_rate_is_an_error_naming_the_fix() {
        let mut m = Money::for_client(&client(None, &[]));
        assert_eq!(
            m.convert(10.0, &Unit::Currency("USD".into()), "spend")
                .unwrap()
                .value,
            10.0
        );
        let e = m
            .convert(
                10.0,
                &Unit::Currency("EUR".into()),
                "goal `cpl`: cost.spend",
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("goal `cpl`: cost.spend: amounts in EUR cannot be added to amounts in USD")
                && e.contains("rates = { EUR = ... }"),
            "{e}"
        );
    }

    #[test]
    fn a_configured_rate_converts() {
        let mut m = Money::for_client(&client(Some("USD"), &[("EUR", 1.5)]));
        let q = m.convert(10.0, &Unit::Currency("EUR".into()), "x").unwrap();
        assert_eq!((q.value, q.unit), (15.0, Unit::Currency("USD".into())));
    }
}
