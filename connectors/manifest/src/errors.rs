//! Error rules (primitive 9): what a final answer means, 2xx bodies that carry
//! an error included. Retries are the host's; a rule only decides.

use crate::error::{ManifestError, Source};
use crate::guard::{self, Guard};
use crate::spec::RawErrorRule;
use crate::template::{Names, Root, Scope, Template};
use serde_json::{Map, Value};
use tally_model::{ConnectorError, HttpError, HttpResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    NotFound,
    Fail,
    Auth,
    Throttled,
    SkipPartition,
    SkipRecord,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct ErrorRule {
    status: Option<Vec<u16>>,
    guards: Vec<Guard>,
    action: Action,
    message: Option<Template>,
    wait: Option<Template>,
}

/// What a rule decided about a response.
#[derive(Debug)]
pub enum Verdict {
    /// Stop the pull with this error.
    Fail(ConnectorError),
    /// Skip the rest of this fan-out item or window (the message is a warning).
    SkipPartition(String),
    /// Drop this response's records and go on (the message is a warning).
    SkipRecords(String),
}

/// The names a rule may use: the stream's plus the response.
pub fn names(stream: &Names) -> Names {
    stream.with(&[Root::Status, Root::Body, Root::Headers])
}

impl ErrorRule {
    /// Compiles one `[[errors]]` table.
    pub fn compile(
        raw: &RawErrorRule,
        names: &Names,
        src: &Source<'_>,
    ) -> Result<ErrorRule, ManifestError> {
        let action = match raw.action.get_ref().as_str() {
            "not_found" => Action::NotFound,
            "fail" => Action::Fail,
            "auth" => Action::Auth,
            "throttled" => Action::Throttled,
            "skip_partition" => Action::SkipPartition,
            "skip_record" => Action::SkipRecord,
            other => {
                return Err(src.at(
                    raw.action.span(),
                    format!("unknown action `{other}`: not_found, fail, auth, throttled, skip_partition or skip_record"),
                ))
            }
        };
        let tpl = |t: &crate::spec::Tpl| {
            Template::compile(t.get_ref(), names).map_err(|e| src.template(t.span(), e))
        };
        if raw.wait_seconds.is_some() && action != Action::Throttled {
            return Err(src.at(
                raw.action.span(),
                "`wait_seconds` belongs to `action = \"throttled\"`",
            ));
        }
        Ok(ErrorRule {
            status: raw.status.clone(),
            guards: guard::compile(&raw.guards, names, src)?,
            action,
            message: raw.message.as_ref().map(tpl).transpose()?,
            wait: raw.wait_seconds.as_ref().map(tpl).transpose()?,
        })
    }
}

/// The verdict of the first rule that matches `response` at `path`, if any.
pub fn judge<'r>(
    rules: impl Iterator<Item = &'r ErrorRule>,
    scope: &Scope<'_>,
    path: &str,
    response: &HttpResponse,
    body: &Value,
) -> Option<Verdict> {
    let mut response_values: Option<(Value, Value)> = None;
    for rule in rules {
        if rule
            .status
            .as_ref()
            .is_some_and(|s| !s.contains(&response.status))
        {
            continue;
        }
        let (status, headers) = response_values.get_or_insert_with(|| {
            let headers: Map<String, Value> = response
                .headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
                .collect();
            (Value::from(response.status), Value::Object(headers))
        });
        let scope = Scope {
            response: Some([&*status, body, &*headers]),
            ..*scope
        };
        if !guard::all(&rule.guards, &scope) {
            continue;
        }
        let message = rule
            .message
            .as_ref()
            .and_then(|m| m.text(&scope))
            .unwrap_or_else(|| {
                format!(
                    "answered HTTP {}: {}",
                    response.status,
                    tally_model::error::snippet(&response.body)
                )
            });
        let message = format!("{path}: {message}");
        return Some(match rule.action {
            Action::NotFound => Verdict::Fail(ConnectorError::NotFound(message)),
            Action::Fail => Verdict::Fail(ConnectorError::Other(message)),
            Action::Auth => Verdict::Fail(ConnectorError::Http(HttpError::Unauthorized {
                path: path.to_string(),
                status: response.status,
                message,
            })),
            Action::Throttled => {
                let wait = rule
                    .wait
                    .as_ref()
                    .and_then(|w| match w.eval(&scope).as_ref() {
                        Value::Number(n) => n.as_f64(),
                        Value::String(s) => s.trim().parse::<f64>().ok(),
                        _ => None,
                    })
                    .filter(|w| w.is_finite() && *w >= 0.0)
                    .map_or(60, |w| w.ceil() as u64);
                Verdict::Fail(ConnectorError::Http(HttpError::Throttled {
                    path: path.to_string(),
                    wait_secs: wait,
                }))
            }
            Action::SkipPartition => Verdict::SkipPartition(message),
            Action::SkipRecord => Verdict::SkipRecords(message),
        });
    }
    None
}
