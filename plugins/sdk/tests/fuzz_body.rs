//! What must hold for any bytes a plugin hands the host, run by the property tests
//! (`properties.rs`) and by the fuzz target `plugin_boundary` (`fuzz/`).

use tally_model::ConnectorError;
use tally_plugin_sdk::points::{decode_batch, encode_batch};
use tally_plugin_sdk::wire::{to_json, WireContext, WireError, WireRequestHead, WireResponseHead};

/// A point batch: never a panic; an error names a byte offset inside the batch;
/// a batch that reads re-encodes to one that reads back the same points.
pub fn batch(bytes: &[u8]) {
    match decode_batch(bytes) {
        Ok(points) => {
            let mut again = Vec::new();
            encode_batch(&points, &mut again);
            let back = decode_batch(&again).expect("a re-encoded batch reads");
            assert_eq!(back.len(), points.len());
            for (a, b) in back.iter().zip(&points) {
                // NaN is never equal to itself; compare the value's bits.
                assert_eq!(a.value.to_bits(), b.value.to_bits());
                let (mut a, mut b) = (a.clone(), b.clone());
                (a.value, b.value) = (0.0, 0.0);
                assert_eq!(a, b);
            }
        }
        Err(e) => {
            assert!(e.offset <= bytes.len(), "{e} is past the end of {bytes:?}");
            assert!(!e.message.is_empty());
            assert!(e.to_string().contains(&format!("at byte {}", e.offset)));
        }
    }
}

/// The JSON heads and errors that cross the boundary: never a panic; a head
/// keeps its fields when it becomes a request or response; an error the plugin
/// sent means the same to the host after another trip across the boundary.
pub fn wire(bytes: &[u8]) {
    let _ = serde_json::from_slice::<WireContext>(bytes);
    if let Ok(head) = serde_json::from_slice::<WireRequestHead>(bytes) {
        let request = head.clone().with_body(bytes);
        assert_eq!(WireRequestHead::of(&request), head);
    }
    if let Ok(head) = serde_json::from_slice::<WireResponseHead>(bytes) {
        let response = head.clone().with_body(bytes.to_vec());
        assert_eq!(WireResponseHead::split(response).0, head);
    }
    if let Ok(error) = serde_json::from_slice::<WireError>(bytes) {
        let _ = error.clone().into_http();
        let host: ConnectorError = error.into_connector();
        let again =
            serde_json::from_slice::<WireError>(&to_json(&WireError::from_connector(&host)))
                .expect("an encoded error decodes");
        assert_eq!(again.into_connector(), host);
    }
}

/// The fuzz target's entry: the first byte picks the decoder.
pub fn any(data: &[u8]) {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        batch(body);
    } else {
        wire(body);
    }
}
