//! SurveyMonkey API v3 (`/surveymonkey/v3`): the token's surveys, a survey,
//! its details (pages, questions, choices), its responses in bulk and its
//! rollups (choice counts), each list paged by `page`/`per_page` with
//! absolute `links.next` until the last page; the
//! `X-Ratelimit-App-Global-{Minute,Day}-{Limit,Remaining,Reset}` headers
//! (reset in seconds remaining) and SurveyMonkey's numbered error bodies
//! (`1010` no token, `1020` not found, `1040` rate limited, ...).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::data::{
    surveymonkey_survey, surveymonkey_surveys_of_token, Answer, QuestionData, ResponseData,
    SurveyData,
};
use crate::limit::{DayUsage, Usage};
use crate::state::Shared;
use crate::web::{bearer, host, json, set_header, Params, Refusal};

const DEFAULT_PER_PAGE: usize = 50;
/// Most endpoints allow 1,000 a page; responses in bulk 100.
const MAX_PER_PAGE: usize = 1000;
const MAX_BULK_PER_PAGE: usize = 100;
const DOCS: &str = "https://developer.surveymonkey.com/api/v3/#error-codes";

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/surveys", get(surveys))
        .route("/surveys/{id}", get(survey))
        .route("/surveys/{id}/details", get(details))
        .route("/surveys/{id}/responses/bulk", get(responses))
        .route("/surveys/{id}/rollups", get(rollups))
        .route(
            "/surveys/{id}/pages/{page_id}/questions/{question_id}/rollups",
            get(question_rollups),
        )
        .fallback(|| async { not_found() })
}

/// The rate-limit key of a request: its bearer token (`Authorization: bearer`).
pub(crate) fn credential(token: Option<&str>) -> Result<String, Refusal> {
    match token {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "1010",
            "Authorization Error",
            "The authorization token was not provided.",
        )
        .into()),
        Some("bad") => Err(error(
            StatusCode::UNAUTHORIZED,
            "1011",
            "Authorization Error",
            "The authorization token provided was invalid.",
        )
        .into()),
        Some(t) => Ok(format!("token:{t}")),
    }
}

type Reply = Result<Response, Refusal>;

/// The request's origin and the path under the API root, for `links`.
struct Here {
    root: String,
    path: String,
}

impl Here {
    fn of(s: &Shared, headers: &HeaderMap, uri: &Uri) -> Here {
        Here {
            root: format!(
                "http://{}/surveymonkey/v3",
                host(headers, &s.addr.to_string())
            ),
            path: uri.path().to_string(),
        }
    }
}

