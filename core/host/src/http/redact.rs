//! Keeps secrets out of traces and error messages.

/// Query parameters that carry credentials on some platform.
const SECRET_PARAMS: &[&str] = &[
    "key",
    "api_key",
    "apikey",
    "access_token",
    "token",
    "client_secret",
    "refresh_token",
    "fb_exchange_token",
    "code",
    "code_verifier",
    "id_token",
    "client_assertion",
    "password",
    "signature",
    "sig",
];

/// Headers that carry credentials on some platform (TikTok's Business API sends
/// its token as `Access-Token`, Google accepts `X-Goog-Api-Key`).
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-goog-api-key",
    "access-token",
    "x-access-token",
    "x-auth-token",
];

/// Headers as they may be traced: the value of every credential-bearing header
/// (the list above, plus `extra`, a source's configured API-key header) replaced.
pub fn redact_headers(headers: &[(String, String)], extra: Option<&str>) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let secret = SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name))
                || extra.is_some_and(|e| e.eq_ignore_ascii_case(name));
            let value = if secret {
                "[redacted]".to_string()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

/// The URL's path plus its query with every credential-bearing parameter's value
/// replaced, safe for logs: `/youtube/v3/channels?part=statistics&key=[redacted]`.
pub fn redact_url(url: &str) -> String {
    let path = tally_model::error::url_path(url);
    let Some((_, query)) = url.split_once('?') else {
        return path;
    };
    let query = query.split('#').next().unwrap_or("");
    let cleaned: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            if SECRET_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                format!("{name}=[redacted]")
            } else {
                pair.to_string()
            }
        })
        .collect();
    if cleaned.is_empty() {
        path
    } else {
        format!("{path}?{}", cleaned.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_params_are_redacted_and_others_kept() {
        let u = "http://127.0.0.1:1/youtube/v3/channels?part=statistics&key=AIzaSECRET&id=UC1";
        assert_eq!(
            redact_url(u),
            "/youtube/v3/channels?part=statistics&key=[redacted]&id=UC1"
        );
        let u = "https://h/api?access_token=abc";
        assert_eq!(redact_url(u), "/api?access_token=[redacted]");
        assert_eq!(redact_url("https://h/p"), "/p");
        let u = "https://h/oauth/access_token?grant_type=fb_exchange_token&fb_exchange_token=EAAB&client_secret=s";
        assert_eq!(
            redact_url(u),
            "/oauth/access_token?grant_type=fb_exchange_token&fb_exchange_token=[redacted]&client_secret=[redacted]"
        );
    }

    #[test]
    fn credential_headers_are_redacted_and_others_kept() {
        let headers = vec![
            ("Authorization".to_string(), "Bearer abc".to_string()),
            ("accept".to_string(), "application/json".to_string()),
            ("X-Custom-Key".to_string(), "k123".to_string()),
            ("Access-Token".to_string(), "act.1".to_string()),
        ];
        let shown = redact_headers(&headers, Some("x-custom-key"));
        let values: Vec<&str> = shown.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            ["[redacted]", "application/json", "[redacted]", "[redacted]"]
        );
    }
}
