//! The point batch: how `emit` carries points across the boundary.
//!
//! Points are the bulk of what a plugin sends (a feed page of 100 posts is 400
//! points), so they do not travel as JSON: formatting and re-parsing field names,
//! escaped strings and RFC 3339 times cost more than the connector's own work.
//! A batch is a flat little-endian record format instead, a few lines of C to
//! write and one pass with no lookahead to read.
//!
//! A batch is a `u32` count of points followed by that many points. Each point
//! starts with a `u16` of repeat flags: bit *i* set means field *i* below is the
//! same as in the previous point and is left out. Consecutive points of one post
//! share everything but the metric, value and raw name, so most fields are sent
//! once; a writer that does not care may always write 0. Then come the fields
//! not repeated, in this order:
//!
//! | bit | field | encoding |
//! |---|---|---|
//! | 0 | platform | `str` |
//! | 1 | entity kind | `str` (`account`, `post`, `video`, `location`, `property`, `event`, `campaign`) |
//! | 2 | entity id | `str` |
//! | 3 | entity name | `u8` 0 (none) or 1 followed by a `str` |
//! | 4 | metric | `str` |
//! | – | value | `f64`, never repeated |
//! | 5 | unit | `str` (`count`, `seconds`, `rating` or an ISO 4217 code) |
//! | 6 | kind | `str` (`gauge` or `sum`) |
//! | 7 | time | `u8` 0 then one `instant` (`at`), or `u8` 1 then two (`start`, `end`) |
//! | 8 | dimensions | `u32` count, then `str` key and `str` value per dimension |
//! | 9 | raw name | `str` |
//!
//! where `str` is a `u32` byte length followed by that many bytes of UTF-8,
//! `instant` is an `i64` of seconds since the Unix epoch followed by a `u32` of
//! nanoseconds (below 1,000,000,000), `f64` is IEEE 754 binary64, and every
//! integer and float is little-endian. Bits 10 to 15 must be 0, the first point
//! repeats nothing, and nothing may follow the last point.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;
use tally_model::{Entity, EntityKind, MetricKind, Point, PointTime, SmolStr, Unit};

/// Why a batch could not be read: where in the buffer and what was wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// Byte offset in the batch where reading failed.
    pub offset: usize,
    /// The point being read (0-based), when the batch header was read.
    pub point: Option<u32>,
    /// What was expected or wrong.
    pub message: String,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.point {
            Some(index) => write!(f, "point {index} at byte {}: {}", self.offset, self.message),
            None => write!(f, "at byte {}: {}", self.offset, self.message),
        }
    }
}

impl std::error::Error for BatchError {}

/// Repeat flag bits, one per field that can be left out (see the module docs).
mod repeat {
    pub const PLATFORM: u16 = 1 << 0;
    pub const ENTITY_KIND: u16 = 1 << 1;
    pub const ENTITY_ID: u16 = 1 << 2;
    pub const ENTITY_NAME: u16 = 1 << 3;
    pub const METRIC: u16 = 1 << 4;
    pub const UNIT: u16 = 1 << 5;
    pub const KIND: u16 = 1 << 6;
    pub const TIME: u16 = 1 << 7;
    pub const DIMENSIONS: u16 = 1 << 8;
    pub const RAW_NAME: u16 = 1 << 9;
    /// Every bit the format defines.
    pub const ALL: u16 = (1 << 10) - 1;
}

/// Which fields of `point` equal those of `previous`.
fn repeats(point: &Point, previous: &Point) -> u16 {
    let flag = |same: bool, bit: u16| if same { bit } else { 0 };
    flag(point.platform == previous.platform, repeat::PLATFORM)
        | flag(
            point.entity.kind == previous.entity.kind,
            repeat::ENTITY_KIND,
        )
        | flag(point.entity.id == previous.entity.id, repeat::ENTITY_ID)
        | flag(
            point.entity.name == previous.entity.name,
            repeat::ENTITY_NAME,
        )
        | flag(point.metric == previous.metric, repeat::METRIC)
        | flag(point.unit == previous.unit, repeat::UNIT)
        | flag(point.kind == previous.kind, repeat::KIND)
        | flag(point.time == previous.time, repeat::TIME)
        | flag(point.dimensions == previous.dimensions, repeat::DIMENSIONS)
        | flag(point.raw_name == previous.raw_name, repeat::RAW_NAME)
}

