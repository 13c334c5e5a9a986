//! Money: units that may be added, currencies converted at configured rates,
//! and `[[costs]]` turned into spend.

pub mod costs;
pub mod money;

pub use money::{Money, Quantity, UnitError};
