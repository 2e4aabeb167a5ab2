//! AWS knowledge the reports need: account ids in ARNs and resource ids,
//! administrator-equivalent managed policies, and policy documents that
//! allow every action on every resource.

use serde_json::Value;

/// The 12-digit account id inside an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:…`).
pub fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let account = parts.nth(3)?;
    is_account_id(account).then_some(account)
}

/// Whether a string is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account id at the end of a permission set assignment id `<psArn>-<account>`.
pub fn binding_account(binding_id: &str) -> Option<&str> {
    let (_, account) = binding_id.rsplit_once('-')?;
    is_account_id(account).then_some(account)
}

/// The permission set ARN at the start of a permission set assignment id `<psArn>-<account>`.
pub fn binding_permission_set(binding_id: &str) -> Option<&str> {
    binding_account(binding_id).map(|a| &binding_id[..binding_id.len() - a.len() - 1])
}

/// AWS managed policies that grant administrator access or can grant it to
/// themselves, with the reason shown in reports.
pub const ADMIN_EQUIVALENT_POLICIES: &[(&str, &str)] = &[
    (
        "AdministratorAccess",
        "AWS managed policy AdministratorAccess allows every action on every resource",
    ),
    (
        "IAMFullAccess",
        "AWS managed policy IAMFullAccess can grant any permission, including to itself",
    ),
];

/// The reason a managed policy ARN is administrator-equivalent, if it is.
/// Matches AWS managed policies (`arn:PARTITION:iam::aws:policy/NAME`) in any partition.
pub fn admin_equivalent_policy(arn: &str) -> Option<&'static str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != "aws" {
        return None;
    }
    let name = parts[5].strip_prefix("policy/")?.rsplit('/').next()?;
    ADMIN_EQUIVALENT_POLICIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, reason)| *reason)
}

/// Whether a policy document (JSON, or URL-encoded JSON as IAM returns it)
/// has an `Allow` statement with action `*` on resource `*`.
pub fn allows_everything(document: &str) -> bool {
    let text = if document.trim_start().starts_with('{') {
        document.to_string()
    } else {
        percent_decode(document)
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return false,
    };
    statements.iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && contains_wildcard(s.get("Action"), &["*", "*:*"])
            && contains_wildcard(s.get("Resource"), &["*"])
    })
}

fn contains_wildcard(value: Option<&Value>, wildcards: &[&str]) -> bool {
    match value {
        Some(Value::String(s)) => wildcards.contains(&s.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .any(|v| v.as_str().is_some_and(|s| wildcards.contains(&s))),
        _ => false,
    }
}

/// Decodes `%XX` escapes and `+` as in `application/x-www-form-urlencoded`.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes[i] {
            b'%' if i + 2 < bytes.len() => hex_value(bytes[i + 1])
                .zip(hex_value(bytes[i + 2]))
                .map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_from_arns_and_bindings() {
        assert_eq!(
            arn_account("arn:aws:iam::123456789012:user/a"),
            Some("123456789012")
        );
        assert_eq!(
            arn_account("arn:aws:iam::123456789012:user/a::inline::p"),
            Some("123456789012")
        );
        assert_eq!(
            arn_account("arn:aws:iam::aws:policy/AdministratorAccess"),
            None
        );
        assert_eq!(
            arn_account("arn:aws:identitystore:us-east-1::d-1/user/u"),
            None
        );
        let binding = "arn:aws:sso:::permissionSet/ssoins-1/ps-1-111122223333";
        assert_eq!(binding_account(binding), Some("111122223333"));
        assert_eq!(
            binding_permission_set(binding),
            Some("arn:aws:sso:::permissionSet/ssoins-1/ps-1")
        );
    }

    #[test]
    fn admin_policies_in_any_partition() {
        assert!(admin_equivalent_policy("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(
            admin_equivalent_policy("arn:aws-us-gov:iam::aws:policy/AdministratorAccess").is_some()
        );
        assert!(admin_equivalent_policy("arn:aws:iam::aws:policy/ReadOnlyAccess").is_none());
        assert!(
            admin_equivalent_policy("arn:aws:iam::123456789012:policy/AdministratorAccess")
                .is_none()
        );
    }

    #[test]
    fn star_on_star_documents() {
        assert!(allows_everything(
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#
        ));
        assert!(allows_everything(
            r#"{"Statement":[{"Effect":"Allow","Action":["s3:Get*","*"],"Resource":["*"]}]}"#
        ));
        assert!(allows_everything("%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%7D"));
        assert!(!allows_everything(
            r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#
        ));
        assert!(!allows_everything(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#
        ));
        assert!(!allows_everything("not json"));
    }
}
