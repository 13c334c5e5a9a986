//! Templates: lookups plus a fixed set of filters, compiled when the manifest
//! loads.
//!
//! Why not a general template language: the complaints about low-code
//! connectors are values turned into strings and re-guessed, logic hidden in
//! templates and undeclared names that silently render empty. So a template
//! here is only `{{ root.path | filter(args) }}` placeholders in text; every
//! root and setting name is checked when the manifest loads, filters are typed
//! against what is known then (settings, literals), and a template that is one
//! placeholder evaluates to the JSON value itself, keeping its type.

use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// A compile error inside one template, at a byte offset of the template text.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// Byte offset in the template text where the problem starts.
    pub offset: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError {
        offset,
        message: message.into(),
    })
}

/// Where a lookup starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Root {
    /// The source's declared settings.
    Settings,
    /// The pull's reference time (RFC 3339).
    Now,
    /// The current fan-out item.
    Item,
    /// The current record.
    Record,
    /// The object an exploded record came from.
    Parent,
    /// The current date window (`start`, `end`).
    Window,
    /// The stream's saved cursor (`cursor`).
    State,
    /// The switch entry chosen for this item or record.
    Case,
    /// A response's status (errors only).
    Status,
    /// A response's JSON body (errors only).
    Body,
    /// A response's headers, lower-cased names (errors only).
    Headers,
}

impl Root {
    fn parse(name: &str) -> Option<Root> {
        Some(match name {
            "settings" => Root::Settings,
            "now" => Root::Now,
            "item" => Root::Item,
            "record" => Root::Record,
            "parent" => Root::Parent,
            "window" => Root::Window,
            "state" => Root::State,
            "case" => Root::Case,
            "status" => Root::Status,
            "body" => Root::Body,
            "headers" => Root::Headers,
            _ => return None,
        })
    }

    /// The name written in templates.
    pub fn name(self) -> &'static str {
        match self {
            Root::Settings => "settings",
            Root::Now => "now",
            Root::Item => "item",
            Root::Record => "record",
            Root::Parent => "parent",
            Root::Window => "window",
            Root::State => "state",
            Root::Case => "case",
            Root::Status => "status",
            Root::Body => "body",
            Root::Headers => "headers",
        }
    }
}

/// What is known about a value when the manifest loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Platform data: known only at run time.
    Any,
    /// A string.
    Str,
    /// An integer.
    Int,
    /// Any number.
    Num,
    /// `true` or `false`.
    Bool,
    /// A list.
    List,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Any => "any value",
            Ty::Str => "a string",
            Ty::Int => "an integer",
            Ty::Num => "a number",
            Ty::Bool => "a boolean",
            Ty::List => "a list",
        }
    }

    fn of(value: &Value) -> Ty {
        match value {
            Value::String(_) => Ty::Str,
            Value::Number(n) if n.is_f64() => Ty::Num,
            Value::Number(_) => Ty::Int,
            Value::Bool(_) => Ty::Bool,
            Value::Array(_) => Ty::List,
            Value::Null | Value::Object(_) => Ty::Any,
        }
    }
}

/// What a template may name at the place it is written: the roots in scope,
/// the declared settings and the keys every switch case has.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Roots in scope.
    pub roots: BTreeSet<Root>,
    /// Declared settings and their types.
    pub settings: BTreeMap<String, Ty>,
    /// Keys of `case` (present in every case).
    pub case_keys: BTreeSet<String>,
}

impl Names {
    /// These names with `more` roots in scope too.
    pub fn with(&self, more: &[Root]) -> Names {
        let mut names = self.clone();
        names.roots.extend(more.iter().copied());
        names
    }
}

/// One step of a lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    /// An object field.
    Field(String),
    /// An array index (also tried as a field name on objects).
    Index(usize, String),
}

