//! Platform departures from RFC 6749, as small functions the flows call when a
//! connector's description lists the matching [`AuthQuirk`].
//!
//! Each quirk is data in the description (so plugins can declare them as JSON)
//! and one function here, tested against the platform's documented request and
//! response shapes (platforms.md): TikTok's `client_key` and comma-separated
//! scopes, Google's offline access, LinkedIn's and Meta's secret in the form body,
//! X's rotating refresh tokens, and Meta's long-lived and Page tokens.

use super::error::AuthError;
use super::transport::TokenHttp;
use tally_config::secret::Secret;
use tally_model::error::url_path;
use tally_model::AuthQuirk;

/// How the client authenticates at the token endpoint: HTTP Basic (RFC 6749's
/// default) unless the platform wants id and secret in the form body.
pub(crate) fn auth_type(quirks: &[AuthQuirk]) -> oauth2::AuthType {
    let in_body = quirks
        .iter()
        .any(|q| matches!(q, AuthQuirk::ClientSecretInBody | AuthQuirk::ClientKeyParam));
    if in_body {
        oauth2::AuthType::RequestBody
    } else {
        oauth2::AuthType::BasicAuth
    }
}

/// Whether a refresh answer without a refresh token leaves the old one usable.
/// Not on platforms that rotate them (X): the old one is spent.
pub(crate) fn keeps_unrotated_refresh_token(quirks: &[AuthQuirk]) -> bool {
    !quirks.contains(&AuthQuirk::RotatingRefreshToken)
}

/// The authorization URL with the platform's extra or renamed parameters.
pub(crate) fn adjust_authorize_url(url: &url::Url, quirks: &[AuthQuirk]) -> url::Url {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    adjust_params(&mut pairs, quirks);
    if quirks.contains(&AuthQuirk::GoogleOfflineAccess) {
        // Without both, Google issues a refresh token only on the very first consent.
        pairs.push(("access_type".into(), "offline".into()));
        pairs.push(("prompt".into(), "consent".into()));
    }
    let mut adjusted = url.clone();
    adjusted.query_pairs_mut().clear().extend_pairs(&pairs);
    adjusted
}

/// A token request with the platform's renamed parameters (TikTok's form body
/// says `client_key`, and its scopes are comma-separated).
pub(crate) fn rewrite_token_request(
    request: oauth2::HttpRequest,
    quirks: &[AuthQuirk],
) -> oauth2::HttpRequest {
    let renames = quirks.iter().any(|q| {
        matches!(
            q,
            AuthQuirk::ClientKeyParam | AuthQuirk::CommaSeparatedScopes
        )
    });
    if !renames {
        return request;
    }
    let (parts, body) = request.into_parts();
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    adjust_params(&mut pairs, quirks);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish()
        .into_bytes();
    let mut request = oauth2::http::Request::from_parts(parts, body);
    request
        .headers_mut()
        .remove(oauth2::http::header::CONTENT_LENGTH);
    request
}

fn adjust_params(pairs: &mut [(String, String)], quirks: &[AuthQuirk]) {
    for (name, value) in pairs.iter_mut() {
        if name == "client_id" && quirks.contains(&AuthQuirk::ClientKeyParam) {
            *name = "client_key".into();
        }
        if name == "scope" && quirks.contains(&AuthQuirk::CommaSeparatedScopes) {
            *value = value
                .split(' ')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(",");
        }
    }
}

/// The settings key naming the Meta page whose token the source uses, if any.
pub(crate) fn meta_page_setting(quirks: &[AuthQuirk]) -> Option<&str> {
    quirks.iter().find_map(|q| match q {
        AuthQuirk::MetaPageToken { page_setting } => Some(page_setting.as_str()),
        _ => None,
    })
}

/// A token Meta handed out, with its lifetime if it has one.
#[derive(Debug)]
pub(crate) struct MetaToken {
    pub(crate) token: Secret,
    pub(crate) expires_in: Option<u64>,
}

/// Exchanges a short-lived Meta user token for a long-lived one (about 60 days):
/// `GET {token_url}?grant_type=fb_exchange_token&client_id=..&client_secret=..&fb_exchange_token=..`.
pub(crate) async fn meta_long_lived(
    http: &TokenHttp,
    token_url: &str,
    client_id: &str,
    client_secret: &Secret,
    short_lived: &Secret,
) -> Result<MetaToken, AuthError> {
    let mut url = parse_url(token_url)?;
    url.query_pairs_mut()
        .append_pair("grant_type", "fb_exchange_token")
        .append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret.expose())
        .append_pair("fb_exchange_token", short_lived.expose());
    let (status, body) = http.get_json(&url, None).await?;
    let secrets = [client_secret, short_lived];
    let token = access_token_of(&url, status, &body, &secrets)?;
    Ok(MetaToken {
        token,
        expires_in: expires_in(&body),
    })
}

