//! A manifest file → a checked, compiled [`Manifest`]: every name resolved and
//! every template parsed once, so a pull only evaluates.

use crate::error::{ManifestError, Source};
use crate::errors::{self, ErrorRule};
use crate::guard::{self, Guard};
use crate::points::{EntitySpec, PointSpec};
use crate::records::Selector;
use crate::request::{Paginate, RequestSpec};
use crate::spec::{RawManifest, RawStream, Tpl};
use crate::template::{parse_path, toml_to_json, Names, Root, Template, Ty};
use crate::window::WindowSpec;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use tally_model::{Description, SettingSpec};

/// A compiled manifest: its description and its streams.
#[derive(Debug)]
pub struct Manifest {
    /// What `describe` returns.
    pub description: Description,
    /// Declared settings, in file order.
    pub settings: Vec<Setting>,
    /// The stream `check` reads and its message.
    pub check: (usize, Option<Template>),
    /// The listings, in run order.
    pub streams: Vec<Stream>,
    /// Rules for every stream.
    pub errors: Vec<ErrorRule>,
    /// Settings read as time zones, checked before a pull.
    pub zone_settings: BTreeSet<String>,
}

/// One declared setting.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// Whether it must be given.
    pub required: bool,
    /// The value when left out.
    pub default: Option<Value>,
}

/// Where a stream's items come from.
#[derive(Debug, Clone)]
pub enum ItemSource {
    /// Records of an earlier stream (its index).
    Stream(usize),
    /// Elements of a list setting.
    Setting(String),
}

/// `fan_out`, compiled.
#[derive(Debug, Clone)]
pub struct FanOut {
    /// The items.
    pub source: ItemSource,
    /// What each item is, when not the whole record.
    pub value: Option<Template>,
    /// Items per batch.
    pub batch: Option<usize>,
    /// Guards over `item`.
    pub guards: Vec<Guard>,
}

/// `incremental`, compiled.
#[derive(Debug, Clone)]
pub enum Incremental {
    /// The end of the last window.
    WindowEnd,
    /// The greatest value of a record field.
    Field(Template),
}

/// `switch`, compiled.
#[derive(Debug, Clone)]
pub struct Switch {
    /// The key.
    pub on: Template,
    /// Whether the key reads the record (chosen per record, else per item).
    pub per_record: bool,
    /// Entries by key.
    pub cases: BTreeMap<String, Value>,
    /// Entry when no key matches.
    pub default: Value,
}

/// One compiled stream.
#[derive(Debug)]
pub struct Stream {
    /// Its name.
    pub name: String,
    /// The request.
    pub request: RequestSpec,
    /// How it continues.
    pub paginate: Paginate,
    /// Where the records are.
    pub selector: Selector,
    /// Guards over records.
    pub guards: Vec<Guard>,
    /// Key that makes a record distinct.
    pub distinct: Option<Template>,
    /// Records wanted at most.
    pub limit: Option<Template>,
    /// Fan-out.
    pub fan_out: Option<FanOut>,
    /// Windows.
    pub window: Option<WindowSpec>,
    /// Cursor.
    pub incremental: Option<Incremental>,
    /// Lookup table.
    pub switch: Option<Switch>,
    /// Default entity of its points.
    pub entity: Option<EntitySpec>,
    /// Points per record.
    pub points: Vec<PointSpec>,
    /// Its own error rules.
    pub errors: Vec<ErrorRule>,
    /// Whether a later stream fans out over its records.
    pub keep_records: bool,
}

