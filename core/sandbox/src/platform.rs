//! The simulated platforms and where each one is mounted.

/// One simulated platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Platform {
    YouTube,
    Mastodon,
    Bluesky,
    Yelp,
    Eventbrite,
    SurveyMonkey,
    X,
}

impl Platform {
    /// How many platforms there are: the length of per-platform arrays.
    pub const COUNT: usize = 7;

    pub const ALL: [Platform; Platform::COUNT] = [
        Platform::YouTube,
        Platform::Mastodon,
        Platform::Bluesky,
        Platform::Yelp,
        Platform::Eventbrite,
        Platform::SurveyMonkey,
        Platform::X,
    ];

    /// The connector name, also the key in [`crate::SandboxStats::per_platform`].
    pub const fn name(self) -> &'static str {
        match self {
            Platform::YouTube => "youtube",
            Platform::Mastodon => "mastodon",
            Platform::Bluesky => "bluesky",
            Platform::Yelp => "yelp",
            Platform::Eventbrite => "eventbrite",
            Platform::SurveyMonkey => "surveymonkey",
            Platform::X => "x",
        }
    }

    /// The documented API root (what a connector's `base_url` points at).
    /// X's paths carry their version (`/2/users/...`), so its root is the host.
    pub const fn api_root(self) -> &'static str {
        match self {
            Platform::YouTube => "/youtube/v3",
            Platform::Mastodon => "/mastodon",
            Platform::Bluesky => "/bluesky/xrpc",
            Platform::Yelp => "/yelp/v3",
            Platform::Eventbrite => "/eventbrite/v3",
            Platform::SurveyMonkey => "/surveymonkey/v3",
            Platform::X => "/x",
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
            Platform::Yelp => 3,
            Platform::Eventbrite => 4,
            Platform::SurveyMonkey => 5,
            Platform::X => 6,
        }
    }
}
