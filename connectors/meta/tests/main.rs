//! The Meta connectors against mock Graph servers through the real host client.