/// Follows `path` from `value`; a step that does not exist gives `None`.
pub fn walk<'v>(value: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    let mut at = value;
    for seg in path {
        at = match (seg, at) {
            (Seg::Field(name), Value::Object(map)) => map.get(name)?,
            (Seg::Index(i, _), Value::Array(items)) => items.get(*i)?,
            (Seg::Index(_, name), Value::Object(map)) => map.get(name)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Parses a dotted body path (`meta.next_token`, `items.0.id`); `""` is the body itself.
pub fn parse_path(text: &str) -> Result<Vec<Seg>, TemplateError> {
    let text = text.trim();
    if text.is_empty() || text == "." {
        return Ok(Vec::new());
    }
    let mut segs = Vec::new();
    let mut offset = 0;
    for part in text.split('.') {
        segs.push(segment(part, offset)?);
        offset += part.len() + 1;
    }
    Ok(segs)
}

fn segment(part: &str, offset: usize) -> Result<Seg, TemplateError> {
    if part.is_empty() {
        return err(
            offset,
            "empty field name in a path (two dots, or a trailing dot)",
        );
    }
    if let Ok(index) = part.parse::<usize>() {
        return Ok(Seg::Index(index, part.to_string()));
    }
    if !part
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | '@' | ':'))
    {
        return err(
            offset,
            format!("`{part}` is not a field name (letters, digits, `_`, `-`, `$`)"),
        );
    }
    Ok(Seg::Field(part.to_string()))
}

/// Renders a path back as written, for messages.
pub fn path_text(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Field(name) | Seg::Index(_, name) => name.as_str(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A lookup: a root and a path.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// Where it starts.
    pub root: Root,
    /// The steps after the root.
    pub path: Vec<Seg>,
}

impl Lookup {
    /// The last field name, the platform's own name for a value (`likeCount`).
    pub fn last_name(&self) -> &str {
        match self.path.last() {
            Some(Seg::Field(name) | Seg::Index(_, name)) => name,
            None => self.root.name(),
        }
    }

    /// `record.post.likeCount`, for messages.
    pub fn text(&self) -> String {
        if self.path.is_empty() {
            self.root.name().to_string()
        } else {
            format!("{}.{}", self.root.name(), path_text(&self.path))
        }
    }
}

/// A filter argument: a literal or a lookup.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    Lookup(Lookup),
}

/// The fixed set of filters.
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Default(Arg),
    Trim,
    TrimStart(String),
    Lower,
    Upper,
    FirstLine,
    Truncate(usize),
    Number,
    String,
    Join(String),
    Split(String),
    Length,
}

/// One `{{ … }}`: a lookup and its filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The value looked up.
    pub lookup: Lookup,
    filters: Vec<Filter>,
}

/// A piece of a text template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Kept as written.
    Text(String),
    /// Rendered as text.
    Expr(Expr),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// No placeholder: a constant (a TOML number or boolean keeps its type).
    Literal(Value),
    /// Exactly one placeholder: evaluates to the value itself, keeping its JSON type.
    Single(Expr),
    /// Text with placeholders: always a string.
    Text(Vec<Part>),
}

static NULL: Value = Value::Null;

/// The values a template can see while it is evaluated. Copy: a narrower scope
/// is a struct update of a wider one.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Settings, with defaults applied.
    pub settings: &'a Value,
    /// The pull's time, RFC 3339.
    pub now: &'a Value,
    /// The fan-out item.
    pub item: Option<&'a Value>,
    /// The record.
    pub record: Option<&'a Value>,
    /// The exploded record's container.
    pub parent: Option<&'a Value>,
    /// `{start, end}` of the window.
    pub window: Option<&'a Value>,
    /// `{cursor}` of the stream.
    pub state: Option<&'a Value>,
    /// The chosen switch case.
    pub case: Option<&'a Value>,
    /// Response status, body and headers (errors).
    pub response: Option<[&'a Value; 3]>,
}

