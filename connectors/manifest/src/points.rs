//! Points (primitive 7): a record's values as canonical points, pure.
//!
//! Values keep the type the platform sent: a number is used as is, a string
//! holding a number is parsed, null (or a declared null marker) is no point,
//! because absent is not zero; anything else is an error naming the path.

use crate::aggregate::{self, Aggregate, Folding, Parts};
use crate::error::{ManifestError, Source};
use crate::guard::{self, Guard};
use crate::spec::{RawEntity, RawPoint};
use crate::template::{parse_number, Names, Scope, Template};
use crate::window::{parse_duration, TimeFormat, Zone, ZoneSpec};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use tally_model::schema::{self, MetricKind, Unit};
use tally_model::{Entity, EntityKind, Point, PointTime, SmolStr};

/// Which entity a record's points are about.
#[derive(Debug, Clone)]
pub struct EntitySpec {
    kind: EntityKind,
    id: Template,
    name: Option<Template>,
}

impl EntitySpec {
    /// Compiles an entity table.
    pub fn compile(
        raw: &RawEntity,
        names: &Names,
        src: &Source<'_>,
    ) -> Result<EntitySpec, ManifestError> {
        let kind = EntityKind::parse(raw.kind.get_ref()).ok_or_else(|| {
            src.at(
                raw.kind.span(),
                format!(
                    "unknown entity kind `{}`: one of account, post, video, location, property, event, campaign",
                    raw.kind.get_ref()
                ),
            )
        })?;
        let tpl = |t: &crate::spec::Tpl| {
            Template::compile(t.get_ref(), names).map_err(|e| src.template(t.span(), e))
        };
        Ok(EntitySpec {
            kind,
            id: tpl(&raw.id)?,
            name: raw.name.as_ref().map(tpl).transpose()?,
        })
    }

    /// The entity of `scope`'s record; `None` when its id is missing.
    pub fn make(&self, scope: &Scope<'_>) -> Option<Entity> {
        let id = self.id.text(scope).filter(|id| !id.is_empty())?;
        let name = self
            .name
            .as_ref()
            .and_then(|n| n.text(scope))
            .filter(|n| !n.is_empty());
        Some(Entity::new(self.kind, id, name))
    }

    /// Whether the id or the name reads the record.
    pub fn reads_record(&self) -> bool {
        aggregate::reads_record(&self.id) || self.name.as_ref().is_some_and(aggregate::reads_record)
    }
}

#[derive(Debug, Clone)]
enum Metric {
    Fixed {
        metric: SmolStr,
        raw: SmolStr,
        value: Template,
    },
    Fields {
        from: Template,
        map: Vec<(String, SmolStr)>,
    },
    Named {
        from: Template,
        map: BTreeMap<String, SmolStr>,
        value: Template,
    },
}

#[derive(Debug, Clone)]
enum Time {
    Now,
    Window,
    At {
        value: Template,
        format: TimeFormat,
        zone: ZoneSpec,
        period: Option<Duration>,
        /// Moved to the start of its day in `zone`.
        align_day: bool,
    },
}

impl Time {
    /// Whether the time comes from the record.
    fn reads_record(&self) -> bool {
        matches!(self, Time::At { value, .. } if aggregate::reads_record(value))
    }
}

/// One `[[streams.points]]`, compiled.
#[derive(Debug, Clone)]
pub struct PointSpec {
    metric: Metric,
    nulls: Vec<String>,
    unit: Option<Unit>,
    time: Time,
    entity: Option<EntitySpec>,
    dimensions: Vec<(String, Template)>,
    guards: Vec<Guard>,
    /// Set when the records fold into one point per group.
    pub folding: Option<Folding>,
}

/// What a record gave that is not a point.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A value of the wrong type: the lookup and what it held.
    WrongType(String),
    /// A point without an entity id or a readable time (skipped, with a warning).
    Skipped(String),
}

