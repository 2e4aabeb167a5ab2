//! `arn:partition:service:region:account-id:resource`.

/// The parts of an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    /// Splits an ARN into its six parts. The resource part may itself
    /// contain colons and slashes.
    pub fn parse(text: &str) -> Result<Arn, String> {
        let mut parts = text.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(format!("{text:?} is not an ARN (expected arn:partition:service:region:account-id:resource)"));
        };
        Ok(Arn {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Arn;

    #[test]
    fn resource_keeps_colons_and_slashes() {
        let arn = Arn::parse("arn:aws:iam::123456789012:role/path.a/r+=,.@-_").unwrap();
        assert_eq!(
            (arn.account.as_str(), arn.resource.as_str()),
            ("123456789012", "role/path.a/r+=,.@-_")
        );
        let arn = Arn::parse("arn:aws:sso:::permissionSet/ssoins-1/ps-2").unwrap();
        assert_eq!(arn.resource, "permissionSet/ssoins-1/ps-2");
    }

    #[test]
    fn too_few_parts_error() {
        let err = Arn::parse("arn:aws:iam::123").unwrap_err();
        assert!(err.contains("\"arn:aws:iam::123\""), "{err}");
    }
}