impl<'a> Scope<'a> {
    /// A scope with only settings and the time.
    pub fn new(settings: &'a Value, now: &'a Value) -> Scope<'a> {
        Scope {
            settings,
            now,
            item: None,
            record: None,
            parent: None,
            window: None,
            state: None,
            case: None,
            response: None,
        }
    }

    fn root(&self, root: Root) -> Option<&'a Value> {
        match root {
            Root::Settings => Some(self.settings),
            Root::Now => Some(self.now),
            Root::Item => self.item,
            Root::Record => self.record,
            Root::Parent => self.parent,
            Root::Window => self.window,
            Root::State => self.state,
            Root::Case => self.case,
            Root::Status => self.response.map(|r| r[0]),
            Root::Body => self.response.map(|r| r[1]),
            Root::Headers => self.response.map(|r| r[2]),
        }
    }

    /// The value of a lookup; null when data does not have it.
    pub fn get(&self, lookup: &Lookup) -> &'a Value {
        self.root(lookup.root)
            .and_then(|v| walk(v, &lookup.path))
            .unwrap_or(&NULL)
    }
}

impl Template {
    /// Compiles a TOML value: a string is parsed for placeholders, any other
    /// value is a literal.
    pub fn compile(value: &toml::Value, names: &Names) -> Result<Template, TemplateError> {
        match value {
            toml::Value::String(text) => Template::parse(text, names),
            other => Ok(Template::Literal(toml_to_json(other))),
        }
    }

    /// Compiles template text.
    pub fn parse(text: &str, names: &Names) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return err(offset + open, "`{{` without a closing `}}`");
            };
            let inner_offset = offset + open + 2;
            parts.push(Part::Expr(parse_expr(
                &after[..close],
                inner_offset,
                names,
            )?));
            let consumed = open + 2 + close + 2;
            rest = &rest[consumed..];
            offset += consumed;
        }
        if let Some(stray) = rest.find("}}") {
            return err(offset + stray, "`}}` without an opening `{{`");
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(match parts.len() {
            0 => Template::Literal(Value::String(String::new())),
            1 => match parts.pop() {
                Some(Part::Expr(expr)) => Template::Single(expr),
                Some(Part::Text(text)) => Template::Literal(Value::String(text)),
                None => Template::Literal(Value::Null),
            },
            _ => Template::Text(parts),
        })
    }

    /// Evaluates to a JSON value (borrowed from the scope when it can be).
    pub fn eval<'a>(&'a self, scope: &Scope<'a>) -> Cow<'a, Value> {
        match self {
            Template::Literal(value) => Cow::Borrowed(value),
            Template::Single(expr) => expr.eval(scope),
            Template::Text(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Text(text) => out.push_str(text),
                        Part::Expr(expr) => push_text(&mut out, &expr.eval(scope)),
                    }
                }
                Cow::Owned(Value::String(out))
            }
        }
    }

    /// Renders as text with each placeholder's text passed through `encode`
    /// (percent-encoding for URL paths), literal text kept as written.
    pub fn render_encoded(&self, scope: &Scope<'_>, encode: fn(&str) -> String) -> String {
        let mut out = String::new();
        let placeholder = |out: &mut String, expr: &Expr| {
            let mut text = String::new();
            push_text(&mut text, &expr.eval(scope));
            out.push_str(&encode(&text));
        };
        match self {
            Template::Literal(value) => push_text(&mut out, value),
            Template::Single(expr) => placeholder(&mut out, expr),
            Template::Text(parts) => {
                for part in parts {
                    match part {
                        Part::Text(text) => out.push_str(text),
                        Part::Expr(expr) => placeholder(&mut out, expr),
                    }
                }
            }
        }
        out
    }

    /// Evaluates to text: null is `None`, a list is comma-joined.
    pub fn text(&self, scope: &Scope<'_>) -> Option<String> {
        let value = self.eval(scope);
        match value.as_ref() {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                let mut out = String::new();
                push_text(&mut out, other);
                Some(out)
            }
        }
    }

    /// The lookup when the template is one bare placeholder.
    pub fn single_lookup(&self) -> Option<&Lookup> {
        match self {
            Template::Single(expr) => Some(&expr.lookup),
            _ => None,
        }
    }

    /// Whether any placeholder starts at `root`.
    pub fn uses(&self, root: Root) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Single(expr) => expr.uses(root),
            Template::Text(parts) => parts.iter().any(|p| match p {
                Part::Expr(expr) => expr.uses(root),
                Part::Text(_) => false,
            }),
        }
    }

    /// Whether the template can give a number at run time: false when it is
    /// known at load time to give text (a word, text around placeholders, a
    /// string setting, a text filter), a boolean or a list.
    pub fn may_be_number(&self, names: &Names) -> bool {
        match self {
            Template::Literal(value) => {
                value.is_number() || value.as_str().and_then(parse_number).is_some()
            }
            Template::Text(_) => false,
            Template::Single(expr) => match expr.ty(names) {
                Ty::Any | Ty::Int | Ty::Num => true,
                Ty::Bool | Ty::List => false,
                Ty::Str => {
                    expr.lookup.root != Root::Settings
                        && expr
                            .filters
                            .iter()
                            .all(|f| matches!(f, Filter::Trim | Filter::Default(_)))
                }
            },
        }
    }

    /// What the template is known to give at load time.
    pub fn ty(&self, names: &Names) -> Ty {
        match self {
            Template::Literal(value) => Ty::of(value),
            Template::Single(expr) => expr.ty(names),
            Template::Text(_) => Ty::Str,
        }
    }
}

