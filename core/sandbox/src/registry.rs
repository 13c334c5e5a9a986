//! Reverse look-ups the platforms' id schemes need.
//!
//! Entities are derived from their public name (channel id, acct, handle),
//! but some endpoints address them by an opaque id the name cannot be
//! recovered from: a video id, a Mastodon account id, a Bluesky DID. The
//! sandbox remembers those ids when it first hands them out (in
//! `channels`/`playlistItems`, `accounts/lookup`, `getProfile`/`getAuthorFeed`),
//! exactly the calls a client must make to learn them. One entry per entity,
//! not per post, so 10,000 sources stay small.

use std::collections::HashMap;
use std::sync::RwLock;

/// Opaque id to entity name maps.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    channels: RwLock<HashMap<u64, String>>,
    accounts: RwLock<HashMap<String, String>>,
    dids: RwLock<HashMap<String, String>>,
    /// Yelp business ids and X user ids, each prefixed with its platform.
    names: RwLock<HashMap<String, String>>,
}

impl Registry {
    /// Remembers a channel under the prefix its video ids carry.
    pub fn remember_channel(&self, prefix: u64, channel_id: &str) {
        remember(&self.channels, prefix, channel_id);
    }

    pub fn channel(&self, prefix: u64) -> Option<String> {
        recall(&self.channels, &prefix)
    }

    /// Remembers a Mastodon account id as belonging to `acct`.
    pub fn remember_account(&self, id: &str, acct: &str) {
        remember(&self.accounts, id.to_string(), acct);
    }

    pub fn account(&self, id: &str) -> Option<String> {
        recall(&self.accounts, id)
    }

    /// Remembers a DID as belonging to `handle`.
    pub fn remember_did(&self, did: &str, handle: &str) {
        remember(&self.dids, did.to_string(), handle);
    }

    pub fn handle(&self, did: &str) -> Option<String> {
        recall(&self.dids, did)
    }

    /// Remembers an opaque `id` of `platform` (`yelp`, `x`) as naming `name`.
    pub fn remember_name(&self, platform: &str, id: &str, name: &str) {
        remember(&self.names, format!("{platform}:{id}"), name);
    }

    pub fn name(&self, platform: &str, id: &str) -> Option<String> {
        recall(&self.names, &format!("{platform}:{id}"))
    }
}

fn remember<K>(map: &RwLock<HashMap<K, String>>, key: K, value: &str)
where
    K: std::hash::Hash + Eq,
{
    // Read first: after warm-up every call is a hit and takes no write lock.
    let known = map
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .is_some_and(|v| v == value);
    if !known {
        map.write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, value.to_string());
    }
}

fn recall<K, Q>(map: &RwLock<HashMap<K, String>>, key: &Q) -> Option<String>
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    map.read()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers() {
        let r = Registry::default();
        assert_eq!(r.account("1"), None);
        r.remember_account("1", "alice");
        r.remember_account("1", "alice");
        assert_eq!(r.account("1").as_deref(), Some("alice"));
        r.remember_channel(7, "UCx");
        assert_eq!(r.channel(7).as_deref(), Some("UCx"));
        r.remember_did("did:plc:x", "a.test");
        assert_eq!(r.handle("did:plc:x").as_deref(), Some("a.test"));
    }
}
