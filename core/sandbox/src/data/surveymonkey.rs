//! Simulated SurveyMonkey surveys: a customer survey whose first question is
//! "How did you hear about us?", and its responses.

use chrono::{DateTime, Utc};

use super::{at, display_name, Account, Day, Schedule};
use crate::hash::{pick, range, unit, Hash};

/// The heading of every simulated survey's first question.
pub const SURVEYMONKEY_SOURCE_QUESTION: &str = "How did you hear about us?";
/// The answers offered to [`SURVEYMONKEY_SOURCE_QUESTION`], with how often
/// respondents pick each (in percent; the rest choose "Other").
pub const SURVEYMONKEY_SOURCES: [(&str, u64); 5] = [
    ("Instagram", 30),
    ("Google search", 25),
    ("A friend or family member", 20),
    ("Facebook", 10),
    ("Walked past the shop", 10),
];
/// The second question, so a client must pick the right one.
const SATISFACTION: (&str, [&str; 4]) = (
    "How satisfied were you with your visit?",
    ["Very satisfied", "Satisfied", "Neutral", "Dissatisfied"],
);
const OTHER_TEXTS: [&str; 3] = ["Local newspaper", "Farmers market stall", "Radio"];

const S_RESPONSES: u64 = 600;
const S_RESPONSE: u64 = 601;
const S_IDS: u64 = 602;

/// A survey with its one page, two questions and its responses.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyData {
    /// Numeric survey id.
    pub id: String,
    /// `title`.
    pub title: String,
    /// `date_created`.
    pub created: DateTime<Utc>,
    /// The page holding both questions.
    pub page_id: String,
    /// The questions, in survey order.
    pub questions: Vec<QuestionData>,
    /// Responses, oldest first; `response_count` is their number.
    pub responses: Vec<ResponseData>,
}

/// A `single_choice` question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionData {
    /// Numeric id.
    pub id: String,
    /// `headings[0].heading`.
    pub heading: String,
    /// `(choice id, text)` in position order.
    pub choices: Vec<(String, String)>,
    /// The id of the "Other (please specify)" field, when offered.
    pub other_id: Option<String>,
}

/// One completed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseData {
    /// Numeric id.
    pub id: String,
    /// `date_created`.
    pub created: DateTime<Utc>,
    /// Per question (same order as the survey's): the choice picked, or
    /// `None` with the "Other" text.
    pub answers: Vec<Answer>,
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Index into the question's choices.
    Choice(usize),
    /// "Other", with what the respondent wrote.
    Other(String),
}

/// The survey `id` (digits only) as of the UTC day of `now`; `None`
/// otherwise (404, error `1020`).
pub fn surveymonkey_survey(seed: u64, id: &str, now: DateTime<Utc>) -> Option<SurveyData> {
    let id = id.trim();
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h = Hash::new(seed).str("surveymonkey").str(id).get();
    let day = Day::of(now);
    let account = Account::new(h, day);
    let numeric = |salt: u64| (100_000_000 + pick(h, S_IDS ^ salt) % 900_000_000).to_string();
    let source = QuestionData {
        id: numeric(1),
        heading: SURVEYMONKEY_SOURCE_QUESTION.to_string(),
        choices: SURVEYMONKEY_SOURCES
            .iter()
            .enumerate()
            .map(|(i, (text, _))| (numeric(10 + i as u64), text.to_string()))
            .collect(),
        other_id: Some(numeric(2)),
    };
    let satisfaction = QuestionData {
        id: numeric(3),
        heading: SATISFACTION.0.to_string(),
        choices: SATISFACTION
            .1
            .iter()
            .enumerate()
            .map(|(i, text)| (numeric(20 + i as u64), text.to_string()))
            .collect(),
        other_id: None,
    };
    let mut responses: Vec<ResponseData> = Schedule::new(h, S_RESPONSES, 40, 260)
        .posts(day)
        .into_iter()
        .map(|(k, t)| response(h, k, t))
        .collect();
    responses.reverse();
    Some(SurveyData {
        id: id.to_string(),
        title: format!("{} customer survey", display_name(h, "")),
        created: at(account.created_ms - account.created_ms.rem_euclid(1000)),
        page_id: numeric(0),
        questions: vec![source, satisfaction],
        responses,
    })
}

/// The surveys a token owns (`GET /surveys`): two, derived from the token.
pub fn surveymonkey_surveys_of_token(token: &str) -> Vec<String> {
    let h = Hash::new(0).str("surveymonkey-token").str(token).get();
    (0..2)
        .map(|i| (400_000_000 + pick(h, i) % 500_000_000).to_string())
        .collect()
}

fn response(h: u64, k: u64, t_ms: i64) -> ResponseData {
    let rh = Hash::new(h).num(S_RESPONSE).num(k).get();
    let roll = range(rh, 0, 100);
    let mut acc = 0;
    let source = SURVEYMONKEY_SOURCES
        .iter()
        .position(|(_, share)| {
            acc += share;
            roll < acc
        })
        .map(Answer::Choice)
        .unwrap_or_else(|| {
            Answer::Other(OTHER_TEXTS[(pick(rh, 1) % OTHER_TEXTS.len() as u64) as usize].into())
        });
    let satisfied = (unit(pick(rh, 2)) * unit(pick(rh, 3)) * 4.0) as usize;
    ResponseData {
        id: (10_000_000_000 + pick(rh, 4) % 90_000_000_000).to_string(),
        created: at(t_ms - t_ms.rem_euclid(1000)),
        answers: vec![source, Answer::Choice(satisfied.min(3))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn surveys_ask_where_customers_heard_of_us() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid");
        assert!(surveymonkey_survey(1, "abc", now).is_none());
        let s = surveymonkey_survey(1, "400000001", now).expect("exists");
        assert_eq!(s.questions[0].heading, SURVEYMONKEY_SOURCE_QUESTION);
        assert!(
            (40..=260).contains(&s.responses.len()),
            "{}",
            s.responses.len()
        );
        assert!(s.responses.windows(2).all(|w| w[0].created < w[1].created));
        let instagram = s
            .responses
            .iter()
            .filter(|r| r.answers[0] == Answer::Choice(0))
            .count();
        assert!(instagram > 0);
        assert!(s
            .responses
            .iter()
            .any(|r| matches!(r.answers[0], Answer::Other(_))));
    }
}
