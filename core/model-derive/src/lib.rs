//! `#[derive(Settings)]`: a connector's `[sources.settings]` struct is the one
//! place its settings are written.
//!
//! Why a derive: a setting used to be written four times (the `///` on the
//! field, a `SettingSpec` string in `describe()`, `sample.toml` and the README),
//! and only the names were checked. The derive reads what serde already reads
//! (the field name or its `#[serde(rename)]`, whether it has a
//! `#[serde(default)]`) and the field's `///` text, so the `SettingSpec` list the
//! host validates config with cannot disagree with the struct that decodes it.
//! The testkit then checks `sample.toml` and the README against that list.
//!
//! Rules, each a compile error naming the field when broken:
//! - every field has a `///` doc: it is the description users see;
//! - a field is required unless it has `#[serde(default)]`,
//!   `#[serde(default = "path")]` or an `Option<_>` type; the default's value
//!   (from `Default` or the named function) is recorded as text;
//! - only structs with named fields; `rename_all` is refused rather than guessed.
//!
//! `#[settings(check = "path")]` on the struct names a
//! `fn(Self) -> Result<Self, ConnectorError>` that `Settings::check` runs after
//! decoding, for the rules serde cannot express (an account address's shape).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Expr, Fields, Lit, Meta, Type};

/// Implements `tally_model::Settings` for a struct of named fields; see the crate docs.
#[proc_macro_derive(Settings, attributes(settings))]
pub fn derive_settings(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// What `#[serde(...)]` says about one field or the struct.
#[derive(Default)]
struct Serde {
    rename: Option<String>,
    /// `Some(None)`: `#[serde(default)]`; `Some(Some(path))`: `#[serde(default = "path")]`.
    default: Option<Option<syn::Path>>,
    rename_all: bool,
}

fn serde_attrs(attrs: &[syn::Attribute]) -> syn::Result<Serde> {
    let mut out = Serde::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                out.rename = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            } else if meta.path.is_ident("default") {
                out.default = Some(match meta.value() {
                    Ok(value) => Some(value.parse::<syn::LitStr>()?.parse()?),
                    Err(_) => None,
                });
            } else if meta.path.is_ident("rename_all") {
                out.rename_all = true;
                meta.value()?.parse::<syn::LitStr>()?;
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.input.parse::<proc_macro2::Group>()?;
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The `///` lines of an item, joined by spaces.
fn doc(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .filter(|line| !line.is_empty())
        .collect();
    lines.join(" ")
}

/// The path in `#[settings(check = "path")]`, if given.
fn check_fn(attrs: &[syn::Attribute]) -> syn::Result<Option<syn::Path>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("settings")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("check") {
                found = Some(meta.value()?.parse::<syn::LitStr>()?.parse()?);
                Ok(())
            } else {
                Err(meta.error("#[settings(..)] takes only `check = \"path\"`"))
            }
        })?;
    }
    Ok(found)
}

fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Settings)] needs a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Settings)] needs a struct with named fields",
        ));
    };
    let outer = serde_attrs(&input.attrs)?;
    if outer.rename_all {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(Settings)] does not follow `rename_all`; rename fields one by one",
        ));
    }
    let mut specs = Vec::new();
    for field in &fields.named {
        let Some(ident) = &field.ident else { continue };
        let serde = serde_attrs(&field.attrs)?;
        let name = serde
            .rename
            .clone()
            .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_string());
        let description = doc(&field.attrs);
        if description.is_empty() {
            return Err(syn::Error::new_spanned(
                ident,
                format!("setting `{name}` has no `///` doc; it is the description `tally check` and the README show"),
            ));
        }
        let ty = &field.ty;
        let default = match (&serde.default, &outer.default) {
            (Some(Some(path)), _) => Some(quote! { #path() }),
            (Some(None), _) | (None, Some(_)) => {
                Some(quote! { <#ty as ::core::default::Default>::default() })
            }
            (None, None) => None,
        };
        specs.push(match default {
            Some(value) if !is_option(ty) => quote! {
                ::tally_model::SettingSpec::optional(#name, #description).with_default(&#value)
            },
            Some(_) => quote! { ::tally_model::SettingSpec::optional(#name, #description) },
            None if is_option(ty) => {
                quote! { ::tally_model::SettingSpec::optional(#name, #description) }
            }
            None => quote! { ::tally_model::SettingSpec::required(#name, #description) },
        });
    }
    let check = check_fn(&input.attrs)?.map(|path| {
        quote! {
            fn check(self) -> ::core::result::Result<Self, ::tally_model::ConnectorError> {
                #path(self)
            }
        }
    });
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::tally_model::Settings for #ident #ty_generics #where_clause {
            fn specs() -> ::std::vec::Vec<::tally_model::SettingSpec> {
                ::std::vec![#(#specs),*]
            }
            #check
        }
    })
}
