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
    "code",
    "password",
    "signature",
    "sig",
];

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
    }
}