/// Appends a value as text: strings as they are, lists comma-joined, null as nothing.
pub fn push_text(out: &mut String, value: &Value) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_text(out, item);
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

/// TOML → JSON, keeping types (datetimes become RFC 3339 strings).
pub fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

fn parse_expr(inner: &str, offset: usize, names: &Names) -> Result<Expr, TemplateError> {
    let pieces = split_outside_quotes(inner, '|');
    let mut pieces = pieces.into_iter();
    let Some((lookup_text, lookup_at)) = pieces.next() else {
        return err(offset, "empty `{{ }}`");
    };
    let lookup = parse_lookup(lookup_text, offset + lookup_at, names)?;
    let mut ty = lookup_ty(&lookup, names);
    let mut filters = Vec::new();
    for (text, at) in pieces {
        let (filter, out) = parse_filter(text, offset + at, ty, names)?;
        filters.push(filter);
        ty = out;
    }
    Ok(Expr { lookup, filters })
}

/// Splits on `sep` outside `"…"` and `'…'`, returning each piece with its offset.
fn split_outside_quotes(text: &str, sep: char) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == sep => {
                out.push((&text[start..i], start));
                start = i + c.len_utf8();
            }
            None => {}
        }
    }
    out.push((&text[start..], start));
    out
}

fn parse_lookup(text: &str, offset: usize, names: &Names) -> Result<Lookup, TemplateError> {
    let trimmed = text.trim();
    let offset = offset + (text.len() - text.trim_start().len());
    if trimmed.is_empty() {
        return err(offset, "empty `{{ }}`: write a lookup such as `record.id`");
    }
    let mut parts = trimmed.split('.');
    let root_name = parts.next().unwrap_or_default();
    let Some(root) = Root::parse(root_name) else {
        return err(
            offset,
            format!(
                "undefined name `{root_name}`: a lookup starts with one of settings, now, item, record, parent, window, state, case (and status, body, headers in errors)"
            ),
        );
    };
    if !names.roots.contains(&root) {
        return err(
            offset,
            format!("undefined name `{root_name}`: {}", not_in_scope(root)),
        );
    }
    let mut path = Vec::new();
    let mut at = offset + root_name.len() + 1;
    for part in parts {
        path.push(segment(part, at)?);
        at += part.len() + 1;
    }
    let lookup = Lookup { root, path };
    check_known(&lookup, offset, names)?;
    Ok(lookup)
}

