//! How a connector's name becomes its type's name, shared by `tally new-connector`
//! (which names the type it generates) and `build.rs` (which finds the type of
//! each built-in connector crate), so the two can never disagree.

/// The words of a connector name, capitalised: `acme-social` → `["Acme", "Social"]`.
/// Their concatenation is the connector type (`AcmeSocial`).
pub fn title_words(name: &str) -> Vec<String> {
    name.split(['-', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
