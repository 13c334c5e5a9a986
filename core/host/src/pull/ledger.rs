//! Quota units and stated quotas recorded in the store, so budgets survive restarts.

use crate::http::{LedgerError, QuotaLedger};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use tally_model::StatedQuota;
use tally_store::Store;

/// The store as the host client's quota ledger.
pub struct StoreLedger {
    store: Arc<Mutex<Store>>,
}

impl StoreLedger {
    /// A ledger writing to `store`.
    pub fn new(store: Arc<Mutex<Store>>) -> StoreLedger {
        StoreLedger { store }
    }
}

impl QuotaLedger for StoreLedger {
    fn used(&self, key: &str, window_start: DateTime<Utc>) -> Result<u64, LedgerError> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        Ok(store.quota_used(key, window_start)?)
    }

    fn add(&self, key: &str, window_start: DateTime<Utc>, units: u64) -> Result<u64, LedgerError> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        Ok(store.quota_add(key, window_start, units)?)
    }

    fn state(&self, key: &str, stated: &StatedQuota) -> Result<(), LedgerError> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        Ok(store.quota_state(key, stated)?)
    }

    fn stated(&self, key: &str) -> Result<Vec<StatedQuota>, LedgerError> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        Ok(store.quota_stated(key)?)
    }
}
