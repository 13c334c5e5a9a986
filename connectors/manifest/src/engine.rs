//! The pull: streams in order, each over its fan-out items, windows and pages,
//! through the host's HTTP client.

use crate::aggregate::Fold;
use crate::compile::{fits, ty_word, FanOut, Incremental, ItemSource, Manifest, Stream};
use crate::errors::{judge, Verdict};
use crate::guard;
use crate::points::{Problem, Times};
use crate::template::Scope;
use crate::window::check_zone_setting;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;
use tally_model::error::url_path;
use tally_model::http::decode_json;
use tally_model::{
    Connector, ConnectorError, Description, Emitter, Paginator, Point, SourceContext,
};

/// A manifest as a [`Connector`]: what the host catalogs, built in or loaded.
#[derive(Debug, Clone)]
pub struct ManifestConnector {
    manifest: Arc<Manifest>,
}

impl ManifestConnector {
    /// Wraps a compiled manifest.
    pub fn new(manifest: Manifest) -> ManifestConnector {
        ManifestConnector {
            manifest: Arc::new(manifest),
        }
    }
}

/// Whether a pull reads everything or `check` reads one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pull,
    Check,
}

/// What one stream run gives back.
#[derive(Debug, Default)]
struct Run {
    kept: Vec<Value>,
    first: Option<Value>,
    records: usize,
}

#[async_trait]
impl Connector for ManifestConnector {
    fn describe(&self) -> Description {
        self.manifest.description.clone()
    }

    async fn check(&self, ctx: &SourceContext<'_>) -> Result<String, ConnectorError> {
        let m = &self.manifest;
        let settings = self.settings(ctx.settings)?;
        let now = Value::String(ctx.now.to_rfc3339());
        let mut sink = tally_model::PointBuffer::new(&m.description.name);
        let mut state = Map::new();
        let (index, message) = &m.check;
        let stream = &m.streams[*index];
        let run = self
            .run_stream(
                ctx,
                stream,
                &settings,
                &now,
                &[],
                &mut state,
                &mut sink,
                Mode::Check,
            )
            .await?;
        let scope = Scope {
            record: run.first.as_ref(),
            ..Scope::new(&settings, &now)
        };
        Ok(match message.as_ref().and_then(|m| m.text(&scope)) {
            Some(text) => text,
            None => format!("{} answered with {} records", stream.name, run.records),
        })
    }

