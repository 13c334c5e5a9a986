//! Requests (primitive 1) and pagination (primitive 3).
//!
//! A request is described, never sent here: the engine hands the
//! `HttpRequest` to the host. Placeholders in the path are percent-encoded,
//! so a value can never change which host or path is asked; the page cursor
//! of the listing goes where the manifest says (query or JSON body).

use crate::error::{ManifestError, Source};
use crate::spec::{RawPaginate, RawRequest, Tpl};
use crate::template::{parse_path, walk, Names, Scope, Seg, Template};
use serde_json::Value;
use tally_model::paginate::{encode_query_value, next_link, within_origin};
use tally_model::{ConnectorError, HttpRequest, HttpResponse, Method};

/// A JSON body whose strings are templates.
#[derive(Debug, Clone)]
enum Body {
    Value(Template),
    Array(Vec<Body>),
    Object(Vec<(String, Body)>),
}

/// One stream's request, compiled.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    method: Method,
    path: Template,
    query: Vec<(String, Template)>,
    repeat_arrays: bool,
    headers: Vec<(String, Template)>,
    body: Option<Body>,
    cost: u32,
}

/// How a listing continues.
#[derive(Debug, Clone)]
pub enum Paginate {
    /// One request.
    None,
    /// A token from the body or a header into a query parameter or a body field.
    Cursor {
        /// Where the token is.
        from: From,
        /// Query parameter it goes into.
        param: Option<String>,
        /// Body field it goes into.
        body_field: Option<String>,
    },
    /// The next page's URL.
    NextUrl {
        /// Where it is.
        from: From,
    },
    /// Numbered: an offset or a page number.
    Numbered {
        /// Query parameter of the offset or page.
        param: String,
        /// Query parameter of the page size.
        size_param: Option<String>,
        /// Page size.
        size: u64,
        /// First value (0 for offsets, 1 for pages).
        start: u64,
        /// What one page adds (the size for offsets, 1 for pages).
        step: u64,
        /// Body path of the total record count.
        total: Option<Vec<Seg>>,
    },
}

/// Where a token or URL is found.
#[derive(Debug, Clone)]
pub enum From {
    /// At a body path.
    Body(Vec<Seg>),
    /// In a header.
    Header(String),
    /// The `rel="next"` of the `Link` header.
    Link,
}

fn compile_body(
    value: &toml::Value,
    names: &Names,
) -> Result<Body, crate::template::TemplateError> {
    Ok(match value {
        toml::Value::Array(items) => Body::Array(
            items
                .iter()
                .map(|i| compile_body(i, names))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => Body::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), compile_body(v, names)?)))
                .collect::<Result<_, crate::template::TemplateError>>()?,
        ),
        other => Body::Value(Template::compile(other, names)?),
    })
}

fn render_body(body: &Body, scope: &Scope<'_>) -> Value {
    match body {
        Body::Value(t) => t.eval(scope).into_owned(),
        Body::Array(items) => Value::Array(items.iter().map(|i| render_body(i, scope)).collect()),
        Body::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), render_body(v, scope)))
                .collect(),
        ),
    }
}

fn encode_segment(text: &str) -> String {
    encode_query_value(text)
}

