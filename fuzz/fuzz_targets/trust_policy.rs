//! Feeds arbitrary text to the trust policy and ARN parsers: they must
//! return a value or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(policy) = aws_policy::TrustPolicy::parse(&text) {
        for (_, arn) in policy.assumers() {
            aws_policy::Arn::parse(&arn).expect("an assumer is a valid ARN");
        }
    }
    let _ = aws_policy::Arn::parse(&text);
});
