//! `where` guards: tests that must all hold for a record, a point, a fan-out
//! item or an error rule to apply.

use crate::error::{ManifestError, Source};
use crate::spec::RawGuard;
use crate::template::{toml_to_json, Names, Scope, Template};
use serde_json::Value;

/// One compiled guard.
#[derive(Debug, Clone)]
pub struct Guard {
    value: Template,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Equals(Template),
    NotEquals(Template),
    In(Vec<Value>),
    Present(bool),
    Contains(Template),
}

/// Compiles a `where` list.
pub fn compile(
    raw: &[RawGuard],
    names: &Names,
    src: &Source<'_>,
) -> Result<Vec<Guard>, ManifestError> {
    raw.iter().map(|g| compile_one(g, names, src)).collect()
}

fn compile_one(raw: &RawGuard, names: &Names, src: &Source<'_>) -> Result<Guard, ManifestError> {
    let tpl = |t: &crate::spec::Tpl| {
        Template::compile(t.get_ref(), names).map_err(|e| src.template(t.span(), e))
    };
    let value = tpl(&raw.value)?;
    let mut tests = Vec::new();
    if let Some(t) = &raw.equals {
        tests.push(Test::Equals(tpl(t)?));
    }
    if let Some(t) = &raw.not_equals {
        tests.push(Test::NotEquals(tpl(t)?));
    }
    if let Some(list) = &raw.one_of {
        tests.push(Test::In(list.get_ref().iter().map(toml_to_json).collect()));
    }
    if let Some(present) = raw.present {
        tests.push(Test::Present(present));
    }
    if let Some(t) = &raw.contains {
        tests.push(Test::Contains(tpl(t)?));
    }
    if tests.len() != 1 {
        return Err(src.at(
            raw.value.span(),
            "a guard has a `value` and exactly one test: equals, not_equals, in, present or contains",
        ));
    }
    let test = tests.remove(0);
    Ok(Guard { value, test })
}

/// Whether every guard holds in `scope`.
pub fn all(guards: &[Guard], scope: &Scope<'_>) -> bool {
    guards.iter().all(|g| g.holds(scope))
}

impl Guard {
    fn holds(&self, scope: &Scope<'_>) -> bool {
        let value = self.value.eval(scope);
        match &self.test {
            Test::Equals(t) => same(&value, &t.eval(scope)),
            Test::NotEquals(t) => !same(&value, &t.eval(scope)),
            Test::In(list) => list.iter().any(|v| same(&value, v)),
            Test::Present(want) => value.is_null() != *want,
            Test::Contains(t) => match (value.as_ref(), t.eval(scope).as_ref()) {
                (Value::String(hay), Value::String(needle)) => {
                    hay.to_lowercase().contains(&needle.to_lowercase())
                }
                _ => false,
            },
        }
    }
}

/// Equality that treats `1` and `1.0` alike, since platforms mix them.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