fn not_in_scope(root: Root) -> &'static str {
    match root {
        Root::Item => "there is no fan-out item here (add `fan_out` to the stream)",
        Root::Record => {
            "there is no record here (records exist in `records`, `points`, `check.message`)"
        }
        Root::Parent => "there is no parent here (add `records.explode` to the stream)",
        Root::Window => "there is no window here (add `window` to the stream)",
        Root::State => "there is no saved cursor here (add `incremental` to the stream)",
        Root::Case => "there is no switch here (add `switch` to the stream)",
        Root::Status | Root::Body | Root::Headers => {
            "responses are only seen by `[[errors]]` rules"
        }
        Root::Settings | Root::Now => "not available here",
    }
}

/// Checks the names a lookup uses that the manifest itself declares.
fn check_known(lookup: &Lookup, offset: usize, names: &Names) -> Result<(), TemplateError> {
    let first = lookup.path.first().map(|s| match s {
        Seg::Field(n) | Seg::Index(_, n) => n.as_str(),
    });
    match lookup.root {
        Root::Settings => {
            let Some(name) = first else {
                return err(offset, "`settings` alone is not a value: name a setting (`settings.actor`)");
            };
            let Some(ty) = names.settings.get(name) else {
                let declared: Vec<&str> = names.settings.keys().map(String::as_str).collect();
                return err(
                    offset,
                    format!(
                        "undefined name `settings.{name}`: declare it under `[settings.{name}]` (declared: {})",
                        if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
                    ),
                );
            };
            let deeper = lookup.path.len() > 1;
            if deeper && *ty != Ty::List && *ty != Ty::Any {
                return err(
                    offset,
                    format!("wrong type: `settings.{name}` is {}, it has no field `{}`", ty.name(), path_text(&lookup.path[1..])),
                );
            }
            Ok(())
        }
        Root::Now | Root::Status if !lookup.path.is_empty() => err(
            offset,
            format!("wrong type: `{}` is a single value, it has no fields", lookup.root.name()),
        ),
        Root::Window => match first {
            Some("start" | "end") if lookup.path.len() == 1 => Ok(()),
            _ => err(offset, format!("undefined name `{}`: a window has `window.start` and `window.end`", lookup.text())),
        },
        Root::State => match first {
            Some("cursor") if lookup.path.len() == 1 => Ok(()),
            _ => err(offset, format!("undefined name `{}`: the saved state is `state.cursor`", lookup.text())),
        },
        Root::Case => match first {
            Some(key) if names.case_keys.contains(key) => Ok(()),
            _ => err(
                offset,
                format!(
                    "undefined name `{}`: every switch case (and the default) must have the key; keys they all have: {}",
                    lookup.text(),
                    names.case_keys.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ),
        },
        _ => Ok(()),
    }
}

fn lookup_ty(lookup: &Lookup, names: &Names) -> Ty {
    match lookup.root {
        Root::Settings => match (lookup.path.first(), lookup.path.len()) {
            (Some(Seg::Field(n) | Seg::Index(_, n)), 1) => {
                names.settings.get(n).copied().unwrap_or(Ty::Any)
            }
            (_, 2) if matches!(lookup.path.get(1), Some(Seg::Index(..))) => Ty::Str,
            _ => Ty::Any,
        },
        Root::Now => Ty::Str,
        Root::Status => Ty::Int,
        _ => Ty::Any,
    }
}

fn parse_filter(
    text: &str,
    offset: usize,
    input: Ty,
    names: &Names,
) -> Result<(Filter, Ty), TemplateError> {
    let trimmed = text.trim();
    let offset = offset + (text.len() - text.trim_start().len());
    let (name, args) = match trimmed.find('(') {
        Some(open) if trimmed.ends_with(')') => {
            let inner = &trimmed[open + 1..trimmed.len() - 1];
            let args = split_outside_quotes(inner, ',')
                .into_iter()
                .filter(|(a, _)| !a.trim().is_empty())
                .map(|(a, at)| parse_arg(a, offset + open + 1 + at, names))
                .collect::<Result<Vec<Arg>, TemplateError>>()?;
            (trimmed[..open].trim(), args)
        }
        Some(_) => {
            return err(
                offset,
                format!("`{trimmed}`: a filter's arguments end with `)`"),
            )
        }
        None => (trimmed, Vec::new()),
    };
    let needs = |accepted: &[Ty], out: Ty| -> Result<Ty, TemplateError> {
        if input == Ty::Any || accepted.contains(&input) {
            Ok(out)
        } else {
            err(
                offset,
                format!(
                    "wrong type: filter `{name}` takes {}, but the value here is {}",
                    accepted
                        .iter()
                        .map(|t| t.name())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    input.name()
                ),
            )
        }
    };
    let text_arg = |args: &[Arg]| -> Result<String, TemplateError> {
        match args {
            [Arg::Literal(Value::String(s))] => Ok(s.clone()),
            _ => err(
                offset,
                format!("filter `{name}` takes one quoted text argument: `{name}(\",\")`"),
            ),
        }
    };
    let no_args = |filter: Filter| -> Result<Filter, TemplateError> {
        if args.is_empty() {
            Ok(filter)
        } else {
            err(offset, format!("filter `{name}` takes no arguments"))
        }
    };
    let filter_ty = match name {
        "default" => match args.as_slice() {
            [arg] => (Filter::Default(arg.clone()), input),
            _ => return err(offset, "filter `default` takes one argument: `default(\"?\")` or `default(record.handle)`"),
        },
        "trim" => (no_args(Filter::Trim)?, needs(&[Ty::Str], Ty::Str)?),
        "trim_start" => (Filter::TrimStart(text_arg(&args)?), needs(&[Ty::Str], Ty::Str)?),
        "lower" => (no_args(Filter::Lower)?, needs(&[Ty::Str], Ty::Str)?),
        "upper" => (no_args(Filter::Upper)?, needs(&[Ty::Str], Ty::Str)?),
        "first_line" => (no_args(Filter::FirstLine)?, needs(&[Ty::Str], Ty::Str)?),
        "truncate" => match args.as_slice() {
            [Arg::Literal(Value::Number(n))] if n.as_u64().is_some_and(|n| n > 0) => (
                Filter::Truncate(n.as_u64().unwrap_or(1) as usize),
                needs(&[Ty::Str], Ty::Str)?,
            ),
            _ => return err(offset, "filter `truncate` takes a positive character count: `truncate(80)`"),
        },
        "number" => (no_args(Filter::Number)?, needs(&[Ty::Str, Ty::Int, Ty::Num], Ty::Num)?),
        "string" => (no_args(Filter::String)?, needs(&[Ty::Str, Ty::Int, Ty::Num, Ty::Bool], Ty::Str)?),
        "join" => (Filter::Join(text_arg(&args)?), needs(&[Ty::List], Ty::Str)?),
        "split" => (Filter::Split(text_arg(&args)?), needs(&[Ty::Str], Ty::List)?),
        "length" => (no_args(Filter::Length)?, needs(&[Ty::List, Ty::Str], Ty::Int)?),
        other => {
            return err(
                offset,
                format!("unknown filter `{other}`: the filters are default, trim, trim_start, lower, upper, first_line, truncate, number, string, join, split, length"),
            )
        }
    };
    Ok(filter_ty)
}

fn parse_arg(text: &str, offset: usize, names: &Names) -> Result<Arg, TemplateError> {
    let t = text.trim();
    let offset = offset + (text.len() - text.trim_start().len());
    let quoted =
        (t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\''));
    if quoted && t.len() >= 2 {
        return Ok(Arg::Literal(Value::String(t[1..t.len() - 1].to_string())));
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Arg::Literal(Value::from(n)));
    }
    if let Ok(f) = t.parse::<f64>() {
        return Ok(Arg::Literal(
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ));
    }
    match t {
        "true" => return Ok(Arg::Literal(Value::Bool(true))),
        "false" => return Ok(Arg::Literal(Value::Bool(false))),
        "null" => return Ok(Arg::Literal(Value::Null)),
        _ => {}
    }
    parse_lookup(t, offset, names).map(Arg::Lookup)
}

