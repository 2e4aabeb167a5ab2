//! Role trust policies: who may assume a role.
//!
//! IAM accepts many shapes: `Statement` as one object or a list, `Action`
//! and each principal kind as a string or a list, and a bare string
//! `Principal` such as `"*"`. Parsing fails only on text that is not JSON.
//! Parts of a valid document that it cannot read (a `NotPrincipal`, a
//! principal kind it does not know, a value of the wrong type) are listed in
//! [`TrustPolicy::unread`] for the caller to report, never dropped silently.

use serde_json::Value;

use crate::arn::Arn;

/// The principals of one trust statement.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Statement {
    pub allow: bool,
    pub actions: Vec<String>,
    /// `Principal: "*"`.
    pub anyone: bool,
    pub aws: Vec<String>,
    pub service: Vec<String>,
    pub federated: Vec<String>,
}

/// A parsed trust policy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    pub statements: Vec<Statement>,
    /// Descriptions of the parts the parser could not read, one per part.
    pub unread: Vec<String>,
}

/// The IAM principal types that can hold a role's assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    User,
    Role,
}

/// Returns the strings of a value that is a string or a list of strings.
/// Anything else is described in `unread`, named by `field`.
fn strings(value: Option<&Value>, field: &str, unread: &mut Vec<String>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                other => {
                    unread.push(format!("{field} entry {other} is not a string"));
                    None
                }
            })
            .collect(),
        Some(other) => {
            unread.push(format!("{field} {other} is neither a string nor a list"));
            Vec::new()
        }
    }
}

fn statement(s: &Value, unread: &mut Vec<String>) -> Option<Statement> {
    let Value::Object(map) = s else {
        unread.push(format!("statement {s} is not an object"));
        return None;
    };
    for key in ["NotPrincipal", "NotAction"] {
        if map.contains_key(key) {
            unread.push(format!(
                "{key} is not supported; the statement gives no grants"
            ));
        }
    }
    let mut out = Statement {
        allow: map.get("Effect").and_then(Value::as_str) == Some("Allow"),
        actions: strings(map.get("Action"), "Action", unread),
        ..Default::default()
    };
    match map.get("Principal") {
        None => {}
        Some(Value::String(s)) if s == "*" => out.anyone = true,
        Some(Value::Object(principals)) => {
            for (kind, value) in principals {
                match kind.as_str() {
                    "AWS" => {
                        let arns = strings(Some(value), "Principal AWS", unread);
                        out.anyone |= arns.iter().any(|a| a == "*");
                        out.aws.extend(arns);
                    }
                    "Service" => {
                        out.service
                            .extend(strings(Some(value), "Principal Service", unread))
                    }
                    "Federated" => {
                        out.federated
                            .extend(strings(Some(value), "Principal Federated", unread))
                    }
                    other => unread.push(format!("principal kind {other:?} is not known")),
                }
            }
        }
        Some(other) => unread.push(format!("Principal {other} is neither \"*\" nor an object")),
    }
    Some(out)
}

impl TrustPolicy {
    /// Parses a (URL-decoded) trust policy document.
    pub fn parse(document: &str) -> Result<TrustPolicy, serde_json::Error> {
        let root: Value = serde_json::from_str(document)?;
        let mut unread = Vec::new();
        let items: Vec<&Value> = match root.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            Some(other) => {
                unread.push(format!("Statement {other} is neither an object nor a list"));
                Vec::new()
            }
            None => {
                unread.push("the document has no Statement".to_string());
                Vec::new()
            }
        };
        let statements = items
            .into_iter()
            .filter_map(|s| statement(s, &mut unread))
            .collect();
        Ok(TrustPolicy { statements, unread })
    }

    /// IAM users and roles (by ARN) that an `Allow` statement lets call
    /// `sts:AssumeRole`. Whole accounts, `*` and other principals are not
    /// users or roles and are not listed.
    pub fn assumers(&self) -> Vec<(PrincipalKind, String)> {
        let mut out = Vec::new();
        for statement in self
            .statements
            .iter()
            .filter(|s| s.allow && s.actions.iter().any(|a| a == "sts:AssumeRole"))
        {
            for principal in statement.aws.iter().filter(|p| !p.is_empty()) {
                let Ok(arn) = Arn::parse(principal) else {
                    continue;
                };
                if arn.service != "iam" {
                    continue;
                }
                if arn.resource.starts_with("user/") {
                    out.push((PrincipalKind::User, principal.clone()));
                } else if arn.resource.starts_with("role/") {
                    out.push((PrincipalKind::Role, principal.clone()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_iam_accepts() {
        let single = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}"#;
        let policy = TrustPolicy::parse(single).unwrap();
        assert_eq!(
            policy.assumers(),
            vec![(
                PrincipalKind::User,
                "arn:aws:iam::111122223333:user/alice".to_string()
            )]
        );
        assert!(policy.unread.is_empty());

        let list = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:root","*"]},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"x"}}},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/eve"},"Action":"sts:AssumeRole"}]}"#;
        let policy = TrustPolicy::parse(list).unwrap();
        assert_eq!(
            policy.assumers(),
            vec![(
                PrincipalKind::Role,
                "arn:aws:iam::111122223333:role/a".to_string()
            )]
        );
        assert!(
            policy.statements[0].anyone,
            "an AWS principal of \"*\" is anyone"
        );

        let star =
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#;
        let policy = TrustPolicy::parse(star).unwrap();
        assert!(policy.assumers().is_empty());
        assert!(policy.statements[0].anyone);

        let federated = r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:saml-provider/x","Service":["ec2.amazonaws.com"]},"Action":"sts:AssumeRoleWithSAML"}]}"#;
        let policy = TrustPolicy::parse(federated).unwrap();
        assert_eq!(
            policy.statements[0].federated,
            vec!["arn:aws:iam::1:saml-provider/x"]
        );
        assert_eq!(policy.statements[0].service, vec!["ec2.amazonaws.com"]);

        // A session ARN names an assumed role's session, not the role.
        let session = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::1:assumed-role/r/s"},"Action":"sts:AssumeRole"}}"#;
        assert!(TrustPolicy::parse(session).unwrap().assumers().is_empty());
    }

    #[test]
    fn unknown_shapes_are_listed_not_dropped() {
        let odd = r#"{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:user/x"},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"CanonicalUser":"abc","AWS":[7]},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":42,"Action":{"x":1}}, "text"]}"#;
        let policy = TrustPolicy::parse(odd).unwrap();
        assert_eq!(policy.statements.len(), 3);
        assert_eq!(policy.unread.len(), 6, "{:#?}", policy.unread);
        assert!(policy.unread.iter().any(|u| u.contains("NotPrincipal")));
        assert!(policy.unread.iter().any(|u| u.contains("CanonicalUser")));
        assert!(policy
            .unread
            .iter()
            .any(|u| u.contains("statement \"text\"")));
        assert!(TrustPolicy::parse(r#"{"Version":"2012-10-17"}"#)
            .unwrap()
            .unread[0]
            .contains("no Statement"));
        assert!(TrustPolicy::parse("not json").is_err());
    }
}
