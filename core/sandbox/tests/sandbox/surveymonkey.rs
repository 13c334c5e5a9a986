//! SurveyMonkey: details, responses in bulk followed through `links.next`,
//! rollups, the `X-Ratelimit-App-Global-*` headers and numbered errors.

use serde_json::Value;
use tally_sandbox::data;
use tally_sandbox::{PlatformLimits, SandboxOptions, SAMPLE_TOKEN};

use crate::{client, roomy, send, start, Answer, SameDay};

async fn sm(url: &str) -> Answer {
    send(client().get(url).bearer_auth(SAMPLE_TOKEN)).await
}

#[tokio::test]
async fn details_responses_and_rollups_agree() {
    let sb = start(roomy()).await;
    let base = sb.base_url("surveymonkey");
    let day = SameDay::start();
    let details = sm(&format!("{base}/surveys/400000001/details")).await;
    assert_eq!(details.status, 200, "{}", details.text);
    let d = details.json();
    let question = &d["pages"][0]["questions"][0];
    assert_eq!(
        question["headings"][0]["heading"],
        data::SURVEYMONKEY_SOURCE_QUESTION
    );
    assert_eq!(question["family"], "single_choice");
    let choices: Vec<(String, String)> = question["answers"]["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().into(),
                c["text"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(choices.len(), data::SURVEYMONKEY_SOURCES.len());
    assert!(question["answers"]["other"]["id"].is_string());

    // Every page through links.next, to the last one (which has no next).
    let mut responses: Vec<Value> = Vec::new();
    let mut next = Some(format!(
        "{base}/surveys/400000001/responses/bulk?per_page=25"
    ));
    let mut pages = 0;
    while let Some(url) = next {
        let page = sm(&url).await.json();
        pages += 1;
        responses.extend(page["data"].as_array().expect("data").iter().cloned());
        next = page["links"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(pages, responses.len().div_ceil(25));
    assert_eq!(d["response_count"].as_u64(), Some(responses.len() as u64));
    if let Some(now) = day.now() {
        let survey = data::surveymonkey_survey(42, "400000001", now).expect("exists");
        assert_eq!(responses.len(), survey.responses.len());
    }

    // Asking for one question leaves only its answers.
    let satisfaction = d["pages"][0]["questions"][1]["id"]
        .as_str()
        .expect("second question");
    let narrowed = sm(&format!(
        "{base}/surveys/400000001/responses/bulk?per_page=1&question_ids={satisfaction}"
    ))
    .await
    .json();
    let questions = &narrowed["data"][0]["pages"][0]["questions"];
    assert_eq!(questions.as_array().map(Vec::len), Some(1));
    assert_eq!(questions[0]["id"], satisfaction);
    // …on every page: the next link keeps the filters.
    let second = narrowed["links"]["next"].as_str().expect("a second page");
    let second = sm(second).await.json();
    let questions = &second["data"][0]["pages"][0]["questions"];
    assert_eq!(questions.as_array().map(Vec::len), Some(1));
    assert_eq!(questions[0]["id"], satisfaction);

    // The rollup's counts are the responses' answers, counted.
    let qid = question["id"].as_str().expect("question id");
    let page_id = d["pages"][0]["id"].as_str().expect("page id");
    let rollup = sm(&format!(
        "{base}/surveys/400000001/pages/{page_id}/questions/{qid}/rollups"
    ))
    .await
    .json();
    let summary = &rollup["summary"][0];
    for (id, _) in &choices {
        let counted = responses
            .iter()
            .filter(|r| r["pages"][0]["questions"][0]["answers"][0]["choice_id"] == id.as_str())
            .count() as u64;
        let rolled = summary["choices"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["id"] == id.as_str()))
            .and_then(|c| c["count"].as_u64());
        assert_eq!(rolled, Some(counted), "choice {id}");
    }
    assert_eq!(summary["answered"].as_u64(), Some(responses.len() as u64));
}

#[tokio::test]
async fn usage_headers_count_minutes_and_days() {
    let sb = start(roomy()).await;
    let base = sb.base_url("surveymonkey");
    let a = sm(&format!("{base}/surveys?include=response_count")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json()["data"].as_array().map(Vec::len), Some(2));
    assert!(a.json()["data"][0]["response_count"].is_u64());
    assert_eq!(a.header("x-ratelimit-app-global-minute-limit"), Some("120"));
    assert_eq!(
        a.header("x-ratelimit-app-global-minute-remaining"),
        Some("119")
    );
    assert_eq!(a.header("x-ratelimit-app-global-day-limit"), Some("500"));
    assert_eq!(
        a.header("x-ratelimit-app-global-day-remaining"),
        Some("499")
    );
    let reset: i64 = a
        .header("x-ratelimit-app-global-day-reset")
        .and_then(|r| r.parse().ok())
        .expect("seconds to the reset");
    assert!((0..=86_400).contains(&reset), "{reset}");
}

#[tokio::test]
async fn errors_have_surveymonkey_ids() {
    let sb = start(SandboxOptions {
        limits: PlatformLimits {
            surveymonkey_per_day: 2,
            ..PlatformLimits::default()
        },
        ..SandboxOptions::default()
    })
    .await;
    let base = sb.base_url("surveymonkey");
    let id = |a: &Answer| {
        (
            a.status.as_u16(),
            a.json()["error"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    let none = send(client().get(format!("{base}/surveys/1"))).await;
    assert_eq!(id(&none), (401, "1010".into()));
    let missing = sm(&format!("{base}/surveys/abc")).await;
    assert_eq!(id(&missing), (404, "1020".into()));
    let bad = sm(&format!("{base}/surveys/1/responses/bulk?per_page=101")).await;
    assert_eq!(id(&bad), (400, "1002".into()));
    let spent = sm(&format!("{base}/surveys/1")).await;
    assert_eq!(id(&spent), (429, "1040".into()));
    assert_eq!(
        spent.header("x-ratelimit-app-global-day-remaining"),
        Some("0")
    );
}
