//! Points that passed [`Point::validate`], so they are checked once.
//!
//! A pull's points are validated where they enter the host, to name the
//! connector that emitted a bad one; the store, which must refuse a bad
//! point from any caller, validated each again (2% of a 10,000-post pull).
//! A [`ValidPoints`] can only be filled through [`ValidPoints::push`], so
//! holding one proves the check was made and the store can skip it.

use crate::{Point, SchemaError};
use std::ops::Deref;

/// Points, in order, each of which passed [`Point::validate`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ValidPoints(Vec<Point>);

impl ValidPoints {
    /// Validates `point` and keeps it, or says why it does not fit the schema.
    pub fn push(&mut self, point: Point) -> Result<(), SchemaError> {
        point.validate()?;
        self.0.push(point);
        Ok(())
    }

    /// Moves every point of `other` behind these, leaving `other` empty.
    pub fn append(&mut self, other: &mut ValidPoints) {
        self.0.append(&mut other.0);
    }

    /// Drops every point, keeping the allocation for the next ones.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The points, for a caller that takes them over.
    pub fn into_vec(self) -> Vec<Point> {
        self.0
    }
}

impl Deref for ValidPoints {
    type Target = [Point];

    fn deref(&self) -> &[Point] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a ValidPoints {
    type Item = &'a Point;
    type IntoIter = std::slice::Iter<'a, Point>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, EntityKind, PointTime};
    use chrono::TimeZone;

    fn likes(value: f64) -> Point {
        let at = chrono::Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        Point::new(
            "mastodon",
            "engagement.likes",
            "favourites_count",
            Entity::new(EntityKind::Post, "1", None),
            value,
            PointTime::At(at),
        )
    }

    #[test]
    fn only_points_that_fit_the_schema_get_in() {
        let mut points = ValidPoints::default();
        points.push(likes(3.0)).unwrap();
        let refused = points.push(likes(-1.0)).unwrap_err();
        assert!(matches!(refused, SchemaError::BadValue { .. }), "{refused}");
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].value, 3.0);

        let mut more = ValidPoints::default();
        more.push(likes(4.0)).unwrap();
        points.append(&mut more);
        assert!(more.is_empty());
        let values: Vec<f64> = points.iter().map(|p| p.value).collect();
        assert_eq!(values, [3.0, 4.0]);
        points.clear();
        assert!(points.is_empty());
    }
}
