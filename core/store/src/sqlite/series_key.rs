//! A series' place in the series index: a 64-bit hash of the part of its
//! natural key that varies most.
//!
//! Every post of a pull is a new series per metric, so a first pull of 10,000
//! posts creates 40,000 series. Indexed by (source, metric, dimensions, entity
//! kind, entity id), each insert compared long text (`at://did:plc:…/post/…`)
//! at every level of the B-tree and most of the pull's CPU went there. The
//! index now orders series by (source, metric, this hash) before the text
//! columns, so a search compares two short strings and one integer and the
//! text only on an equal hash; the full key stays in the unique index, so two
//! keys with the same hash are still two series.
//!
//! Schema version 8 placed subjects (source, entity, dimensions) in the
//! subject index by the same hash, and version 9 dropped it for entity order
//! (see that migration). The migrations up to version 8 still compute it,
//! through the SQL function [`SQL_FUNCTION`], so it must never change:
//! FNV-1a over the three fields, each preceded by its length so that no two
//! different keys give the same bytes.

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

/// The SQL name of [`series_key_hash`], for the migration that fills the column.
pub(super) const SQL_FUNCTION: &str = "tally_series_key_hash";

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The stored hash of a series key's dimensions and entity.
pub(super) fn series_key_hash(dimensions: &str, entity_kind: &str, entity_id: &str) -> i64 {
    let mut hash = FNV_OFFSET;
    for field in [dimensions, entity_kind, entity_id] {
        let length = (field.len() as u64).to_le_bytes();
        for byte in length.iter().chain(field.as_bytes()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    // SQLite's integers are signed: keep all 64 bits.
    hash as i64
}

/// Makes [`series_key_hash`] callable from SQL on `conn`.
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        SQL_FUNCTION,
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let dimensions: String = ctx.get(0)?;
            let entity_kind: String = ctx.get(1)?;
            let entity_id: String = ctx.get(2)?;
            Ok(series_key_hash(&dimensions, &entity_kind, &entity_id))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::series_key_hash;

    #[test]
    fn the_hash_is_the_one_stored_files_hold() {
        // Stored in every file: a change here would orphan every series.
        // The value is FNV-1a 64 of the length-prefixed fields, computed apart.
        assert_eq!(
            series_key_hash("{}", "account", "alice"),
            8_410_020_786_842_639_534
        );
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        assert_ne!(
            series_key_hash("{}", "post", "ab"),
            series_key_hash("{}", "posta", "b")
        );
    }
}
