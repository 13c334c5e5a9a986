//! Which cost-unit budget a source spends, under the same key the host client
//! charges, so `tally plan` and `/metrics` read the ledger the pulls write.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tally_config::SourceConfig;
use tally_host::auth::TokenProviders;
use tally_host::http::quota_window;
use tally_host::pull::credential_for;
use tally_model::{Description, QuotaWindow};

/// A quota budget shared by every source with the same platform and credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Ledger key: platform and credential fingerprint (never the secret).
    pub key: String,
    /// Units per window.
    pub limit: u64,
    /// Window length.
    pub window: QuotaWindow,
    /// Zone the window resets in.
    pub tz: Tz,
}

impl Budget {
    /// The budget `source` spends, `Ok(None)` when its connector counts no
    /// units; an error when its credential cannot be built (then nothing is
    /// sent). OAuth2 sources need the token providers for their fingerprint.
    pub fn of(
        source: &SourceConfig,
        description: &Description,
        tokens: Option<&TokenProviders>,
    ) -> Result<Option<Budget>, String> {
        let Some(quota) = &description.quota else {
            return Ok(None);
        };
        let credential = credential_for(source, description, tokens)?;
        let limit = source.quota.as_ref().map_or(quota.units, |q| q.units);
        Ok(Some(Budget {
            key: format!("{}#{}", description.platform, credential.fingerprint()),
            limit,
            window: quota.window,
            tz: quota.timezone.parse().unwrap_or(chrono_tz::UTC),
        }))
    }

    /// Start and reset of the window containing `at`.
    pub fn window_at(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        quota_window(self.window, self.tz, at)
    }
}