/// Where a point's time comes from, for one record.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    /// The pull's time.
    pub now: DateTime<Utc>,
    /// The current window.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl PointSpec {
    /// Compiles one points table; `stream_entity` is the stream's default
    /// entity and `has_window` says that the stream has windows.
    pub fn compile(
        raw: &RawPoint,
        names: &Names,
        src: &Source<'_>,
        stream_entity: Option<&EntitySpec>,
        has_window: bool,
        metrics: &mut Vec<String>,
    ) -> Result<PointSpec, ManifestError> {
        let tpl = |t: &crate::spec::Tpl| {
            Template::compile(t.get_ref(), names).map_err(|e| src.template(t.span(), e))
        };
        let canonical = |m: &toml::Spanned<String>,
                         metrics: &mut Vec<String>|
         -> Result<SmolStr, ManifestError> {
            let name = m.get_ref();
            if schema::lookup(name).is_none() {
                let hint = schema::nearest_metric(name)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(src.at(m.span(), format!("unknown metric `{name}`: not in the canonical schema (tally_model::schema){hint}")));
            }
            if !metrics.iter().any(|x| x == name) {
                metrics.push(name.clone());
            }
            Ok(SmolStr::new(name))
        };
        let aggregate = aggregate::kind(raw, src)?;
        let value = match &raw.value {
            Some(v) => Some(tpl(v)?),
            None if aggregate == Some(Aggregate::Count) => Some(Template::Literal(Value::from(1))),
            None => None,
        };
        let span = raw
            .metric
            .as_ref()
            .map(|m| m.span())
            .or_else(|| raw.map.as_ref().map(|m| m.span()))
            .or_else(|| raw.value.as_ref().map(|v| v.span()))
            .unwrap_or(0..0);
        let metric = match (&raw.metric, &raw.fields, &raw.metric_from, &raw.map) {
            (Some(m), None, None, None) => {
                let Some(value) = value else {
                    return Err(src.at(span, "a point needs a `value` (a template, or a literal such as 1 to count records)"));
                };
                let raw_name = raw
                    .raw_name
                    .clone()
                    .or_else(|| value.single_lookup().map(|l| l.last_name().to_string()))
                    .unwrap_or_else(|| m.get_ref().clone());
                Metric::Fixed { metric: canonical(m, metrics)?, raw: SmolStr::new(raw_name), value }
            }
            (None, Some(from), None, Some(map)) if value.is_none() => Metric::Fields {
                from: tpl(from)?,
                map: map
                    .get_ref()
                    .iter()
                    .map(|(k, m)| Ok((k.clone(), canonical(m, metrics)?)))
                    .collect::<Result<_, ManifestError>>()?,
            },
            (None, None, Some(from), Some(map)) => {
                let Some(value) = value else {
                    return Err(src.at(span, "`metric_from` needs a `value`"));
                };
                Metric::Named {
                    from: tpl(from)?,
                    map: map
                        .get_ref()
                        .iter()
                        .map(|(k, m)| Ok((k.clone(), canonical(m, metrics)?)))
                        .collect::<Result<_, ManifestError>>()?,
                    value,
                }
            }
            _ => {
                return Err(src.at(
                    span,
                    "a point has either `metric` and `value`, or `fields` and `map`, or `metric_from`, `map` and `value`",
                ))
            }
        };
        let time = compile_time(raw.time.as_ref(), names, src, has_window)?;
        let is_sum = !matches!(time, Time::Now | Time::At { period: None, .. });
        if let Some(kind) = &raw.kind {
            let want_sum = match kind.get_ref().as_str() {
                "gauge" => false,
                "sum" => true,
                other => {
                    return Err(src.at(kind.span(), format!("unknown kind `{other}`: gauge or sum")))
                }
            };
            if want_sum != is_sum {
                return Err(src.at(
                    kind.span(),
                    if want_sum {
                        "a sum covers a period: set `time = \"window\"` or a time table with `period`"
                    } else {
                        "a gauge is observed at an instant: its `time` is `now` or a time table without `period`"
                    },
                ));
            }
        }
        let kind = if is_sum {
            MetricKind::Sum
        } else {
            MetricKind::Gauge
        };
        for metric in metric_names(&metric) {
            if let Some(spec) = schema::lookup(metric) {
                if !spec.kinds.contains(&kind) {
                    return Err(src.at(
                        span.clone(),
                        format!(
                            "`{metric}` cannot be a {}: the schema allows {:?}",
                            kind.as_str(),
                            spec.kinds
                        ),
                    ));
                }
            }
        }
        let unit = match &raw.unit {
            Some(u) => Some(Unit::parse(u.get_ref()).map_err(|e| src.at(u.span(), e.to_string()))?),
            None => None,
        };
        let entity = raw
            .entity
            .as_ref()
            .map(|e| EntitySpec::compile(e, names, src))
            .transpose()?;
        let Some(used_entity) = entity.as_ref().or(stream_entity) else {
            return Err(src.at(
                span,
                "a point needs an `entity` (or the stream a `[streams.entity]`)",
            ));
        };
        let dimensions: Vec<(String, Template)> = raw
            .dimensions
            .iter()
            .map(|(k, t)| Ok((k.clone(), tpl(t)?)))
            .collect::<Result<_, ManifestError>>()?;
        let parts = Parts {
            entity: used_entity.reads_record(),
            time: raw
                .time
                .as_ref()
                .filter(|_| time.reads_record())
                .map(|t| t.span()),
            dimensions: raw
                .dimensions
                .iter()
                .zip(&dimensions)
                .map(|((k, written), (_, compiled))| (k.as_str(), written, compiled))
                .collect(),
            span: span.clone(),
        };
        let value_template = match &metric {
            Metric::Fixed { value, .. } => Some(value),
            _ => None,
        };
        let folding = aggregate::compile(raw, aggregate, value_template, names, &parts, src)?;
        Ok(PointSpec {
            metric,
            nulls: raw.nulls.clone(),
            unit,
            time,
            entity,
            dimensions,
            guards: guard::compile(&raw.guards, names, src)?,
            folding,
        })
    }

    /// Whether the time comes from the record (a day of `date_created`)
    /// rather than the pull or the window.
    pub fn time_from_record(&self) -> bool {
        self.time.reads_record()
    }

    /// Whether the point holds at the pull's time.
    pub fn time_is_now(&self) -> bool {
        matches!(self.time, Time::Now)
    }

    /// The zone whose days the time is moved to the start of, if it is.
    pub fn time_by_day(&self) -> Option<&ZoneSpec> {
        match &self.time {
            Time::At {
                align_day: true,
                zone,
                ..
            } => Some(zone),
            _ => None,
        }
    }

    /// The setting the time's zone is read from, if any.
    pub fn zone_setting(&self) -> Option<&str> {
        match &self.time {
            Time::At { zone, .. } => zone.setting(),
            _ => None,
        }
    }

    /// The count of 0 a partition without records gives, for a counted
    /// point whose group does not depend on the record; `None` otherwise.
    pub fn zero(
        &self,
        scope: &Scope<'_>,
        entity: Option<&Entity>,
        platform: &str,
        times: Times,
    ) -> Option<Point> {
        if !self.folding.is_some_and(|f| f.fixed) {
            return None;
        }
        let Metric::Fixed { metric, raw, .. } = &self.metric else {
            return None;
        };
        let own = self.entity.as_ref().and_then(|e| e.make(scope));
        let entity = own.as_ref().or(entity)?;
        let time = self.time(scope, times).ok()?;
        let point = Point::new(platform, metric, raw, entity.clone(), 0.0, time);
        Some(self.shape(point, scope))
    }

    /// A point with this table's unit and dimensions.
    fn shape(&self, mut point: Point, scope: &Scope<'_>) -> Point {
        if let Some(unit) = &self.unit {
            point = point.with_unit(unit.clone());
        }
        for (key, tpl) in &self.dimensions {
            if let Some(text) = tpl.text(scope) {
                point.dimensions.insert(key.clone(), text);
            }
        }
        point
    }

    /// The points of the record in `scope`, appended to `out`; `entity` is the
    /// stream's entity for this record, when it declares one.
    pub fn make(
        &self,
        scope: &Scope<'_>,
        entity: Option<&Entity>,
        platform: &str,
        times: Times,
        out: &mut Vec<Point>,
    ) -> Result<(), Problem> {
        if !guard::all(&self.guards, scope) {
            return Ok(());
        }
        let own;
        let entity = match &self.entity {
            Some(spec) => {
                own = spec.make(scope);
                own.as_ref()
            }
            None => entity,
        };
        let Some(entity) = entity else {
            return Err(Problem::Skipped("a record has no entity id".into()));
        };
        let time = self.time(scope, times)?;
        let mut push = |metric: &str,
                        raw: &str,
                        value: &Value,
                        what: &dyn Fn() -> String|
         -> Result<(), Problem> {
            let Some(v) = measure(value, &self.nulls, what)? else {
                return Ok(());
            };
            let point = Point::new(platform, metric, raw, entity.clone(), v, time);
            out.push(self.shape(point, scope));
            Ok(())
        };
        match &self.metric {
            Metric::Fixed { metric, raw, value } => {
                push(metric, raw, &value.eval(scope), &|| describe(value))?;
            }
            Metric::Fields { from, map } => {
                let object = from.eval(scope);
                for (key, metric) in map {
                    if let Some(v) = object.get(key) {
                        push(metric, key, v, &|| format!("{}.{key}", describe(from)))?;
                    }
                }
            }
            Metric::Named { from, map, value } => {
                if let Some(name) = from.text(scope) {
                    if let Some(metric) = map.get(&name) {
                        push(metric, &name, &value.eval(scope), &|| describe(value))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn time(&self, scope: &Scope<'_>, times: Times) -> Result<PointTime, Problem> {
        Ok(match &self.time {
            Time::Now => PointTime::At(times.now),
            Time::Window => match times.window {
                Some((start, end)) => PointTime::Period { start, end },
                None => PointTime::At(times.now),
            },
            Time::At {
                value,
                format,
                zone,
                period,
                align_day,
            } => {
                let raw = value.eval(scope);
                let zone = zone.resolve(scope.settings);
                let Some(at) = format.read(&raw, zone) else {
                    return Err(Problem::Skipped(format!(
                        "{} is {raw}, not a time in the `{format:?}` format",
                        describe(value)
                    )));
                };
                if *align_day {
                    // A local day: 23 or 25 hours when the clocks change.
                    let start = zone.day_start(at);
                    let end = zone
                        .days_after(start, 1)
                        .unwrap_or(start + Duration::days(1));
                    return Ok(PointTime::Period { start, end });
                }
                match period {
                    Some(p) => PointTime::Period {
                        start: at,
                        end: at + *p,
                    },
                    None => PointTime::At(at),
                }
            }
        })
    }
}

fn metric_names(metric: &Metric) -> Vec<&str> {
    match metric {
        Metric::Fixed { metric, .. } => vec![metric.as_str()],
        Metric::Fields { map, .. } => map.iter().map(|(_, m)| m.as_str()).collect(),
        Metric::Named { map, .. } => map.values().map(SmolStr::as_str).collect(),
    }
}

fn describe(t: &Template) -> String {
    t.single_lookup()
        .map_or_else(|| "the value".to_string(), |l| format!("`{}`", l.text()))
}

/// A platform value as a measurement: `None` for null, a null marker or a
/// negative count; a wrong type is a [`Problem::WrongType`] naming the lookup.
pub fn measure(
    value: &Value,
    nulls: &[String],
    what: &dyn Fn() -> String,
) -> Result<Option<f64>, Problem> {
    let v = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if nulls.iter().any(|n| n == s.trim()) => return Ok(None),
        Value::String(s) => match parse_number(s) {
            Some(v) => Some(v),
            None => {
                return Err(Problem::WrongType(format!(
                    "{} is \"{s}\", not a number",
                    what()
                )))
            }
        },
        Value::Bool(_) => {
            return Err(Problem::WrongType(format!(
                "{} is a boolean, not a number",
                what()
            )))
        }
        Value::Array(_) => {
            return Err(Problem::WrongType(format!(
                "{} is a list, not a number",
                what()
            )))
        }
        Value::Object(_) => {
            return Err(Problem::WrongType(format!(
                "{} is an object, not a number",
                what()
            )))
        }
    };
    Ok(v.filter(|v| v.is_finite() && *v >= 0.0))
}

fn compile_time(
    raw: Option<&toml::Spanned<toml::Value>>,
    names: &Names,
    src: &Source<'_>,
    has_window: bool,
) -> Result<Time, ManifestError> {
    let Some(raw) = raw else { return Ok(Time::Now) };
    let span = raw.span();
    match raw.get_ref() {
        toml::Value::String(s) if s == "now" => Ok(Time::Now),
        toml::Value::String(s) if s == "window" => {
            if has_window {
                Ok(Time::Window)
            } else {
                Err(src.at(span, "`time = \"window\"` needs a `[streams.window]`"))
            }
        }
        toml::Value::Table(table) => {
            let mut value = None;
            let mut format = TimeFormat::Rfc3339;
            let mut zone = ZoneSpec::Fixed(Zone::utc());
            let mut period = None;
            let mut align_day = false;
            for (key, v) in table {
                let text = v.as_str().unwrap_or_default();
                match key.as_str() {
                    "value" => {
                        let within = src
                            .text
                            .get(span.clone())
                            .and_then(|t| t.find(text))
                            .map_or(span.start, |at| span.start + at - 1);
                        value = Some(
                            Template::compile(v, names)
                                .map_err(|e| src.template(within..within, e))?,
                        )
                    }
                    "format" => {
                        format = TimeFormat::parse(text).ok_or_else(|| {
                            src.at(
                                span.clone(),
                                format!(
                                    "unknown time format `{text}`: one of {}",
                                    TimeFormat::NAMES
                                ),
                            )
                        })?
                    }
                    "zone" => {
                        zone = ZoneSpec::parse(text, names)
                            .ok_or_else(|| src.at(span.clone(), ZoneSpec::refusal(text)))?
                    }
                    "align" if text == "day" => align_day = true,
                    "align" => {
                        return Err(src.at(
                            span,
                            format!("`align = \"{text}\"` in `time`: the only alignment is `day`"),
                        ))
                    }
                    "period" => {
                        period = Some(parse_duration(text).ok_or_else(|| {
                            src.at(
                                span.clone(),
                                format!("period `{text}` is not a duration such as `1d`"),
                            )
                        })?)
                    }
                    other => {
                        return Err(src.at(
                            span,
                            format!(
                            "unknown key `{other}` in `time`: value, format, zone, period, align"
                        ),
                        ))
                    }
                }
            }
            let Some(value) = value else {
                return Err(src.at(span, "a time table needs a `value` template"));
            };
            if align_day && period != Some(Duration::days(1)) {
                return Err(src.at(
                    span,
                    "`align = \"day\"` puts the time at the start of its day: set `period = \"1d\"`",
                ));
            }
            Ok(Time::At {
                value,
                format,
                zone,
                period,
                align_day,
            })
        }
        _ => Err(src.at(
            span,
            "`time` is \"now\", \"window\" or a table { value, format, zone, period, align }",
        )),
    }
}
