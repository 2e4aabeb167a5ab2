//! KSUIDs, the sync ids of c1z files: 27 base62 characters encoding a 4-byte
//! timestamp (seconds since 2014-05-13T16:53:20Z) and 16 random bytes, so that
//! lexicographic order is creation order.

use rand::RngCore;

const EPOCH: i64 = 1_400_000_000;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new KSUID for the given Unix time in seconds.
pub fn new_at(unix_seconds: i64) -> String {
    let mut bytes = [0u8; 20];
    let stamp = (unix_seconds - EPOCH).clamp(0, u32::MAX as i64) as u32;
    bytes[..4].copy_from_slice(&stamp.to_be_bytes());
    rand::thread_rng().fill_bytes(&mut bytes[4..]);
    encode(&bytes)
}

/// A new KSUID for the current time.
pub fn new() -> String {
    new_at(time::OffsetDateTime::now_utc().unix_timestamp())
}

/// The Unix time in seconds a KSUID was made at, if it is one.
pub fn timestamp(ksuid: &str) -> Option<i64> {
    if ksuid.len() != 27 {
        return None;
    }
    let mut value = [0u32; 5]; // 160-bit big-endian number in 32-bit limbs
    for ch in ksuid.bytes() {
        let digit = ALPHABET.iter().position(|&c| c == ch)? as u64;
        let mut carry = digit;
        for limb in value.iter_mut().rev() {
            let acc = (*limb as u64) * 62 + carry;
            *limb = acc as u32;
            carry = acc >> 32;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(value[0] as i64 + EPOCH)
}

fn encode(bytes: &[u8; 20]) -> String {
    let mut number: Vec<u32> = bytes
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut digits = Vec::with_capacity(27);
    while number.iter().any(|&limb| limb != 0) {
        let mut remainder = 0u64;
        for limb in number.iter_mut() {
            let acc = (remainder << 32) | *limb as u64;
            *limb = (acc / 62) as u32;
            remainder = acc % 62;
        }
        digits.push(ALPHABET[remainder as usize]);
    }
    while digits.len() < 27 {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("base62 alphabet is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_golden_sync_id() {
        // go-iam.c1z was written at 2026-12-04 19:48:51 UTC.
        assert_eq!(
            timestamp("3N1TmQRK35RiH04kun3otT8uXXe"),
            Some(1_796_413_731)
        );
    }

    #[test]
    fn round_trips_time_and_sorts_by_time() {
        let a = new_at(1_796_413_731);
        let b = new_at(1_796_413_732);
        assert_eq!(a.len(), 27);
        assert_eq!(timestamp(&a), Some(1_796_413_731));
        assert!(a < b);
    }
}
