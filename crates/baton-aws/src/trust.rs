//! Role trust policies: who may assume a role, and what kind of non-human
//! identity the role is.
//!
//! Trust policies come in every shape IAM accepts: `Statement` as one object
//! or a list, `Action` and each principal kind as a string or a list, and a
//! bare string `Principal` such as `"*"`. Parsing never fails on an unknown
//! shape; the parts it cannot read are ignored.

use serde_json::Value;

use c1z::v2::non_human_identity_trait::NhiType;

/// The principals of one trust statement.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Statement {
    pub allow: bool,
    pub actions: Vec<String>,
    pub aws: Vec<String>,
    pub service: Vec<String>,
    pub federated: Vec<String>,
}

/// A parsed trust policy.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    pub statements: Vec<Statement>,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

impl TrustPolicy {
    /// Parses a (URL-decoded) trust policy document.
    pub fn parse(document: &str) -> Result<TrustPolicy, serde_json::Error> {
        let root: Value = serde_json::from_str(document)?;
        let statements = match root.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            _ => Vec::new(),
        };
        let statements = statements
            .into_iter()
            .map(|s| {
                let principal = s.get("Principal");
                let field = |key: &str| match principal {
                    Some(Value::Object(map)) => strings(map.get(key)),
                    _ => Vec::new(),
                };
                Statement {
                    allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
                    actions: strings(s.get("Action")),
                    aws: field("AWS"),
                    service: field("Service"),
                    federated: field("Federated"),
                }
            })
            .collect();
        Ok(TrustPolicy { statements })
    }

    /// ARNs of IAM users and roles allowed `sts:AssumeRole`, with their resource type.
    pub fn assumers(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for statement in self.statements.iter().filter(|s| s.allow && s.actions.iter().any(|a| a == "sts:AssumeRole")) {
            for principal in statement.aws.iter().filter(|p| !p.is_empty()) {
                let Ok(arn) = crate::config::Arn::parse(principal) else { continue };
                if arn.resource.starts_with("user/") {
                    out.push((crate::resource_types::IAM_USER, principal.clone()));
                } else if arn.resource.starts_with("role/") {
                    out.push((crate::resource_types::ROLE, principal.clone()));
                }
            }
        }
        out
    }
}

/// Classifies a role as a non-human identity from its path and trust policy.
pub fn classify_role(path: &str, role_account: &str, trust: Option<&str>) -> (NhiType, String) {
    if path.starts_with("/aws-service-role/") {
        return (NhiType::ManagedIdentity, "aws.service_linked_role".into());
    }
    let assumable = |detail: &str| (NhiType::AssumableRole, detail.to_string());
    let Some(policy) = trust.and_then(|t| TrustPolicy::parse(t).ok()) else {
        return assumable("aws.role");
    };
    let (mut aws, mut service, mut federated) = (Vec::new(), Vec::new(), Vec::new());
    for statement in policy.statements.iter().filter(|s| s.allow && s.actions.iter().any(|a| a.starts_with("sts:AssumeRole"))) {
        aws.extend(statement.aws.iter().cloned());
        service.extend(statement.service.iter().cloned());
        federated.extend(statement.federated.iter().cloned());
    }
    if let Some(smallest) = service
        .iter()
        .map(|s| s.split('.').next().unwrap_or(s).replace('-', "_").to_lowercase())
        .min()
    {
        return assumable(&format!("aws.role.{smallest}"));
    }
    if !federated.is_empty() {
        if federated.iter().any(|f| f.contains(":oidc-provider/")) {
            return assumable("aws.role.oidc");
        }
        if federated.iter().any(|f| f.contains(":saml-provider/")) {
            return assumable("aws.role.saml");
        }
        return assumable("aws.role.federated");
    }
    let foreign = aws.iter().any(|p| match crate::config::Arn::parse(p) {
        Ok(arn) => arn.account != role_account,
        Err(_) => p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()) && p != role_account,
    });
    if foreign {
        return assumable("aws.role.cross_account");
    }
    assumable("aws.role")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_trust_policies() {
        let single = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}"#;
        assert_eq!(TrustPolicy::parse(single).unwrap().assumers(), vec![("iam_user", "arn:aws:iam::111122223333:user/alice".to_string())]);
        let list = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:root","*"]},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"x"}}},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/eve"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(TrustPolicy::parse(list).unwrap().assumers(), vec![("role", "arn:aws:iam::111122223333:role/a".to_string())]);
        let star = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#;
        assert!(TrustPolicy::parse(star).unwrap().assumers().is_empty());
        assert!(TrustPolicy::parse("not json").is_err());
    }

    #[test]
    fn role_classification() {
        assert_eq!(classify_role("/aws-service-role/x/", "1", None).1, "aws.service_linked_role");
        assert_eq!(classify_role("/", "1", None).1, "aws.role");
        let svc = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(classify_role("/", "1", Some(svc)).1, "aws.role.ecs_tasks");
        let oidc = r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        assert_eq!(classify_role("/", "1", Some(oidc)).1, "aws.role.oidc");
        let cross = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(classify_role("/", "123456789012", Some(cross)).1, "aws.role.cross_account");
        assert_eq!(classify_role("/", "999999999999", Some(cross)).1, "aws.role");
    }
}