    async fn pull(
        &self,
        ctx: &SourceContext<'_>,
        out: &mut dyn Emitter,
    ) -> Result<(), ConnectorError> {
        let m = &self.manifest;
        let settings = self.settings(ctx.settings)?;
        let now = Value::String(ctx.now.to_rfc3339());
        let mut state = ctx
            .state
            .and_then(|s| s.get("cursors"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut kept: Vec<Vec<Value>> = Vec::with_capacity(m.streams.len());
        for stream in &m.streams {
            let run = self
                .run_stream(
                    ctx,
                    stream,
                    &settings,
                    &now,
                    &kept,
                    &mut state,
                    out,
                    Mode::Pull,
                )
                .await?;
            kept.push(run.kept);
        }
        if m.streams.iter().any(|s| s.incremental.is_some()) {
            out.save_state(cursors(&state));
        }
        Ok(())
    }
}

fn cursors(state: &Map<String, Value>) -> Value {
    serde_json::json!({ "cursors": state })
}

impl ManifestConnector {
    /// `[sources.settings]` checked against the declarations, defaults applied.
    fn settings(&self, given: &Value) -> Result<Value, ConnectorError> {
        let declared = &self.manifest.settings;
        let empty = Map::new();
        let given = match given {
            Value::Object(map) => map,
            Value::Null => &empty,
            _ => {
                return Err(ConnectorError::Settings(
                    "`[sources.settings]` must be a table".into(),
                ))
            }
        };
        for key in given.keys() {
            if !declared.iter().any(|s| &s.name == key) {
                let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
                return Err(ConnectorError::Settings(format!(
                    "unknown setting `{key}` for connector `{}`; it takes: {}",
                    self.manifest.description.name,
                    names.join(", ")
                )));
            }
        }
        let mut out = Map::new();
        for s in declared {
            match given.get(&s.name) {
                Some(v) if fits(s.ty, v) => {
                    out.insert(s.name.clone(), v.clone());
                }
                Some(_) => {
                    return Err(ConnectorError::Settings(format!(
                        "`{}` must be {}",
                        s.name,
                        ty_word(s.ty)
                    )));
                }
                None if s.required => {
                    return Err(ConnectorError::Settings(format!(
                        "missing required setting `{}`",
                        s.name
                    )));
                }
                None => {
                    out.insert(s.name.clone(), s.default.clone().unwrap_or(Value::Null));
                }
            }
        }
        for name in &self.manifest.zone_settings {
            let value = out.get(name).unwrap_or(&Value::Null);
            check_zone_setting(name, value).map_err(ConnectorError::Settings)?;
        }
        Ok(Value::Object(out))
    }

    /// The items a stream runs over: one without a fan-out.
    fn items(
        fan_out: Option<&FanOut>,
        settings: &Value,
        now: &Value,
        kept: &[Vec<Value>],
    ) -> Vec<Option<Value>> {
        let Some(f) = fan_out else { return vec![None] };
        let empty = Vec::new();
        let source: &Vec<Value> = match &f.source {
            ItemSource::Stream(i) => kept.get(*i).unwrap_or(&empty),
            ItemSource::Setting(name) => settings
                .get(name)
                .and_then(Value::as_array)
                .unwrap_or(&empty),
        };
        let base = Scope::new(settings, now);
        let values = source.iter().filter_map(|record| {
            let item = match &f.value {
                Some(v) => v
                    .eval(&Scope {
                        record: Some(record),
                        ..base
                    })
                    .into_owned(),
                None => record.clone(),
            };
            let keep = guard::all(
                &f.guards,
                &Scope {
                    item: Some(&item),
                    ..base
                },
            );
            (keep && !item.is_null()).then_some(item)
        });
        match f.batch {
            None => values.map(Some).collect(),
            Some(size) => {
                let all: Vec<Value> = values.collect();
                all.chunks(size)
                    .map(|c| Some(Value::Array(c.to_vec())))
                    .collect()
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_stream(
        &self,
        ctx: &SourceContext<'_>,
        stream: &Stream,
        settings: &Value,
        now: &Value,
        kept: &[Vec<Value>],
        state: &mut Map<String, Value>,
        out: &mut dyn Emitter,
        mode: Mode,
    ) -> Result<Run, ConnectorError> {
        let m = &self.manifest;
        let platform = m.description.platform.as_str();
        let base = Scope::new(settings, now);
        let mut run = Run::default();
        let limit = match &stream.limit {
            Some(l) => match l.eval(&base).as_ref() {
                Value::Number(n) => n.as_u64(),
                _ => None,
            },
            None => None,
        };
        if limit == Some(0) && mode == Mode::Pull {
            return Ok(run);
        }
        let mut items = Self::items(stream.fan_out.as_ref(), settings, now, kept);
        if mode == Mode::Check {
            items.truncate(1);
        }
        let saved = state.get(&stream.name).cloned();
        let state_value = Value::Object(Map::from_iter([(
            "cursor".to_string(),
            saved.clone().unwrap_or(Value::Null),
        )]));
        let zone = stream.window.as_ref().map(|w| w.zone.resolve(settings));
        let windows: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>> =
            match stream.window.as_ref().zip(zone) {
                None => vec![None],
                Some((w, zone)) => {
                    let cursor = saved
                        .as_ref()
                        .and_then(Value::as_str)
                        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                        .map(|t| t.with_timezone(&Utc));
                    let all = w.windows(ctx.now, cursor, ctx.since, ctx.lookback_days, zone);
                    all.into_iter().map(Some).collect()
                }
            };
        let mut seen: HashSet<String> = HashSet::new();
        let mut max_field: Option<Value> = None;
        let mut points: Vec<Point> = Vec::with_capacity(8);
        let folds = stream.points.iter().any(|p| p.folding.is_some());
        let format = stream.window.as_ref().zip(zone).map(|(w, zone)| {
            let written = w.format_zone.as_ref().map_or(zone, |z| z.resolve(settings));
            (w.format, written)
        });
        // Windows outside, items inside: a window is finished, its groups
        // complete and its cursor safe to save, once every item has read it.
        'windows: for window in &windows {
            let window_value = window.zip(format).map(|((start, end), (format, zone))| {
                serde_json::json!({ "start": format.write(start, zone), "end": format.write(end, zone) })
            });
            let times = Times {
                now: ctx.now,
                window: *window,
            };
            let mut groups = Fold::default();
            let mut stop = false;
            for item in &items {
                let item_scope = Scope {
                    item: item.as_ref(),
                    state: Some(&state_value),
                    window: window_value.as_ref(),
                    ..base
                };
                let item_case = stream
                    .switch
                    .as_ref()
                    .filter(|s| !s.per_record)
                    .map(|s| choose(s, &item_scope));
                let scope = Scope {
                    case: item_case,
                    ..item_scope
                };
                // This partition's groups: kept apart until it is read to the
                // end, so a skipped partition leaves no partial total.
                let mut partition = Fold::default();
                if folds {
                    let entity = stream.entity.as_ref().and_then(|e| e.make(&scope));
                    for spec in &stream.points {
                        if let Some(zero) = spec.zero(&scope, entity.as_ref(), platform, times) {
                            partition.add(zero);
                        }
                    }
                }
                let mut cursor: Option<String> = None;
                let mut pages: Option<Paginator> = None;
                'pages: loop {
                    let request = stream.request.build(
                        ctx.base_url,
                        &scope,
                        &stream.paginate,
                        cursor.as_deref(),
                    );
                    let url = request.url.clone();
                    let path = url_path(&url);
                    let pages =
                        pages.get_or_insert_with(|| Paginator::new(path.clone(), ctx.max_pages));
                    let response = ctx.http.send(request).await?;
                    let body: Value = if response.is_success() {
                        decode_json(&path, &response.body)?
                    } else {
                        serde_json::from_slice(&response.body).unwrap_or(Value::Null)
                    };
                    let mut drop_records = false;
                    match judge(
                        stream.errors.iter().chain(m.errors.iter()),
                        &scope,
                        &path,
                        &response,
                        &body,
                    ) {
                        Some(Verdict::Fail(e)) => return Err(e),
                        Some(Verdict::SkipPartition(message)) => {
                            out.warn(&format!(
                                "stream `{}`: skipped a partition: {message}",
                                stream.name
                            ));
                            partition = Fold::default();
                            break 'pages;
                        }
                        Some(Verdict::SkipRecords(message)) => {
                            out.warn(&format!(
                                "stream `{}`: skipped the records of one answer: {message}",
                                stream.name
                            ));
                            drop_records = true;
                        }
                        None if !response.is_success() => {
                            return Err(ConnectorError::status(
                                &path,
                                response.status,
                                &response.body,
                            ));
                        }
                        None => {}
                    }
                    let selected = if drop_records {
                        Default::default()
                    } else {
                        stream.selector.select(&body).map_err(|message| {
                            ConnectorError::decode(&path, message, &response.body)
                        })?
                    };
                    if let Some(at) = &selected.nothing_at {
                        out.warn(&format!(
                            "stream `{}`: the records path {at} matched nothing in the answer of {path}; no points from it",
                            stream.name
                        ));
                    }
                    let page_records = selected.records.len();
                    for (record, parent) in &selected.records {
                        let mut rscope = Scope {
                            record: Some(record.as_ref()),
                            parent: *parent,
                            ..scope
                        };
                        let record_case;
                        if let Some(s) = stream.switch.as_ref().filter(|s| s.per_record) {
                            record_case = choose(s, &rscope);
                            rscope.case = Some(record_case);
                        }
                        if !guard::all(&stream.guards, &rscope) {
                            continue;
                        }
                        if let Some(d) = &stream.distinct {
                            if !seen.insert(d.text(&rscope).unwrap_or_default()) {
                                continue;
                            }
                        }
                        if let Some(Incremental::Field(f)) = &stream.incremental {
                            let v = f.eval(&rscope);
                            if !v.is_null() && max_field.as_ref().is_none_or(|m| greater(&v, m)) {
                                max_field = Some(v.into_owned());
                            }
                        }
                        let entity = stream.entity.as_ref().and_then(|e| e.make(&rscope));
                        for spec in &stream.points {
                            match spec.make(&rscope, entity.as_ref(), platform, times, &mut points)
                            {
                                Ok(()) => {}
                                Err(Problem::WrongType(message)) => {
                                    return Err(ConnectorError::decode(
                                        &path,
                                        message,
                                        &response.body,
                                    ));
                                }
                                Err(Problem::Skipped(message)) => {
                                    out.warn(&format!(
                                        "stream `{}`: a point was skipped: {message}",
                                        stream.name
                                    ));
                                }
                            }
                            if spec.folding.is_some() {
                                for point in points.drain(..) {
                                    partition.add(point);
                                }
                            }
                        }
                        for point in points.drain(..) {
                            out.emit(point)?;
                        }
                        run.records += 1;
                        if run.first.is_none() {
                            run.first = Some(record.as_ref().clone());
                        }
                        if stream.keep_records {
                            run.kept.push(record.as_ref().clone());
                        }
                        if limit.is_some_and(|l| run.records as u64 >= l) {
                            stop = true;
                            break 'pages;
                        }
                    }
                    if mode == Mode::Check {
                        stop = true;
                        break 'pages;
                    }
                    let next = stream.paginate.next(
                        &response,
                        &body,
                        page_records,
                        cursor.as_deref(),
                        ctx.base_url,
                        &url,
                    )?;
                    match pages.advance(next)? {
                        Some(next) => cursor = Some(next),
                        None => break 'pages,
                    }
                }
                groups.merge(partition);
                if stop {
                    break;
                }
            }
            for point in groups.take() {
                out.emit(point)?;
            }
            if stop {
                break 'windows;
            }
            if let (Some(Incremental::WindowEnd), Some((_, end)), Some(w), Some(zone)) =
                (&stream.incremental, window, &stream.window, zone)
            {
                let cursor = w.cursor_after(*end, zone);
                state.insert(stream.name.clone(), Value::String(cursor.to_rfc3339()));
                out.checkpoint(cursors(state))?;
            }
        }
        if let Some(v) = max_field {
            state.insert(stream.name.clone(), v);
        }
        Ok(run)
    }
}

/// The switch entry for the scope's key.
fn choose<'s>(switch: &'s crate::compile::Switch, scope: &Scope<'_>) -> &'s Value {
    switch
        .on
        .text(scope)
        .and_then(|key| switch.cases.get(&key))
        .unwrap_or(&switch.default)
}

/// Cursor order: numbers (and digit strings) by value, other text as text.
fn greater(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => {
            s.parse::<f64>().ok()
        }
        _ => None,
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x > y,
        _ => a.as_str().unwrap_or_default() > b.as_str().unwrap_or_default(),
    }
}