/// Compiles manifest text; `file` names it in errors.
pub fn compile(file: &str, text: &str) -> Result<Manifest, ManifestError> {
    let src = Source { file, text };
    let raw: RawManifest = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end().to_string();
        src.error(e.span().map_or(0, |s| s.start), message)
    })?;
    let settings = compile_settings(&raw, &src)?;
    let mut names = Names::default();
    names.roots.extend([Root::Settings, Root::Now]);
    names.settings = settings.iter().map(|s| (s.name.clone(), s.ty)).collect();

    let mut metrics = Vec::new();
    let mut streams: Vec<Stream> = Vec::new();
    for raw_stream in raw.streams.get_ref() {
        let stream = compile_stream(raw_stream, &names, &src, &mut streams, &mut metrics)?;
        streams.push(stream);
    }
    if streams.is_empty() {
        return Err(src.at(
            raw.streams.span(),
            "a manifest needs at least one `[[streams]]`",
        ));
    }
    let errors = raw
        .errors
        .iter()
        .map(|r| ErrorRule::compile(r, &errors::names(&names), &src))
        .collect::<Result<Vec<_>, _>>()?;
    let check = match &raw.check {
        None => (0, None),
        Some(c) => {
            let Some(index) = streams.iter().position(|s| &s.name == c.stream.get_ref()) else {
                return Err(src.at(
                    c.stream.span(),
                    format!(
                        "`check.stream = \"{}\"` names no stream",
                        c.stream.get_ref()
                    ),
                ));
            };
            if matches!(
                streams[index].fan_out,
                Some(FanOut {
                    source: ItemSource::Stream(_),
                    ..
                })
            ) {
                return Err(src.at(
                    c.stream.span(),
                    "the check stream cannot fan out over another stream: pick the first listing",
                ));
            }
            let s = &streams[index];
            let mut check_names = stream_names(
                &names,
                s.fan_out.is_some(),
                s.window.is_some(),
                s.incremental.is_some(),
                s.switch.as_ref(),
            );
            check_names.roots.insert(Root::Record);
            let message = c
                .message
                .as_ref()
                .map(|m| {
                    Template::compile(m.get_ref(), &check_names)
                        .map_err(|e| src.template(m.span(), e))
                })
                .transpose()?;
            (index, message)
        }
    };
    let mut description =
        Description::new(raw.name.get_ref(), &raw.summary, raw.base_url.get_ref()).rate_limit(
            raw.rate_limit.requests,
            raw.rate_limit.per_seconds,
            raw.rate_limit.burst,
        );
    if let Some(platform) = &raw.platform {
        description = description.platform(platform);
    }
    description.metrics = metrics;
    description.auth = raw.auth.get_ref().clone();
    description.usage_headers = raw.usage_headers.clone();
    description.quota = raw.quota.clone();
    description.settings = settings_specs(&raw, &settings);
    description
        .validate()
        .map_err(|message| src.at(raw.name.span(), message))?;
    if !(raw.base_url.get_ref().starts_with("https://")
        || raw.base_url.get_ref().starts_with("http://"))
    {
        return Err(src.at(raw.base_url.span(), "`base_url` must be an http(s) URL"));
    }
    if raw.auth.get_ref().is_empty() {
        return Err(src.at(raw.auth.span(), "declare at least one `[[auth]]` kind"));
    }
    let zone_settings = streams
        .iter()
        .flat_map(|s| {
            let window = s.window.iter().flat_map(|w| {
                std::iter::once(w.zone.setting()).chain(w.format_zone.as_ref().map(|z| z.setting()))
            });
            let points = s.points.iter().map(PointSpec::zone_setting);
            window
                .chain(points)
                .flatten()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Manifest {
        description,
        settings,
        check,
        streams,
        errors,
        zone_settings,
    })
}