/// `expires_in` of a Graph token answer: a number, or on some Graph
/// versions a numeric string.
fn expires_in(body: &serde_json::Value) -> Option<u64> {
    match body.get("expires_in") {
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        Some(value) => value.as_u64(),
        None => None,
    }
}

/// The Instagram Graph root of an `InstagramLongLived` quirk, if any.
pub(crate) fn instagram_graph(quirks: &[AuthQuirk]) -> Option<&str> {
    quirks.iter().find_map(|q| match q {
        AuthQuirk::InstagramLongLived { graph_url } => Some(graph_url.as_str()),
        _ => None,
    })
}

/// Days before an Instagram long-lived token expires that it is renewed.
pub(crate) const INSTAGRAM_RENEW_DAYS: i64 = 10;

/// Instagram Login's long-lived token, asked at `{graph_url}/{endpoint}`:
/// `access_token?grant_type=ig_exchange_token&client_secret=..&access_token=SHORT`
/// after a login, `refresh_access_token?grant_type=ig_refresh_token&access_token=CURRENT`
/// to renew one (at least a day old and not expired).
pub(crate) async fn instagram_long_lived(
    http: &TokenHttp,
    graph_url: &str,
    client_secret: Option<&Secret>,
    token: &Secret,
) -> Result<MetaToken, AuthError> {
    let mut url = parse_url(graph_url)?;
    let endpoint = if client_secret.is_some() {
        "access_token"
    } else {
        "refresh_access_token"
    };
    url.path_segments_mut()
        .map_err(|()| AuthError::Config(format!("Instagram Graph URL {graph_url} has no path")))?
        .pop_if_empty()
        .push(endpoint);
    match client_secret {
        Some(secret) => url
            .query_pairs_mut()
            .append_pair("grant_type", "ig_exchange_token")
            .append_pair("client_secret", secret.expose()),
        None => url
            .query_pairs_mut()
            .append_pair("grant_type", "ig_refresh_token"),
    };
    url.query_pairs_mut()
        .append_pair("access_token", token.expose());
    let (status, body) = http.get_json(&url, None).await?;
    let secrets: Vec<&Secret> = client_secret.into_iter().chain([token]).collect();
    let token = access_token_of(&url, status, &body, &secrets)?;
    Ok(MetaToken {
        token,
        expires_in: expires_in(&body),
    })
}

/// The Page token of `page_id`, read with a long-lived user token:
/// `GET {graph root}/{page_id}?fields=access_token`. Derived from a long-lived
/// user token, it has no expiry of its own.
pub(crate) async fn meta_page_token(
    http: &TokenHttp,
    token_url: &str,
    page_id: &str,
    user_token: &Secret,
) -> Result<Secret, AuthError> {
    let mut url = graph_root(token_url)?;
    url.path_segments_mut()
        .map_err(|()| AuthError::Config(format!("token URL {token_url} has no path")))?
        .push(page_id);
    url.query_pairs_mut().append_pair("fields", "access_token");
    let (status, body) = http.get_json(&url, Some(user_token)).await?;
    access_token_of(&url, status, &body, &[user_token]).map_err(|e| match e {
        AuthError::Endpoint { path, message } if status == 200 => AuthError::Endpoint {
            path,
            message: format!(
                "{message}; the login has no Page role on page {page_id}, or the page id is wrong"
            ),
        },
        e => e,
    })
}

/// The Graph API root of a Meta token URL: `https://graph.facebook.com/v21.0`
/// for `https://graph.facebook.com/v21.0/oauth/access_token`.
fn graph_root(token_url: &str) -> Result<url::Url, AuthError> {
    let url = parse_url(token_url)?;
    let path = url.path().trim_end_matches('/');
    let Some(root) = path.strip_suffix("/oauth/access_token") else {
        return Err(AuthError::Config(format!(
            "token URL path {} does not end in /oauth/access_token, so the Graph API root for the Page token is unknown",
            url.path()
        )));
    };
    let mut root_url = url.clone();
    root_url.set_path(root);
    root_url.set_query(None);
    Ok(root_url)
}

fn parse_url(text: &str) -> Result<url::Url, AuthError> {
    url::Url::parse(text).map_err(|e| AuthError::Config(format!("token URL is not a URL: {e}")))
}

