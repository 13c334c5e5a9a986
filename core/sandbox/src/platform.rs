//! The simulated platforms and where each one is mounted.

/// One simulated platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Platform {
    YouTube,
    Mastodon,
    Bluesky,
    Ga4,
    BusinessProfile,
    YoutubeAnalytics,
    Yelp,
    Eventbrite,
    SurveyMonkey,
    X,
}

impl Platform {
    /// How many platforms there are: the length of per-platform arrays.
    pub const COUNT: usize = 10;

    pub const ALL: [Platform; Platform::COUNT] = [
        Platform::YouTube,
        Platform::Mastodon,
        Platform::Bluesky,
        Platform::Ga4,
        Platform::BusinessProfile,
        Platform::YoutubeAnalytics,
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
            Platform::Ga4 => "ga4",
            Platform::BusinessProfile => "google_business_profile",
            Platform::YoutubeAnalytics => "youtube_analytics",
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
            Platform::Ga4 => "/ga4/v1beta",
            Platform::BusinessProfile => "/gbp",
            Platform::YoutubeAnalytics => "/youtube-analytics/v2",
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
            Platform::Ga4 => 3,
            Platform::BusinessProfile => 4,
            Platform::YoutubeAnalytics => 5,
            Platform::Yelp => 6,
            Platform::Eventbrite => 7,
            Platform::SurveyMonkey => 8,
            Platform::X => 9,
        }
    }
}