/// Appends `points` to `out` as one batch, leaving out fields that repeat.
pub fn encode_batch(points: &[Point], out: &mut Vec<u8>) {
    out.reserve(points.len() * 48);
    put_u32(out, len_u32(points.len()));
    let mut previous: Option<&Point> = None;
    for point in points {
        let same = previous.map_or(0, |previous| repeats(point, previous));
        previous = Some(point);
        out.extend_from_slice(&same.to_le_bytes());
        let fresh = |bit: u16| same & bit == 0;
        if fresh(repeat::PLATFORM) {
            put_str(out, &point.platform);
        }
        if fresh(repeat::ENTITY_KIND) {
            put_str(out, point.entity.kind.as_str());
        }
        if fresh(repeat::ENTITY_ID) {
            put_str(out, &point.entity.id);
        }
        if fresh(repeat::ENTITY_NAME) {
            match &point.entity.name {
                Some(name) => {
                    out.push(1);
                    put_str(out, name);
                }
                None => out.push(0),
            }
        }
        if fresh(repeat::METRIC) {
            put_str(out, &point.metric);
        }
        out.extend_from_slice(&point.value.to_le_bytes());
        if fresh(repeat::UNIT) {
            put_str(out, point.unit.as_str());
        }
        if fresh(repeat::KIND) {
            put_str(out, point.kind.as_str());
        }
        if fresh(repeat::TIME) {
            match point.time {
                PointTime::At(at) => {
                    out.push(0);
                    put_instant(out, at);
                }
                PointTime::Period { start, end } => {
                    out.push(1);
                    put_instant(out, start);
                    put_instant(out, end);
                }
            }
        }
        if fresh(repeat::DIMENSIONS) {
            put_u32(out, len_u32(point.dimensions.len()));
            for (key, value) in &point.dimensions {
                put_str(out, key);
                put_str(out, value);
            }
        }
        if fresh(repeat::RAW_NAME) {
            put_str(out, &point.raw_name);
        }
    }
}

/// Reads a whole batch. Fails on the first field that does not fit, naming the
/// point and byte offset, and on bytes left over after the last point.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Point>, BatchError> {
    let mut reader = Reader {
        bytes,
        at: 0,
        point: None,
        names: Default::default(),
        next_name: 0,
    };
    let count = reader.u32("the point count")?;
    // Each point takes at least 10 bytes (flags and value), so a count the
    // buffer cannot hold is refused before it sizes an allocation.
    if count as usize > bytes.len() / 10 {
        return Err(reader.error(format!(
            "the batch says it holds {count} points but is only {} bytes long",
            bytes.len()
        )));
    }
    let mut points: Vec<Point> = Vec::with_capacity(count as usize);
    for index in 0..count {
        reader.point = Some(index);
        let point = reader.point_record(points.last())?;
        points.push(point);
    }
    reader.point = None;
    if reader.at != bytes.len() {
        return Err(reader.error(format!(
            "{} bytes follow the last of the {count} points the batch announced",
            bytes.len() - reader.at
        )));
    }
    Ok(points)
}

fn len_u32(len: usize) -> u32 {
    // A point with a field over 4 GiB cannot be sent; saturating makes the host
    // refuse the batch instead of reading a wrapped length.
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_u32(out, len_u32(text.len()));
    out.extend_from_slice(text.as_bytes());
}

fn put_instant(out: &mut Vec<u8>, at: DateTime<Utc>) {
    out.extend_from_slice(&at.timestamp().to_le_bytes());
    put_u32(out, at.timestamp_subsec_nanos());
}

/// A cursor over a batch that knows which point it is in, for error messages.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    point: Option<u32>,
    /// Metric and raw names seen lately. A connector emits a handful of them
    /// over and over (likes, replies, shares for every post), so most are found
    /// here and neither validated nor copied again.
    names: [SmolStr; NAME_CACHE],
    /// Where the next new name goes, round-robin.
    next_name: usize,
}

