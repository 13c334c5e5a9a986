//! The simulated platforms and where each one is mounted.

/// One simulated platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Platform {
    YouTube,
    Mastodon,
    Bluesky,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::YouTube, Platform::Mastodon, Platform::Bluesky];

    /// The connector name, also the key in [`crate::SandboxStats::per_platform`].
    pub const fn name(self) -> &'static str {
        match self {
            Platform::YouTube => "youtube",
            Platform::Mastodon => "mastodon",
            Platform::Bluesky => "bluesky",
        }
    }

    /// The documented API root (what a connector's `base_url` points at).
    pub const fn api_root(self) -> &'static str {
        match self {
            Platform::YouTube => "/youtube/v3",
            Platform::Mastodon => "/mastodon",
            Platform::Bluesky => "/bluesky/xrpc",
        }
    }

    pub fn from_name(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.name() == name)
    }

    pub const fn index(self) -> usize {
        match self {
            Platform::YouTube => 0,
            Platform::Mastodon => 1,
            Platform::Bluesky => 2,
        }
    }
}
