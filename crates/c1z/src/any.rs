//! Packing and unpacking of `google.protobuf.Any` annotations.
//!
//! Annotations are a list of `Any` values whose type URL is
//! `type.googleapis.com/<full message name>`. An empty message is packed
//! with no `value` bytes at all, as the Go marshaller does.

use prost::{Message, Name};
use prost_types::Any;

/// Packs a message into an `Any` with the `type.googleapis.com/` type URL.
pub fn pack<M: Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

/// Whether the annotation holds a message of type `M`.
pub fn is<M: Name>(any: &Any) -> bool {
    any.type_url == M::type_url()
}

/// The first annotation of type `M` in a list, decoded.
pub fn find<M: Message + Name + Default>(annotations: &[Any]) -> Option<M> {
    annotations
        .iter()
        .find(|a| is::<M>(a))
        .and_then(|a| M::decode(a.value.as_slice()).ok())
}

/// Every annotation of type `M` in a list, decoded.
pub fn find_all<M: Message + Name + Default>(annotations: &[Any]) -> Vec<M> {
    annotations
        .iter()
        .filter(|a| is::<M>(a))
        .filter_map(|a| M::decode(a.value.as_slice()).ok())
        .collect()
}

/// Whether a list holds an annotation of type `M`.
pub fn contains<M: Name>(annotations: &[Any]) -> bool {
    annotations.iter().any(is::<M>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::{GroupTrait, V1Identifier};

    #[test]
    fn empty_message_has_no_value_bytes() {
        let any = pack(&GroupTrait::default());
        assert_eq!(
            any.type_url,
            "type.googleapis.com/c1.connector.v2.GroupTrait"
        );
        assert!(any.value.is_empty());
        // Field 2 must be absent on the wire, not present with length zero.
        assert_eq!(any.encode_to_vec()[0], 0x0a);
        assert_eq!(any.encode_to_vec().len(), 2 + any.type_url.len());
    }

    #[test]
    fn finds_by_type() {
        let list = vec![
            pack(&GroupTrait::default()),
            pack(&V1Identifier { id: "x".into() }),
        ];
        assert_eq!(find::<V1Identifier>(&list).unwrap().id, "x");
        assert!(contains::<GroupTrait>(&list));
    }
}