impl Expr {
    fn uses(&self, root: Root) -> bool {
        self.lookup.root == root
            || self
                .filters
                .iter()
                .any(|f| matches!(f, Filter::Default(Arg::Lookup(l)) if l.root == root))
    }

    fn ty(&self, names: &Names) -> Ty {
        let mut ty = lookup_ty(&self.lookup, names);
        for filter in &self.filters {
            ty = match filter {
                Filter::Default(_) => ty,
                Filter::Number => Ty::Num,
                Filter::Split(_) => Ty::List,
                Filter::Length => Ty::Int,
                _ => Ty::Str,
            };
        }
        ty
    }

    /// Evaluates the lookup and applies the filters.
    pub fn eval<'a>(&'a self, scope: &Scope<'a>) -> Cow<'a, Value> {
        let mut value = Cow::Borrowed(scope.get(&self.lookup));
        for filter in &self.filters {
            value = apply(filter, value, scope);
        }
        value
    }
}

fn apply<'a>(filter: &'a Filter, value: Cow<'a, Value>, scope: &Scope<'a>) -> Cow<'a, Value> {
    let string = |f: &dyn Fn(&str) -> String| -> Cow<'a, Value> {
        match value.as_ref() {
            Value::String(s) => Cow::Owned(Value::String(f(s))),
            _ => Cow::Borrowed(&NULL),
        }
    };
    match filter {
        Filter::Default(arg) => {
            let empty = matches!(value.as_ref(), Value::Null)
                || matches!(value.as_ref(), Value::String(s) if s.is_empty());
            if !empty {
                return value;
            }
            match arg {
                Arg::Literal(v) => Cow::Borrowed(v),
                Arg::Lookup(l) => Cow::Borrowed(scope.get(l)),
            }
        }
        Filter::Trim => string(&|s| s.trim().to_string()),
        Filter::TrimStart(prefix) => {
            string(&|s| s.strip_prefix(prefix.as_str()).unwrap_or(s).to_string())
        }
        Filter::Lower => string(&|s| s.to_lowercase()),
        Filter::Upper => string(&|s| s.to_uppercase()),
        Filter::FirstLine => match value.as_ref() {
            Value::String(s) => s
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map_or(Cow::Borrowed(&NULL), |l| {
                    Cow::Owned(Value::String(l.to_string()))
                }),
            _ => Cow::Borrowed(&NULL),
        },
        Filter::Truncate(max) => string(&|s| {
            if s.chars().count() > *max {
                let mut cut: String = s.chars().take(*max).collect();
                cut.push('…');
                cut
            } else {
                s.to_string()
            }
        }),
        Filter::Number => match value.as_ref() {
            Value::Number(_) => value,
            Value::String(s) => parse_number(s)
                .and_then(serde_json::Number::from_f64)
                .map_or(Cow::Borrowed(&NULL), |n| Cow::Owned(Value::Number(n))),
            _ => Cow::Borrowed(&NULL),
        },
        Filter::String => match value.as_ref() {
            Value::Null | Value::String(_) => value,
            Value::Array(_) | Value::Object(_) => Cow::Borrowed(&NULL),
            other => Cow::Owned(Value::String(other.to_string())),
        },
        Filter::Join(sep) => match value.as_ref() {
            Value::Array(items) => {
                let texts: Vec<String> = items
                    .iter()
                    .map(|i| {
                        let mut s = String::new();
                        push_text(&mut s, i);
                        s
                    })
                    .collect();
                Cow::Owned(Value::String(texts.join(sep)))
            }
            _ => Cow::Borrowed(&NULL),
        },
        Filter::Split(sep) => match value.as_ref() {
            Value::String(s) if s.is_empty() => Cow::Owned(Value::Array(Vec::new())),
            Value::String(s) => Cow::Owned(Value::Array(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.trim().to_string()))
                    .collect(),
            )),
            _ => Cow::Borrowed(&NULL),
        },
        Filter::Length => match value.as_ref() {
            Value::Array(items) => Cow::Owned(Value::from(items.len())),
            Value::String(s) => Cow::Owned(Value::from(s.chars().count())),
            _ => Cow::Borrowed(&NULL),
        },
    }
}