fn compile_settings(raw: &RawManifest, src: &Source<'_>) -> Result<Vec<Setting>, ManifestError> {
    let mut settings: Vec<(usize, Setting)> = Vec::new();
    for (name, spanned) in &raw.settings {
        let s = spanned.get_ref();
        let ty = match s.ty.get_ref().as_str() {
            "string" => Ty::Str,
            "integer" => Ty::Int,
            "number" => Ty::Num,
            "boolean" => Ty::Bool,
            "list" => Ty::List,
            other => {
                return Err(src.at(
                    s.ty.span(),
                    format!("setting type `{other}`: string, integer, number, boolean or list"),
                ))
            }
        };
        let default = s.default.as_ref().map(toml_to_json);
        if let Some(d) = &default {
            if !fits(ty, d) {
                return Err(src.at(
                    spanned.span(),
                    format!("the default of `{name}` is not {}", ty_word(ty)),
                ));
            }
            if s.required {
                return Err(src.at(
                    spanned.span(),
                    format!("`{name}` is required and has a default: pick one"),
                ));
            }
        }
        settings.push((
            spanned.span().start,
            Setting {
                name: name.clone(),
                ty,
                required: s.required,
                default,
            },
        ));
    }
    settings.sort_by_key(|(at, _)| *at);
    Ok(settings.into_iter().map(|(_, s)| s).collect())
}

fn settings_specs(raw: &RawManifest, settings: &[Setting]) -> Vec<SettingSpec> {
    settings
        .iter()
        .map(|s| {
            let description = raw
                .settings
                .get(&s.name)
                .map(|r| r.get_ref().description.clone())
                .unwrap_or_default();
            let spec = if s.required {
                SettingSpec::required(&s.name, &description)
            } else {
                SettingSpec::optional(&s.name, &description)
            };
            match &s.default {
                Some(d) => spec.with_default(d),
                None => spec,
            }
        })
        .collect()
}

/// Whether a JSON value fits a setting type.
pub fn fits(ty: Ty, value: &Value) -> bool {
    match ty {
        Ty::Str => value.is_string(),
        Ty::Int => value.is_i64() || value.is_u64(),
        Ty::Num => value.is_number(),
        Ty::Bool => value.is_boolean(),
        Ty::List => value
            .as_array()
            .is_some_and(|a| a.iter().all(|v| v.is_string() || v.is_number())),
        Ty::Any => true,
    }
}

/// The type's name in messages.
pub fn ty_word(ty: Ty) -> &'static str {
    match ty {
        Ty::Str => "a string",
        Ty::Int => "an integer",
        Ty::Num => "a number",
        Ty::Bool => "a boolean",
        Ty::List => "a list of strings",
        Ty::Any => "a value",
    }
}

/// The names in scope in a stream's request (item, window, state, case as declared).
fn stream_names(
    base: &Names,
    item: bool,
    window: bool,
    state: bool,
    switch: Option<&Switch>,
) -> Names {
    let mut names = base.clone();
    for (has, root) in [
        (item, Root::Item),
        (window, Root::Window),
        (state, Root::State),
    ] {
        if has {
            names.roots.insert(root);
        }
    }
    if let Some(switch) = switch {
        names.roots.insert(Root::Case);
        names.case_keys = case_keys(switch);
    }
    names
}

fn case_keys(switch: &Switch) -> BTreeSet<String> {
    let mut all = switch
        .cases
        .values()
        .chain(std::iter::once(&switch.default))
        .filter_map(Value::as_object);
    let Some(first) = all.next() else {
        return BTreeSet::new();
    };
    let mut keys: BTreeSet<String> = first.keys().cloned().collect();
    for other in all {
        keys.retain(|k| other.contains_key(k));
    }
    keys
}

/// A stream whose points fold records must read each group whole on every
/// pull, or a re-pull would overwrite a group's total with part of it.
fn check_folding(raw: &RawStream, stream: &Stream, src: &Source<'_>) -> Result<(), ManifestError> {
    let folded = raw
        .points
        .iter()
        .zip(&stream.points)
        .filter(|(_, p)| p.folding.is_some());
    for (written, point) in folded {
        let at = written
            .aggregate
            .as_ref()
            .map_or(raw.name.span(), |a| a.span());
        if matches!(stream.incremental, Some(Incremental::Field(_))) {
            return Err(src.at(
                at,
                "`aggregate` with `incremental.field` would total only the records after the cursor: read whole days with `[streams.window]` (`align = \"day\"`) and `incremental = { cursor = \"window_end\" }`",
            ));
        }
        let Some(window) = &stream.window else {
            continue;
        };
        if point.time_is_now() {
            return Err(src.at(
                at,
                "in a stream with windows, a total at `now` would be written once per window, each overwriting the last: use `time = \"window\"` or a day of the record's time",
            ));
        }
        if !point.time_from_record() {
            continue;
        }
        let same_days = window.align_days && point.time_by_day() == Some(&window.zone);
        if !same_days {
            return Err(src.at(
                at,
                "a total per day of the record's time needs whole-day windows: set `align = \"day\"` in `[streams.window]` and in `time`, with the same `zone`",
            ));
        }
    }
    Ok(())
}

