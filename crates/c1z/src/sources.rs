//! Map-like access to `GrantSources`, whose entries are stored as a list
//! sorted by key (see the note in `grant.proto`).

use crate::v2::grant_sources::{GrantSource, SourcesEntry};
use crate::v2::GrantSources;

impl GrantSources {
    /// The source recorded for an entitlement id.
    pub fn get(&self, key: &str) -> Option<&GrantSource> {
        self.position(key)
            .ok()
            .and_then(|i| self.sources[i].value.as_ref())
    }

    /// The source recorded for an entitlement id, for changing it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut GrantSource> {
        match self.position(key) {
            Ok(i) => Some(
                self.sources[i]
                    .value
                    .get_or_insert_with(GrantSource::default),
            ),
            Err(_) => None,
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Adds or replaces the source of an entitlement id, keeping key order.
    pub fn insert(&mut self, key: &str, source: GrantSource) {
        match self.position(key) {
            Ok(i) => self.sources[i].value = Some(source),
            Err(i) => self.sources.insert(
                i,
                SourcesEntry {
                    key: key.to_string(),
                    value: Some(source),
                },
            ),
        }
    }

    /// The entitlement ids, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().map(|e| e.key.as_str())
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.sources.binary_search_by(|e| e.key.as_str().cmp(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn indirect_source_keeps_its_value_field() {
        let mut sources = GrantSources::default();
        sources.insert("b", GrantSource { is_direct: true });
        sources.insert("a", GrantSource { is_direct: false });
        assert_eq!(sources.keys().collect::<Vec<_>>(), vec!["a", "b"]);
        let bytes = sources.encode_to_vec();
        // Entry "a": key (0A 01 61) then the empty value (12 00), as protobuf-go writes it.
        assert_eq!(&bytes[..7], &[0x0a, 0x05, 0x0a, 0x01, b'a', 0x12, 0x00]);
        assert!(!sources.get("a").unwrap().is_direct);
    }
}
