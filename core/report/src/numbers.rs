//! Numbers as a client reads them: thousands separated, money with two
//! decimals, ratios as percentages, and a dash where there is no figure.

/// A count or amount: `1,060`, `18.75`; `–` for none.
pub fn num(v: Option<f64>) -> String {
    match v {
        None => "–".to_string(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => group(v as i64),
        Some(v) if v.abs() >= 100.0 => group(v.round() as i64),
        Some(v) => format!("{v:.2}"),
    }
}

/// A signed change: `+60`, `-3.50`.
pub fn signed(v: Option<f64>) -> String {
    match v {
        Some(v) if v > 0.0 => format!("+{}", num(Some(v))),
        other => num(other),
    }
}

/// A share: `91.6 %`.
pub fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{:.1} %", v * 100.0))
}

/// Money: `1,500.00 USD`.
pub fn money(v: Option<f64>, currency: Option<&str>) -> String {
    match v {
        None => "–".to_string(),
        Some(v) => {
            let total = (v * 100.0).round() as i64;
            let whole = group(total / 100);
            let cents = (total % 100).abs();
            let sign = if total < 0 && total / 100 == 0 {
                "-"
            } else {
                ""
            };
            format!("{sign}{whole}.{cents:02} {}", currency.unwrap_or(""))
                .trim_end()
                .to_string()
        }
    }
}

fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(num(Some(1060.0)), "1,060");
        assert_eq!(num(Some(65.517)), "65.52");
        assert_eq!(num(None), "–");
        assert_eq!(signed(Some(60.0)), "+60");
        assert_eq!(pct(Some(0.9158)), "91.6 %");
        assert_eq!(money(Some(1500.0), Some("USD")), "1,500.00 USD");
        assert_eq!(money(Some(-0.5), Some("USD")), "-0.50 USD");
        assert_eq!(money(Some(339.999_999), None), "340.00");
    }
}