impl RequestSpec {
    /// Compiles `[streams.request]`; an absolute URL in a literal path is refused here.
    pub fn compile(
        raw: &RawRequest,
        names: &Names,
        src: &Source<'_>,
    ) -> Result<RequestSpec, ManifestError> {
        let tpl =
            |t: &Tpl| Template::compile(t.get_ref(), names).map_err(|e| src.template(t.span(), e));
        let method = match raw.method.get_ref().to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => {
                return Err(src.at(
                    raw.method.span(),
                    format!("method `{other}` is not GET or POST"),
                ))
            }
        };
        let path_text = raw.path.get_ref().as_str().unwrap_or_default();
        if !path_text.starts_with('/') {
            let absolute = path_text.contains("://") || path_text.starts_with("//");
            return Err(src.at(
                raw.path.span(),
                if absolute {
                    format!("request path `{path_text}` is an absolute URL; requests stay on the source's base URL: write the path under it (`/users/…`)")
                } else {
                    format!("request path `{path_text}` must start with `/` (it is joined to the source's base URL)")
                },
            ));
        }
        let repeat_arrays = match raw.arrays.as_ref().map(|a| a.get_ref().as_str()) {
            None | Some("comma") => false,
            Some("repeat") => true,
            Some(other) => {
                let span = raw.arrays.as_ref().map(|a| a.span()).unwrap_or(0..0);
                return Err(src.at(span, format!("`arrays = \"{other}\"`: comma or repeat")));
            }
        };
        Ok(RequestSpec {
            method,
            path: tpl(&raw.path)?,
            query: raw
                .query
                .iter()
                .map(|(k, t)| Ok((k.clone(), tpl(t)?)))
                .collect::<Result<_, ManifestError>>()?,
            repeat_arrays,
            headers: raw
                .headers
                .iter()
                .map(|(k, t)| Ok((k.clone(), tpl(t)?)))
                .collect::<Result<_, ManifestError>>()?,
            body: raw
                .body
                .as_ref()
                .map(|b| compile_body(b.get_ref(), names).map_err(|e| src.template(b.span(), e)))
                .transpose()?,
            cost: raw.cost.unwrap_or(1),
        })
    }

    /// The request for one page: `cursor` is what the paginator says about
    /// this page (`None`: the first).
    pub fn build(
        &self,
        base_url: &str,
        scope: &Scope<'_>,
        paginate: &Paginate,
        cursor: Option<&str>,
    ) -> HttpRequest {
        let mut body = self.body.as_ref().map(|b| render_body(b, scope));
        let url = match (paginate, cursor) {
            (Paginate::NextUrl { .. }, Some(url)) => url.to_string(),
            _ => {
                let mut url = format!(
                    "{}{}",
                    base_url.trim_end_matches('/'),
                    self.path.render_encoded(scope, encode_segment)
                );
                let mut sep = if url.contains('?') { '&' } else { '?' };
                let mut add = |url: &mut String, name: &str, value: &str| {
                    url.push(sep);
                    url.push_str(&encode_query_value(name));
                    url.push('=');
                    url.push_str(&encode_query_value(value));
                    sep = '&';
                };
                for (name, tpl) in &self.query {
                    match tpl.eval(scope).as_ref() {
                        Value::Null => {}
                        Value::Array(items) if self.repeat_arrays => {
                            for item in items {
                                let mut text = String::new();
                                crate::template::push_text(&mut text, item);
                                add(&mut url, name, &text);
                            }
                        }
                        other => {
                            let mut text = String::new();
                            crate::template::push_text(&mut text, other);
                            add(&mut url, name, &text);
                        }
                    }
                }
                match paginate {
                    Paginate::Cursor {
                        param, body_field, ..
                    } => {
                        if let (Some(c), Some(p)) = (cursor, param) {
                            add(&mut url, p, c);
                        }
                        if let (Some(c), Some(field), Some(Value::Object(b))) =
                            (cursor, body_field, body.as_mut())
                        {
                            b.insert(field.clone(), Value::String(c.to_string()));
                        }
                    }
                    Paginate::Numbered {
                        param,
                        size_param,
                        size,
                        start,
                        ..
                    } => {
                        let at = cursor.map_or_else(|| start.to_string(), str::to_string);
                        add(&mut url, param, &at);
                        if let Some(sp) = size_param {
                            add(&mut url, sp, &size.to_string());
                        }
                    }
                    Paginate::None | Paginate::NextUrl { .. } => {}
                }
                url
            }
        };
        let mut request = match (self.method, body) {
            (Method::Post, Some(b)) => HttpRequest::post_json(url, &b),
            (Method::Post, None) => HttpRequest::post_json(url, &Value::Object(Default::default())),
            (Method::Get, _) => HttpRequest::get(url),
        };
        request.cost = self.cost;
        for (name, tpl) in &self.headers {
            if let Some(value) = tpl.text(scope) {
                request.headers.push((name.clone(), value));
            }
        }
        request
    }
}

