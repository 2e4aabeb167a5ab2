//! Replays the trust-policy fuzz corpus (`fuzz/corpus/trust_policy`, which
//! also keeps every input that once crashed the parser) through the parsers,
//! so a regression fails the ordinary test suite, not only a fuzz run.

use std::path::PathBuf;

#[test]
fn trust_policy_corpus_parses_without_panics() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/trust_policy");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if let Ok(policy) = aws_policy::TrustPolicy::parse(&text) {
            for (_, arn) in policy.assumers() {
                assert!(
                    aws_policy::Arn::parse(&arn).is_ok(),
                    "{}: assumer {arn} is not an ARN",
                    path.display()
                );
            }
        }
        let _ = aws_policy::Arn::parse(&text);
        replayed += 1;
    }
    assert!(
        replayed >= 9,
        "the corpus in {} has its seed files",
        dir.display()
    );
}
