//! What a conformance run found: one outcome per check, printable as the
//! failure message of a test.

use std::fmt;

/// One conformance check (see the module docs for exactly what each asserts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// The description is valid and fits the fixtures.
    Description,
    /// `check` names the account.
    AccountCheck,
    /// Every emitted point fits the canonical schema.
    Schema,
    /// Natural keys are unique within a pull.
    NaturalKeys,
    /// Pagination is followed to the end, each page once.
    Pagination,
    /// A 429 is retried by the host, `Retry-After` waited out, and the pull still succeeds.
    Retry429,
    /// A 5xx is retried by the host and the pull still succeeds.
    Retry5xx,
    /// A 401 becomes the host's auth error.
    Unauthorized401,
    /// Malformed JSON becomes an error naming the path and, through the engine, the source.
    MalformedJson,
    /// An HTML page served with status 200 becomes a decode error quoting it.
    Html200,
    /// A spent quota budget stops the pull before the next request is sent.
    QuotaStop,
    /// An empty account gives no item points and no error.
    EmptyAccount,
    /// Resuming from saved state neither skips nor repeats records.
    Resume,
}

impl Check {
    /// Every check, in the order they run.
    pub const ALL: [Check; 13] = [
        Check::Description,
        Check::AccountCheck,
        Check::Schema,
        Check::NaturalKeys,
        Check::Pagination,
        Check::Retry429,
        Check::Retry5xx,
        Check::Unauthorized401,
        Check::MalformedJson,
        Check::Html200,
        Check::QuotaStop,
        Check::EmptyAccount,
        Check::Resume,
    ];

    /// The check's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Description => "description",
            Check::AccountCheck => "check",
            Check::Schema => "schema",
            Check::NaturalKeys => "natural-keys",
            Check::Pagination => "pagination",
            Check::Retry429 => "429-retry",
            Check::Retry5xx => "5xx-retry",
            Check::Unauthorized401 => "401-auth",
            Check::MalformedJson => "malformed-json",
            Check::Html200 => "html-200",
            Check::QuotaStop => "quota-stop",
            Check::EmptyAccount => "empty-account",
            Check::Resume => "resume",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one check ended, with what it saw or why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check passed; the text says what it saw.
    Passed(String),
    /// The check failed; the text says why.
    Failed(String),
}

impl Outcome {
    /// Whether the check passed.
    pub fn is_passed(&self) -> bool {
        matches!(self, Outcome::Passed(_))
    }

    /// What the check saw, or why it failed.
    pub fn text(&self) -> &str {
        match self {
            Outcome::Passed(text) | Outcome::Failed(text) => text,
        }
    }
}

impl From<Result<String, String>> for Outcome {
    fn from(result: Result<String, String>) -> Outcome {
        match result {
            Ok(seen) => Outcome::Passed(seen),
            Err(why) => Outcome::Failed(why),
        }
    }
}

/// The outcome of every check for one connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    connector: String,
    outcomes: Vec<(Check, Outcome)>,
}

impl Report {
    /// An empty report for the connector called `connector`.
    pub(super) fn new(connector: &str) -> Report {
        Report {
            connector: connector.to_string(),
            outcomes: Vec::new(),
        }
    }

    /// Records how `check` ended.
    pub(super) fn record(&mut self, check: Check, outcome: impl Into<Outcome>) {
        self.outcomes.push((check, outcome.into()));
    }

    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// Every check with its outcome, in the order they ran.
    pub fn outcomes(&self) -> &[(Check, Outcome)] {
        &self.outcomes
    }

    /// How `check` ended.
    pub fn outcome(&self, check: Check) -> Option<&Outcome> {
        self.outcomes
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, o)| o)
    }

    /// The checks that failed.
    pub fn failed(&self) -> Vec<Check> {
        self.outcomes
            .iter()
            .filter(|(_, o)| !o.is_passed())
            .map(|(c, _)| *c)
            .collect()
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|(_, o)| o.is_passed())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failed().len();
        if failed == 0 {
            writeln!(
                f,
                "connector `{}` passed all {} conformance checks:",
                self.connector,
                self.outcomes.len()
            )?;
        } else {
            writeln!(
                f,
                "connector `{}` failed {failed} of {} conformance checks:",
                self.connector,
                self.outcomes.len()
            )?;
        }
        for (check, outcome) in &self.outcomes {
            let mark = if outcome.is_passed() { "ok  " } else { "FAIL" };
            writeln!(f, "  {mark} {check}: {}", outcome.text())?;
        }
        Ok(())
    }
}