/// A number written as text: `12`, `-3.5`, `1,234` (thousands separators).
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let cleaned: Cow<'_, str> = if t.contains(',') {
        Cow::Owned(t.replace(',', ""))
    } else {
        Cow::Borrowed(t)
    };
    cleaned.parse::<f64>().ok().filter(|f| f.is_finite())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> Names {
        let mut n = Names::default();
        n.roots.extend([Root::Settings, Root::Now, Root::Record]);
        n.settings.insert("actor".into(), Ty::Str);
        n.settings.insert("max_posts".into(), Ty::Int);
        n.settings.insert("ids".into(), Ty::List);
        n
    }

    fn eval(text: &str, record: Value) -> Value {
        let settings = json!({"actor": "@alice.test", "max_posts": 100, "ids": ["a", "b"]});
        let now = json!("2026-06-01T12:00:00Z");
        let t = Template::parse(text, &names()).unwrap();
        let scope = Scope {
            record: Some(&record),
            ..Scope::new(&settings, &now)
        };
        t.eval(&scope).into_owned()
    }

    fn error(text: &str) -> TemplateError {
        Template::parse(text, &names()).unwrap_err()
    }

    #[test]
    fn a_single_placeholder_keeps_its_type_and_text_is_text() {
        assert_eq!(eval("{{ settings.max_posts }}", json!({})), json!(100));
        assert_eq!(
            eval("n={{ settings.max_posts }}", json!({})),
            json!("n=100")
        );
        assert_eq!(eval("{{ settings.ids }}", json!({})), json!(["a", "b"]));
        assert_eq!(
            eval("{{ settings.ids | join(\";\") }}", json!({})),
            json!("a;b")
        );
        assert_eq!(
            eval("{{ record.a.0.b }}", json!({"a": [{"b": true}]})),
            json!(true)
        );
        assert_eq!(eval("{{ record.missing }}", json!({})), Value::Null);
    }

    #[test]
    fn filters_do_what_they_say() {
        assert_eq!(
            eval("{{ settings.actor | trim_start('@') }}", json!({})),
            json!("alice.test")
        );
        assert_eq!(
            eval(
                "{{ record.name | trim | default(record.handle) }}",
                json!({"name": "  ", "handle": "h"})
            ),
            json!("h")
        );
        assert_eq!(
            eval("{{ record.n | number }}", json!({"n": "1,234"})),
            json!(1234.0)
        );
        assert_eq!(
            eval(
                "{{ record.t | first_line | truncate(3) }}",
                json!({"t": "\n  abcd \nx"})
            ),
            json!("abc…")
        );
        assert_eq!(
            eval("{{ record.t | split(',') | length }}", json!({"t": "a, b"})),
            json!(2)
        );
    }

    #[test]
    fn undefined_names_and_wrong_types_are_load_errors_with_their_offset() {
        let e = error("/users/{{ settings.user }}");
        assert_eq!(e.offset, 10, "at `settings`");
        assert!(
            e.message.starts_with("undefined name `settings.user`"),
            "{}",
            e.message
        );
        let e = error("{{ item.id }}");
        assert!(e.message.contains("no fan-out item"), "{}", e.message);
        let e = error("{{ bogus }}");
        assert!(
            e.message.starts_with("undefined name `bogus`"),
            "{}",
            e.message
        );
        let e = error("{{ settings.max_posts | lower }}");
        assert_eq!(
            e.message,
            "wrong type: filter `lower` takes a string, but the value here is an integer"
        );
        let e = error("{{ settings.actor.id }}");
        assert!(
            e.message
                .starts_with("wrong type: `settings.actor` is a string"),
            "{}",
            e.message
        );
        assert!(error("{{ record.x | shout }}")
            .message
            .starts_with("unknown filter `shout`"));
        assert!(error("{{ record.x ").message.contains("closing"));
    }
}