/// The `access_token` of a Graph answer, or the Graph error it holds:
/// `{"error":{"message":"..","type":"OAuthException","code":190}}`.
fn access_token_of(
    url: &url::Url,
    status: u16,
    body: &serde_json::Value,
    secrets: &[&Secret],
) -> Result<Secret, AuthError> {
    let path = url_path(url.as_str());
    if let Some(error) = body.get("error") {
        let message = error
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no message");
        let code = error.get("code").map(|c| c.to_string()).unwrap_or_default();
        return Err(AuthError::Refused {
            path,
            code: format!("Graph error {code}"),
            description: format!(": {}", scrub(message, secrets)),
        });
    }
    match body.get("access_token").and_then(serde_json::Value::as_str) {
        Some(token) if status == 200 && !token.is_empty() => Ok(Secret::new(token)),
        _ => Err(AuthError::Endpoint {
            path,
            message: format!("answered {status} without an access_token"),
        }),
    }
}

/// `text` with every known secret replaced, for messages built from what a
/// server said (a server may echo what it was sent).
pub(crate) fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut text = text.to_string();
    for secret in secrets {
        if secret.expose().len() >= 4 {
            text = text.replace(secret.expose(), "[redacted]");
        }
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn form(request: &oauth2::HttpRequest) -> Vec<(String, String)> {
        url::form_urlencoded::parse(request.body())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn tiktok_names_the_client_key_and_joins_scopes_with_commas() {
        let quirks = [AuthQuirk::ClientKeyParam, AuthQuirk::CommaSeparatedScopes];
        let url = url::Url::parse(
            "https://www.tiktok.com/v2/auth/authorize/?response_type=code&client_id=abc&scope=user.info.basic+video.list&state=s",
        )
        .unwrap();
        let adjusted = adjust_authorize_url(&url, &quirks);
        assert_eq!(
            adjusted.query(),
            Some("response_type=code&client_key=abc&scope=user.info.basic%2Cvideo.list&state=s")
        );
        let request = oauth2::http::Request::builder()
            .method("POST")
            .uri("https://open.tiktokapis.com/v2/oauth/token/")
            .header("content-length", "60")
            .body(
                b"grant_type=refresh_token&refresh_token=rt&client_id=abc&client_secret=s".to_vec(),
            )
            .unwrap();
        let rewritten = rewrite_token_request(request, &quirks);
        assert_eq!(
            form(&rewritten),
            [
                ("grant_type".into(), "refresh_token".into()),
                ("refresh_token".into(), "rt".into()),
                ("client_key".into(), "abc".into()),
                ("client_secret".into(), "s".into()),
            ]
        );
        assert!(rewritten.headers().get("content-length").is_none());
        assert!(matches!(auth_type(&quirks), oauth2::AuthType::RequestBody));
    }

    #[test]
    fn google_asks_for_offline_access_with_consent() {
        let url =
            url::Url::parse("https://accounts.google.com/o/oauth2/v2/auth?client_id=a&scope=s")
                .unwrap();
        let adjusted = adjust_authorize_url(&url, &[AuthQuirk::GoogleOfflineAccess]);
        assert_eq!(
            adjusted.query(),
            Some("client_id=a&scope=s&access_type=offline&prompt=consent")
        );
        assert_eq!(adjust_authorize_url(&url, &[]), url);
    }

    #[test]
    fn secrets_go_in_the_body_only_where_the_platform_wants_them() {
        assert!(matches!(auth_type(&[]), oauth2::AuthType::BasicAuth));
        assert!(matches!(
            auth_type(&[AuthQuirk::ClientSecretInBody]),
            oauth2::AuthType::RequestBody
        ));
        assert!(keeps_unrotated_refresh_token(&[]));
        assert!(!keeps_unrotated_refresh_token(&[
            AuthQuirk::RotatingRefreshToken
        ]));
    }

    #[test]
    fn the_graph_root_comes_from_the_token_url() {
        let root = graph_root("https://graph.facebook.com/v21.0/oauth/access_token").unwrap();
        assert_eq!(root.as_str(), "https://graph.facebook.com/v21.0");
        assert!(graph_root("https://example.com/token").is_err());
        let quirks = [AuthQuirk::MetaPageToken {
            page_setting: "page_id".into(),
        }];
        assert_eq!(meta_page_setting(&quirks), Some("page_id"));
        assert_eq!(meta_page_setting(&[]), None);
    }

    #[test]
    fn graph_errors_are_reported_without_secrets() {
        let url = url::Url::parse("https://graph.facebook.com/v21.0/oauth/access_token").unwrap();
        let secret = Secret::new("EAAB-short-token");
        let body = serde_json::json!({"error": {"message": "Invalid token EAAB-short-token", "type": "OAuthException", "code": 190}});
        let err = access_token_of(&url, 400, &body, &[&secret])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Graph error 190") && err.contains("/v21.0/oauth/access_token"),
            "{err}"
        );
        assert!(!err.contains("EAAB-short-token"), "{err}");
        let err = access_token_of(&url, 200, &serde_json::json!({}), &[]).unwrap_err();
        assert!(err.to_string().contains("without an access_token"));
    }
}
