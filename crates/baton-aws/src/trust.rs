//! What kind of non-human identity a role is, from its path and trust
//! policy. The trust policy parser lives in the `aws-policy` crate.

pub use aws_policy::{PrincipalKind, TrustPolicy};

use c1z::v2::non_human_identity_trait::NhiType;

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
    for statement in policy
        .statements
        .iter()
        .filter(|s| s.allow && s.actions.iter().any(|a| a.starts_with("sts:AssumeRole")))
    {
        aws.extend(statement.aws.iter().cloned());
        service.extend(statement.service.iter().cloned());
        federated.extend(statement.federated.iter().cloned());
    }
    if let Some(smallest) = service
        .iter()
        .map(|s| {
            s.split('.')
                .next()
                .unwrap_or(s)
                .replace('-', "_")
                .to_lowercase()
        })
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
    let foreign = aws.iter().any(|p| match aws_policy::Arn::parse(p) {
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
    fn role_classification() {
        assert_eq!(
            classify_role("/aws-service-role/x/", "1", None).1,
            "aws.service_linked_role"
        );
        assert_eq!(classify_role("/", "1", None).1, "aws.role");
        let svc = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(classify_role("/", "1", Some(svc)).1, "aws.role.ecs_tasks");
        let oidc = r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        assert_eq!(classify_role("/", "1", Some(oidc)).1, "aws.role.oidc");
        let cross = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(
            classify_role("/", "123456789012", Some(cross)).1,
            "aws.role.cross_account"
        );
        assert_eq!(
            classify_role("/", "999999999999", Some(cross)).1,
            "aws.role"
        );
    }
}