/// Names [`Reader`] remembers.
const NAME_CACHE: usize = 8;

impl<'a> Reader<'a> {
    fn error(&self, message: String) -> BatchError {
        BatchError {
            offset: self.at,
            point: self.point,
            message,
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], BatchError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        match end {
            Some(end) => {
                let slice = &self.bytes[self.at..end];
                self.at = end;
                Ok(slice)
            }
            None => Err(self.error(format!(
                "the batch ends inside {what} ({n} bytes needed, {} left)",
                self.bytes.len() - self.at
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], BatchError> {
        let slice = self.take(N, what)?;
        let mut array = [0u8; N];
        array.copy_from_slice(slice);
        Ok(array)
    }

    fn u8(&mut self, what: &str) -> Result<u8, BatchError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, BatchError> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// A `str`'s bytes and the offset they start at.
    fn str_bytes(&mut self, what: &str) -> Result<(usize, &'a [u8]), BatchError> {
        let len = self.u32(what)? as usize;
        let start = self.at;
        Ok((start, self.take(len, what)?))
    }

    fn utf8(&self, start: usize, bytes: &'a [u8], what: &str) -> Result<&'a str, BatchError> {
        std::str::from_utf8(bytes).map_err(|e| BatchError {
            offset: start + e.valid_up_to(),
            point: self.point,
            message: format!("{what} is not UTF-8"),
        })
    }

    fn str(&mut self, what: &str) -> Result<&'a str, BatchError> {
        let (start, bytes) = self.str_bytes(what)?;
        self.utf8(start, bytes, what)
    }

    fn instant(&mut self, what: &str) -> Result<DateTime<Utc>, BatchError> {
        let seconds = i64::from_le_bytes(self.array(what)?);
        let nanos = self.u32(what)?;
        DateTime::from_timestamp(seconds, nanos).ok_or_else(|| {
            self.error(format!(
                "{what} ({seconds} s + {nanos} ns since 1970) is not a representable time"
            ))
        })
    }

    /// A text field: its bytes must be UTF-8; short ones are stored inline.
    fn text(&mut self, what: &str) -> Result<SmolStr, BatchError> {
        self.str(what).map(SmolStr::new)
    }

    /// A metric or raw name: like [`Reader::text`], but a name seen lately is
    /// taken from the cache by comparing bytes.
    fn name(&mut self, what: &str) -> Result<SmolStr, BatchError> {
        let (start, bytes) = self.str_bytes(what)?;
        if let Some(known) = self.names.iter().find(|n| n.as_bytes() == bytes) {
            return Ok(known.clone());
        }
        let name = SmolStr::new(self.utf8(start, bytes, what)?);
        self.names[self.next_name] = name.clone();
        self.next_name = (self.next_name + 1) % NAME_CACHE;
        Ok(name)
    }

    fn point_record(&mut self, previous: Option<&Point>) -> Result<Point, BatchError> {
        let same = u16::from_le_bytes(self.array("the repeat flags")?);
        if same & !repeat::ALL != 0 {
            return Err(self.error(format!(
                "repeat flags {same:#06x} set bits above 9, which the format does not define"
            )));
        }
        let previous = match previous {
            Some(previous) => previous,
            None if same == 0 => &EMPTY_POINT,
            None => {
                return Err(self.error(
                    "the first point repeats fields, but there is no previous point".into(),
                ))
            }
        };
        let repeated = |bit: u16| same & bit != 0;
        let platform = if repeated(repeat::PLATFORM) {
            previous.platform.clone()
        } else {
            self.text("the platform")?
        };
        let kind = if repeated(repeat::ENTITY_KIND) {
            previous.entity.kind
        } else {
            let name = self.str("the entity kind")?;
            EntityKind::parse(name).ok_or_else(|| {
                self.error(format!(
                    "entity kind `{name}` is not one of account, post, video, location, property, event, campaign"
                ))
            })?
        };
        let id = if repeated(repeat::ENTITY_ID) {
            previous.entity.id.clone()
        } else {
            self.text("the entity id")?
        };
        let name = if repeated(repeat::ENTITY_NAME) {
            previous.entity.name.clone()
        } else {
            match self.u8("the entity name flag")? {
                0 => None,
                1 => Some(self.text("the entity name")?),
                other => {
                    return Err(self.error(format!(
                        "entity name flag {other} is neither 0 (no name) nor 1 (a name follows)"
                    )))
                }
            }
        };
        let metric = if repeated(repeat::METRIC) {
            previous.metric.clone()
        } else {
            self.name("the metric")?
        };
        let value = f64::from_le_bytes(self.array("the value")?);
        let unit = if repeated(repeat::UNIT) {
            previous.unit.clone()
        } else {
            let name = self.str("the unit")?;
            Unit::parse(name).map_err(|e| self.error(e.to_string()))?
        };
        let metric_kind = if repeated(repeat::KIND) {
            previous.kind
        } else {
            match self.str("the metric kind")? {
                "gauge" => MetricKind::Gauge,
                "sum" => MetricKind::Sum,
                other => {
                    return Err(self.error(format!(
                        "metric kind `{other}` is neither `gauge` nor `sum`"
                    )))
                }
            }
        };
        let time = if repeated(repeat::TIME) {
            previous.time
        } else {
            match self.u8("the time tag")? {
                0 => PointTime::At(self.instant("the instant")?),
                1 => PointTime::Period {
                    start: self.instant("the period start")?,
                    end: self.instant("the period end")?,
                },
                other => {
                    return Err(self.error(format!(
                        "time tag {other} is neither 0 (an instant) nor 1 (a period)"
                    )))
                }
            }
        };
        let dimensions = if repeated(repeat::DIMENSIONS) {
            previous.dimensions.clone()
        } else {
            let mut dimensions = BTreeMap::new();
            for _ in 0..self.u32("the dimension count")? {
                let key = self.str("a dimension key")?.to_string();
                let value = self.str("a dimension value")?.to_string();
                dimensions.insert(key, value);
            }
            dimensions
        };
        let raw_name = if repeated(repeat::RAW_NAME) {
            previous.raw_name.clone()
        } else {
            self.name("the raw name")?
        };
        Ok(Point {
            platform,
            entity: Entity { kind, id, name },
            metric,
            value,
            unit,
            kind: metric_kind,
            time,
            dimensions,
            raw_name,
        })
    }
}

/// The "previous point" of a batch's first point. The first point may repeat
/// nothing (checked before this is used), so no field of it is ever read.
static EMPTY_POINT: Point = Point {
    platform: SmolStr::new_static(""),
    entity: Entity {
        kind: EntityKind::Account,
        id: SmolStr::new_static(""),
        name: None,
    },
    metric: SmolStr::new_static(""),
    value: 0.0,
    unit: Unit::Count,
    kind: MetricKind::Gauge,
    time: PointTime::At(DateTime::<Utc>::UNIX_EPOCH),
    dimensions: BTreeMap::new(),
    raw_name: SmolStr::new_static(""),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn sample() -> Vec<Point> {
        let at = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let start = Utc
            .with_ymd_and_hms(1969, 12, 31, 0, 0, 0)
            .unwrap()
            .checked_add_signed(chrono::Duration::nanoseconds(123_456_789))
            .unwrap();
        vec![
            Point::new(
                "bluesky",
                "engagement.shares",
                "quoteCount",
                Entity::new(
                    EntityKind::Post,
                    "at://did:plc:x/3k2",
                    Some("Frisch".into()),
                ),
                1.0,
                PointTime::At(at),
            )
            .with_dimension("type", "quote"),
            Point::new(
                "ads",
                "cost.spend",
                "spend",
                Entity::new(EntityKind::Campaign, "c1", None),
                12.5,
                PointTime::Period { start, end: at },
            )
            .with_unit(Unit::Currency("EUR".into())),
        ]
    }

    #[test]
    fn points_round_trip_exactly_including_pre_1970_nanoseconds() {
        let points = sample();
        let mut bytes = Vec::new();
        encode_batch(&points, &mut bytes);
        assert_eq!(decode_batch(&bytes).unwrap(), points);
        let mut empty = Vec::new();
        encode_batch(&[], &mut empty);
        assert_eq!(empty, [0, 0, 0, 0]);
        assert!(decode_batch(&empty).unwrap().is_empty());
    }

    #[test]
    fn every_truncation_is_an_error_naming_the_point_and_offset() {
        let mut bytes = Vec::new();
        encode_batch(&sample(), &mut bytes);
        for len in 0..bytes.len() {
            let e = decode_batch(&bytes[..len]).unwrap_err();
            assert!(e.offset <= len, "{e}");
        }
        let first_len = {
            let mut one = Vec::new();
            encode_batch(&sample()[..1], &mut one);
            one.len()
        };
        let e = decode_batch(&bytes[..first_len + 10]).unwrap_err();
        assert_eq!(e.point, Some(1));
        assert!(e.to_string().starts_with("point 1 at byte"), "{e}");
    }

    #[test]
    fn repeated_fields_are_sent_once_and_come_back_equal() {
        let at = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let post = Entity::new(
            EntityKind::Post,
            "at://did:plc:x/3k2",
            Some("Fresh bread".into()),
        );
        let points: Vec<Point> = [
            ("engagement.likes", "likeCount"),
            ("engagement.comments", "replyCount"),
        ]
        .into_iter()
        .map(|(metric, raw)| {
            Point::new("bluesky", metric, raw, post.clone(), 2.0, PointTime::At(at))
        })
        .collect();
        let mut bytes = Vec::new();
        encode_batch(&points, &mut bytes);
        assert_eq!(decode_batch(&bytes).unwrap(), points);
        // The second point: all flags but metric (bit 4) and raw name (bit 9).
        let mut first = Vec::new();
        encode_batch(&points[..1], &mut first);
        let second = &bytes[first.len()..];
        assert_eq!(
            u16::from_le_bytes([second[0], second[1]]),
            repeat::ALL & !(repeat::METRIC | repeat::RAW_NAME)
        );
        assert_eq!(second.len(), 2 + (4 + 19) + 8 + (4 + 10));
    }

    #[test]
    fn bad_fields_and_trailing_bytes_are_named() {
        let mut bytes = Vec::new();
        encode_batch(&sample()[..1], &mut bytes);
        let mut trailing = bytes.clone();
        trailing.push(0);
        let e = decode_batch(&trailing).unwrap_err().to_string();
        assert!(e.contains("1 bytes follow the last of the 1 points"), "{e}");

        // The entity kind follows count (4), flags (2) and platform (4 + 7), after its length (4).
        let mut wrong_kind = bytes.clone();
        wrong_kind[4 + 2 + 4 + 7 + 4] = b'X';
        let e = decode_batch(&wrong_kind).unwrap_err().to_string();
        assert!(e.contains("entity kind `Xost`"), "{e}");

        let mut not_utf8 = bytes.clone();
        not_utf8[10] = 0xff;
        let e = decode_batch(&not_utf8).unwrap_err().to_string();
        assert!(
            e.contains("point 0 at byte 10: the platform is not UTF-8"),
            "{e}"
        );

        let mut repeats_first = bytes.clone();
        repeats_first[4] = 1;
        let e = decode_batch(&repeats_first).unwrap_err().to_string();
        assert!(e.contains("the first point repeats fields"), "{e}");
        let mut unknown_flag = bytes;
        unknown_flag[5] = 0x80;
        let e = decode_batch(&unknown_flag).unwrap_err().to_string();
        assert!(e.contains("repeat flags 0x8000 set bits above 9"), "{e}");

        let e = decode_batch(&[0xff, 0xff, 0xff, 0x7f])
            .unwrap_err()
            .to_string();
        assert!(e.contains("says it holds 2147483647 points"), "{e}");
        let e = decode_batch(b"[{\"platform\":\"x\"}]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("points but is only 18 bytes long"), "{e}");
    }
}
