//! ARNs and IAM role trust policies, parsed from text.
//!
//! This crate has no AWS SDK in it, so its parsers build in seconds and can
//! be fuzzed on their own (`fuzz/fuzz_targets/trust_policy.rs`).

pub mod arn;
pub mod trust;

pub use arn::Arn;
pub use trust::{PrincipalKind, Statement, TrustPolicy};