impl Paginate {
    /// Compiles `[streams.paginate]`.
    pub fn compile(raw: Option<&RawPaginate>, src: &Source<'_>) -> Result<Paginate, ManifestError> {
        let Some(raw) = raw else {
            return Ok(Paginate::None);
        };
        let span = raw.kind.span();
        let path = |p: &toml::Spanned<String>| {
            parse_path(p.get_ref()).map_err(|e| src.template(p.span(), e))
        };
        let from = |token_needed: bool| -> Result<From, ManifestError> {
            let where_ = raw.from.as_ref().map_or("body", |f| f.get_ref().as_str());
            let token = raw.token.as_ref();
            match (where_, token) {
                ("link_header", _) => Ok(From::Link),
                ("body", Some(t)) => Ok(From::Body(path(t)?)),
                ("header", Some(t)) => Ok(From::Header(t.get_ref().to_ascii_lowercase())),
                ("body" | "header", None) if token_needed => Err(src.at(
                    span.clone(),
                    "this pagination needs `token` (a body path or a header name)",
                )),
                (other, _) => Err(src.at(
                    raw.from.as_ref().map_or(span.clone(), |f| f.span()),
                    format!("`from = \"{other}\"`: body, header or link_header"),
                )),
            }
        };
        let numbered = |start: u64, step_is_size: bool| -> Result<Paginate, ManifestError> {
            let param = raw
                .param
                .clone()
                .ok_or_else(|| src.at(span.clone(), "numbered pagination needs `param`"))?;
            let size = raw.size.filter(|s| *s > 0).ok_or_else(|| {
                src.at(
                    span.clone(),
                    "numbered pagination needs `size`, the page size",
                )
            })?;
            Ok(Paginate::Numbered {
                param,
                size_param: raw.size_param.clone(),
                size,
                start: raw.start.unwrap_or(start),
                step: if step_is_size { size } else { 1 },
                total: raw.total.as_ref().map(path).transpose()?,
            })
        };
        match raw.kind.get_ref().as_str() {
            "none" => Ok(Paginate::None),
            "cursor" => {
                if raw.param.is_none() && raw.body_field.is_none() {
                    return Err(src.at(
                        span,
                        "cursor pagination needs `param` (query) or `body_field` (JSON body)",
                    ));
                }
                Ok(Paginate::Cursor {
                    from: from(true)?,
                    param: raw.param.clone(),
                    body_field: raw.body_field.clone(),
                })
            }
            "next_url" => Ok(Paginate::NextUrl { from: from(true)? }),
            "offset" => numbered(0, true),
            "page" => numbered(1, false),
            other => Err(src.at(
                span,
                format!("unknown pagination `{other}`: none, cursor, next_url, offset or page"),
            )),
        }
    }

    /// The next page's cursor after a page of `records` records answered at
    /// `url`; `None` at the end.
    pub fn next(
        &self,
        response: &HttpResponse,
        body: &Value,
        records: usize,
        current: Option<&str>,
        base_url: &str,
        url: &str,
    ) -> Result<Option<String>, ConnectorError> {
        let found = |from: &From| -> Option<String> {
            match from {
                From::Body(path) => match walk(body, path)? {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                },
                From::Header(name) => response.header(name).map(str::to_string),
                From::Link => response.header("link").and_then(next_link),
            }
        };
        Ok(match self {
            Paginate::None => None,
            Paginate::Cursor { from, .. } => found(from),
            Paginate::NextUrl { from } => match found(from).filter(|u| !u.is_empty()) {
                Some(next) => Some(within_origin(next, base_url, url)?),
                None => None,
            },
            Paginate::Numbered {
                size,
                start,
                step,
                total,
                ..
            } => {
                let at = current
                    .and_then(|c| c.parse::<u64>().ok())
                    .unwrap_or(*start);
                let next = at + step;
                let read = if *step == 1 {
                    (next - start) * size
                } else {
                    next
                };
                let total = total
                    .as_ref()
                    .and_then(|p| walk(body, p))
                    .and_then(Value::as_u64);
                let done =
                    records == 0 || (records as u64) < *size || total.is_some_and(|t| read >= t);
                (!done).then(|| next.to_string())
            }
        })
    }
}