async fn surveys(State(s): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Reply {
    let p = Params::from_uri(&uri);
    let token = bearer(&headers).unwrap_or_default();
    let with_count = p
        .get("include")
        .is_some_and(|i| i.split(',').any(|f| f.trim() == "response_count"));
    let here = Here::of(&s, &headers, &uri);
    let items = surveymonkey_surveys_of_token(&token)
        .into_iter()
        .filter_map(|id| surveymonkey_survey(s.seed, &id, Utc::now()))
        .map(|sv| {
            let mut v = json!({
                "id": sv.id,
                "title": sv.title,
                "nickname": "",
                "href": format!("{}/surveys/{}", here.root, sv.id),
            });
            if with_count {
                v["response_count"] = json!(sv.responses.len());
            }
            v
        })
        .collect();
    paged(&p, &here, items, MAX_PER_PAGE)
}

async fn survey(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Reply {
    let sv = find(&s, &id)?;
    Ok(json(
        StatusCode::OK,
        survey_json(&sv, &Here::of(&s, &headers, &uri)),
    ))
}

async fn details(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Reply {
    let sv = find(&s, &id)?;
    let here = Here::of(&s, &headers, &uri);
    let mut body = survey_json(&sv, &here);
    let questions: Vec<Value> = sv
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| question_json(q, i + 1))
        .collect();
    body["pages"] = json!([{
        "id": sv.page_id,
        "title": "",
        "position": 1,
        "question_count": questions.len(),
        "href": format!("{}/surveys/{}/pages/{}", here.root, sv.id, sv.page_id),
        "questions": questions,
    }]);
    Ok(json(StatusCode::OK, body))
}

async fn responses(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Reply {
    let p = Params::from_uri(&uri);
    let sv = find(&s, &id)?;
    let (from, to) = created_range(&p)?;
    if let Some(status) = p.get("status") {
        if !matches!(
            status,
            "completed" | "partial" | "overquota" | "disqualified"
        ) {
            return Err(invalid("status", status).into());
        }
    }
    // Every simulated response is complete.
    let complete = p.get("status").is_none_or(|st| st == "completed");
    let simple = p.flag("simple");
    // `question_ids`: only those questions' answers, and only pages holding one.
    let only: Option<Vec<&str>> = p
        .get("question_ids")
        .map(|q| q.split(',').map(str::trim).collect());
    let items = sv
        .responses
        .iter()
        .filter(|r| complete && in_range(r.created, from, to))
        .map(|r| response_json(&sv, r, simple, only.as_deref()))
        .collect();
    paged(&p, &Here::of(&s, &headers, &uri), items, MAX_BULK_PER_PAGE)
}

async fn rollups(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Reply {
    let p = Params::from_uri(&uri);
    let sv = find(&s, &id)?;
    let range = created_range(&p)?;
    let here = Here::of(&s, &headers, &uri);
    let items = (0..sv.questions.len())
        .map(|i| rollup_json(&sv, i, range, &here))
        .collect();
    paged(&p, &here, items, MAX_PER_PAGE)
}

async fn question_rollups(
    State(s): State<Arc<Shared>>,
    Path((id, page_id, question_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Reply {
    let p = Params::from_uri(&uri);
    let sv = find(&s, &id)?;
    let i = sv
        .questions
        .iter()
        .position(|q| q.id == question_id)
        .filter(|_| page_id == sv.page_id)
        .ok_or_else(|| Refusal::from(not_found()))?;
    let range = created_range(&p)?;
    Ok(json(
        StatusCode::OK,
        rollup_json(&sv, i, range, &Here::of(&s, &headers, &uri)),
    ))
}

fn find(s: &Shared, id: &str) -> Result<SurveyData, Refusal> {
    surveymonkey_survey(s.seed, id, Utc::now()).ok_or_else(|| Refusal::from(not_found()))
}

type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `start_created_at` / `end_created_at`: `YYYY-MM-DDTHH:MM:SS`, in UTC.
fn created_range(p: &Params) -> Result<Range, Refusal> {
    let parse = |name: &str| -> Result<Option<DateTime<Utc>>, Refusal> {
        p.get(name)
            .map(|v| {
                NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S")
                    .map(|t| t.and_utc())
                    .map_err(|_| Refusal::from(invalid(name, v)))
            })
            .transpose()
    };
    Ok((parse("start_created_at")?, parse("end_created_at")?))
}

fn in_range(t: DateTime<Utc>, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> bool {
    from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e)
}

/// One page of `items` with `per_page`, `page`, `total` and `links`.
fn paged(p: &Params, here: &Here, items: Vec<Value>, max: usize) -> Reply {
    let per_page = match p.get("per_page").map(str::parse::<usize>) {
        None => DEFAULT_PER_PAGE,
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        Some(_) => return Err(invalid("per_page", p.get("per_page").unwrap_or_default()).into()),
    };
    let page = match p.get("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return Err(invalid("page", p.get("page").unwrap_or_default()).into()),
    };
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let start = ((page - 1) * per_page).min(total);
    let end = (start + per_page).min(total);
    let link = |n: usize| {
        // Keep the caller's filters; replace page and per_page.
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for key in [
            "start_created_at",
            "end_created_at",
            "status",
            "simple",
            "include",
            "question_ids",
        ] {
            if let Some(v) = p.get(key) {
                q.append_pair(key, v);
            }
        }
        q.append_pair("page", &n.to_string());
        q.append_pair("per_page", &per_page.to_string());
        format!("{}{}?{}", here.root, here.path, q.finish())
    };
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!(link(page)));
    if page < last {
        links.insert("next".into(), json!(link(page + 1)));
        links.insert("last".into(), json!(link(last)));
    }
    if page > 1 {
        links.insert("prev".into(), json!(link(page - 1)));
        links.insert("first".into(), json!(link(1)));
    }
    Ok(json(
        StatusCode::OK,
        json!({
            "data": items[start..end],
            "per_page": per_page,
            "page": page,
            "total": total,
            "links": links,
        }),
    ))
}

/// SurveyMonkey's dates: `YYYY-MM-DDTHH:MM:SS+00:00`.
fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn survey_json(sv: &SurveyData, here: &Here) -> Value {
    let modified = sv.responses.last().map_or(sv.created, |r| r.created);
    json!({
        "id": sv.id,
        "title": sv.title,
        "nickname": "",
        "language": "en",
        "category": "customer_feedback",
        "question_count": sv.questions.len(),
        "page_count": 1,
        "response_count": sv.responses.len(),
        "date_created": date(sv.created),
        "date_modified": date(modified),
        "href": format!("{}/surveys/{}", here.root, sv.id),
        "preview": format!("https://www.surveymonkey.com/r/Preview/?sm={}", sv.id),
    })
}

fn question_json(q: &QuestionData, position: usize) -> Value {
    let choices: Vec<Value> = q
        .choices
        .iter()
        .enumerate()
        .map(
            |(i, (id, text))| json!({ "id": id, "text": text, "position": i + 1, "visible": true }),
        )
        .collect();
    let mut answers = json!({ "choices": choices });
    if let Some(other) = &q.other_id {
        answers["other"] = json!({
            "id": other,
            "text": "Other (please specify)",
            "visible": true,
            "is_answer_choice": true,
            "num_lines": 1,
            "num_chars": 50,
        });
    }
    json!({
        "id": q.id,
        "position": position,
        "visible": true,
        "family": "single_choice",
        "subtype": "vertical",
        "headings": [{ "heading": q.heading }],
        "answers": answers,
    })
}

fn answer_json(q: &QuestionData, a: &Answer, simple: bool) -> Value {
    match a {
        Answer::Choice(i) => {
            let (id, text) = &q.choices[*i];
            if simple {
                json!({ "choice_id": id, "simple_text": text })
            } else {
                json!({ "choice_id": id })
            }
        }
        Answer::Other(text) => {
            let other = q.other_id.clone().unwrap_or_default();
            if simple {
                json!({ "other_id": other, "text": text, "simple_text": text })
            } else {
                json!({ "other_id": other, "text": text })
            }
        }
    }
}

fn response_json(sv: &SurveyData, r: &ResponseData, simple: bool, only: Option<&[&str]>) -> Value {
    let questions: Vec<Value> = sv
        .questions
        .iter()
        .zip(&r.answers)
        .filter(|(q, _)| only.is_none_or(|ids| ids.contains(&q.id.as_str())))
        .map(|(q, a)| {
            let mut v = json!({ "id": q.id, "answers": [answer_json(q, a, simple)] });
            if simple {
                v["heading"] = json!(q.heading);
            }
            v
        })
        .collect();
    json!({
        "id": r.id,
        "survey_id": sv.id,
        "collector_id": format!("3{}", &sv.page_id[1..]),
        "recipient_id": "",
        "response_status": "completed",
        "collection_mode": "default",
        "date_created": date(r.created),
        "date_modified": date(r.created + chrono::Duration::minutes(3)),
        "total_time": 180,
        "pages": if questions.is_empty() {
            json!([])
        } else {
            json!([{ "id": sv.page_id, "questions": questions }])
        },
    })
}

fn rollup_json(sv: &SurveyData, i: usize, (from, to): Range, here: &Here) -> Value {
    let q = &sv.questions[i];
    let answers = sv
        .responses
        .iter()
        .filter(|r| in_range(r.created, from, to))
        .map(|r| &r.answers[i]);
    let mut counts = vec![0u64; q.choices.len()];
    let mut other = 0u64;
    let mut answered = 0u64;
    for a in answers {
        answered += 1;
        match a {
            Answer::Choice(c) => counts[*c] += 1,
            Answer::Other(_) => other += 1,
        }
    }
    let choices: Vec<Value> = q
        .choices
        .iter()
        .zip(counts)
        .map(|((id, _), count)| json!({ "id": id, "count": count }))
        .collect();
    let mut summary = json!({ "answered": answered, "skipped": 0, "choices": choices });
    if q.other_id.is_some() {
        summary["other_answered"] = json!(other);
    }
    json!({
        "id": q.id,
        "family": "single_choice",
        "subtype": "vertical",
        "href": format!("{}/surveys/{}/pages/{}/questions/{}/rollups", here.root, sv.id, sv.page_id, q.id),
        "summary": [summary],
    })
}

fn error(status: StatusCode, id: &str, name: &str, message: &str) -> Response {
    json(
        status,
        json!({ "error": {
            "docs": DOCS,
            "message": message,
            "id": id,
            "name": name,
            "http_status_code": status.as_u16(),
        } }),
    )
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "1020",
        "Resource Not Found",
        "There was an error retrieving the requested resource.",
    )
}

fn invalid(name: &str, value: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "1002",
        "Bad Request",
        &format!("Invalid value `{value}` for field `{name}`."),
    )
}

/// The minute bucket's and the day quota's `X-Ratelimit-App-Global-*`
/// headers; resets are seconds from now.
pub(crate) fn usage_headers(
    headers: &mut HeaderMap,
    usage: Option<&Usage>,
    day: Option<&DayUsage>,
) {
    if let Some(u) = usage {
        set_header(
            headers,
            "x-ratelimit-app-global-minute-limit",
            &u.quota.to_string(),
        );
        set_header(
            headers,
            "x-ratelimit-app-global-minute-remaining",
            &u.remaining.to_string(),
        );
        let reset = u.reset_in.as_secs() + u64::from(u.reset_in.subsec_nanos() > 0);
        set_header(
            headers,
            "x-ratelimit-app-global-minute-reset",
            &reset.to_string(),
        );
    }
    if let Some(d) = day {
        set_header(
            headers,
            "x-ratelimit-app-global-day-limit",
            &d.limit.to_string(),
        );
        set_header(
            headers,
            "x-ratelimit-app-global-day-remaining",
            &d.remaining.to_string(),
        );
        let reset = (d.reset_at - Utc::now()).num_seconds().max(0);
        set_header(
            headers,
            "x-ratelimit-app-global-day-reset",
            &reset.to_string(),
        );
    }
}

/// 429 error `1040`, with whichever usage headers apply.
pub(crate) fn throttled(usage: Option<&Usage>, day: Option<&DayUsage>) -> Response {
    let mut resp = error(
        StatusCode::TOO_MANY_REQUESTS,
        "1040",
        "Rate Limit Reached",
        "Too many requests were made, try again later.",
    );
    usage_headers(resp.headers_mut(), usage, day);
    resp
}

/// 401 error `1012` for an expired sandbox-issued token.
pub(crate) fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "1012",
        "Authorization Error",
        "The authorization token provided has expired.",
    )
}