fn compile_stream(
    raw: &RawStream,
    base: &Names,
    src: &Source<'_>,
    earlier: &mut [Stream],
    metrics: &mut Vec<String>,
) -> Result<Stream, ManifestError> {
    let name = raw.name.get_ref().clone();
    if earlier.iter().any(|s| s.name == name) {
        return Err(src.at(
            raw.name.span(),
            format!("a stream named `{name}` already exists"),
        ));
    }
    let tpl = |t: &Tpl, names: &Names| {
        Template::compile(t.get_ref(), names).map_err(|e| src.template(t.span(), e))
    };
    let path =
        |p: &toml::Spanned<String>| parse_path(p.get_ref()).map_err(|e| src.template(p.span(), e));

    // Fan-out first: it decides whether `item` exists.
    let mut item_names = base.clone();
    let fan_out = match &raw.fan_out {
        None => None,
        Some(f) => {
            let source = match (&f.stream, &f.setting) {
                (Some(s), None) => {
                    let Some(index) = earlier.iter().position(|e| &e.name == s.get_ref()) else {
                        return Err(src.at(
                            s.span(),
                            format!(
                                "`fan_out.stream = \"{}\"` names no earlier stream",
                                s.get_ref()
                            ),
                        ));
                    };
                    earlier[index].keep_records = true;
                    ItemSource::Stream(index)
                }
                (None, Some(s)) => {
                    match base.settings.get(s.get_ref()) {
                        Some(Ty::List) => {}
                        Some(other) => {
                            return Err(src.at(
                                s.span(),
                                format!(
                                    "wrong type: `fan_out.setting = \"{}\"` is {}, not a list",
                                    s.get_ref(),
                                    ty_word(*other)
                                ),
                            ))
                        }
                        None => {
                            return Err(src.at(
                                s.span(),
                                format!(
                                    "undefined name `settings.{}`: declare it as a list setting",
                                    s.get_ref()
                                ),
                            ))
                        }
                    }
                    ItemSource::Setting(s.get_ref().clone())
                }
                _ => {
                    return Err(src.at(
                        raw.name.span(),
                        "`fan_out` takes exactly one of `stream` or `setting`",
                    ))
                }
            };
            let value_names = base.with(&[Root::Record]);
            let value = f.value.as_ref().map(|v| tpl(v, &value_names)).transpose()?;
            item_names.roots.insert(Root::Item);
            Some(FanOut {
                source,
                value,
                batch: f.batch.filter(|b| *b > 0),
                guards: guard::compile(&f.guards, &item_names, src)?,
            })
        }
    };
    let window = raw
        .window
        .as_ref()
        .map(|w| WindowSpec::compile(w, base, src))
        .transpose()?;
    let incremental = match &raw.incremental {
        None => None,
        Some(inc) => Some(match (&inc.cursor, &inc.field) {
            (Some(c), None) if c.get_ref() == "window_end" => {
                if window.is_none() {
                    return Err(src.at(
                        c.span(),
                        "`cursor = \"window_end\"` needs a `[streams.window]`",
                    ));
                }
                crate::compile::Incremental::WindowEnd
            }
            (Some(c), None) => {
                return Err(src.at(
                    c.span(),
                    format!(
                        "`cursor = \"{}\"`: the only cursor kind is `window_end`; or use `field`",
                        c.get_ref()
                    ),
                ))
            }
            (None, Some(f)) => Incremental::Field(tpl(f, &base.with(&[Root::Record, Root::Item]))?),
            _ => {
                return Err(src.at(
                    raw.name.span(),
                    "`incremental` takes exactly one of `cursor` or `field`",
                ))
            }
        }),
    };
    let switch = match &raw.switch {
        None => None,
        Some(sw) => {
            let cases: BTreeMap<String, Value> = sw
                .cases
                .get_ref()
                .iter()
                .map(|(k, t)| (k.clone(), toml_to_json(&toml::Value::Table(t.clone()))))
                .collect();
            let default = sw
                .default
                .as_ref()
                .map_or(Value::Object(Default::default()), |t| {
                    toml_to_json(&toml::Value::Table(t.clone()))
                });
            let mut on_names = stream_names(
                base,
                fan_out.is_some(),
                window.is_some(),
                incremental.is_some(),
                None,
            );
            on_names.roots.insert(Root::Record);
            let on = tpl(&sw.on, &on_names)?;
            let per_record = on.uses(Root::Record);
            if sw.cases.get_ref().is_empty() {
                return Err(src.at(sw.cases.span(), "a switch needs at least one case"));
            }
            Some(Switch {
                on,
                per_record,
                cases,
                default,
            })
        }
    };
    let request_names = stream_names(
        base,
        fan_out.is_some(),
        window.is_some(),
        incremental.is_some(),
        switch.as_ref(),
    );
    let mut stream = Stream {
        name,
        request: RequestSpec::compile(&raw.request, &request_names, src)?,
        paginate: Paginate::compile(raw.paginate.as_ref(), src)?,
        selector: Selector::default(),
        guards: Vec::new(),
        distinct: None,
        limit: None,
        fan_out,
        window,
        incremental,
        switch,
        entity: None,
        points: Vec::new(),
        errors: Vec::new(),
        keep_records: false,
    };
    let mut record_names = request_names.with(&[Root::Record]);
    if let Some(records) = &raw.records {
        if records.explode.is_some() {
            record_names.roots.insert(Root::Parent);
        }
        stream.selector = Selector {
            path: records
                .path
                .as_ref()
                .map(path)
                .transpose()?
                .unwrap_or_default(),
            explode: records.explode.as_ref().map(path).transpose()?,
            columnar: records
                .columnar
                .as_ref()
                .map(|c| Ok::<_, ManifestError>((path(&c.columns)?, path(&c.rows)?)))
                .transpose()?,
        };
        stream.guards = guard::compile(&records.guards, &record_names, src)?;
        stream.distinct = records
            .distinct
            .as_ref()
            .map(|d| tpl(d, &record_names))
            .transpose()?;
        stream.limit = records.limit.as_ref().map(|l| tpl(l, base)).transpose()?;
        if let Some(limit) = &stream.limit {
            if !matches!(limit.ty(base), Ty::Int | Ty::Any) {
                let span = records.limit.as_ref().map_or(0..0, |l| l.span());
                return Err(src.at(
                    span,
                    "wrong type: `records.limit` is a count (an integer or an integer setting)",
                ));
            }
        }
    }
    stream.entity = raw
        .entity
        .as_ref()
        .map(|e| EntitySpec::compile(e, &record_names, src))
        .transpose()?;
    stream.points = raw
        .points
        .iter()
        .map(|p| {
            PointSpec::compile(
                p,
                &record_names,
                src,
                stream.entity.as_ref(),
                stream.window.is_some(),
                metrics,
            )
        })
        .collect::<Result<_, _>>()?;
    check_folding(raw, &stream, src)?;
    stream.errors = raw
        .errors
        .iter()
        .map(|r| ErrorRule::compile(r, &errors::names(&request_names), src))
        .collect::<Result<_, _>>()?;
    Ok(stream)
}
