//! The AWS Organizations reads: the organisation, its accounts, root and
//! organizational units. Every listing returns one AWS page and the token of the next.

use aws_sdk_organizations::types::{
    Account, AccountState, AccountStatus, OrganizationalUnit, ParentType, Root,
};
use aws_sdk_organizations::Client;

use crate::client::{classify, AwsError};

/// One page of a listing and the token of the next page.
pub type OrgPage<T> = (Vec<T>, Option<String>);

fn opt(token: &str) -> Option<String> {
    (!token.is_empty()).then(|| token.to_string())
}

#[derive(Clone, Debug)]
pub struct OrgsApi {
    client: Client,
}

/// Where an account sits in the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountParent {
    Root(String),
    Unit(String),
}

impl OrgsApi {
    pub fn new(client: Client) -> Self {
        OrgsApi { client }
    }

    /// The management account id of the organisation.
    pub async fn management_account(&self) -> Result<String, AwsError> {
        let out = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| classify("organizations:DescribeOrganization", &e))?;
        Ok(out
            .organization
            .and_then(|o| o.master_account_id)
            .unwrap_or_default())
    }

    pub async fn list_accounts(&self, token: &str) -> Result<OrgPage<Account>, AwsError> {
        let out = self
            .client
            .list_accounts()
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("organizations:ListAccounts", &e))?;
        Ok((
            out.accounts.unwrap_or_default(),
            out.next_token.filter(|t| !t.is_empty()),
        ))
    }

    /// The first parent of an account, as the Go connector reads it.
    pub async fn account_parent(
        &self,
        account_id: &str,
    ) -> Result<Option<AccountParent>, AwsError> {
        let out = self
            .client
            .list_parents()
            .child_id(account_id)
            .send()
            .await
            .map_err(|e| classify("organizations:ListParents", &e))?;
        Ok(out
            .parents
            .unwrap_or_default()
            .into_iter()
            .find_map(|p| match (p.r#type, p.id) {
                (Some(ParentType::Root), Some(id)) => Some(AccountParent::Root(id)),
                (Some(ParentType::OrganizationalUnit), Some(id)) => Some(AccountParent::Unit(id)),
                _ => None,
            }))
    }

    pub async fn list_roots(&self, token: &str) -> Result<OrgPage<Root>, AwsError> {
        let out = self
            .client
            .list_roots()
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("organizations:ListRoots", &e))?;
        Ok((
            out.roots.unwrap_or_default(),
            out.next_token.filter(|t| !t.is_empty()),
        ))
    }

    pub async fn list_units(
        &self,
        parent_id: &str,
        token: &str,
    ) -> Result<OrgPage<OrganizationalUnit>, AwsError> {
        let out = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent_id)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("organizations:ListOrganizationalUnitsForParent", &e))?;
        Ok((
            out.organizational_units.unwrap_or_default(),
            out.next_token.filter(|t| !t.is_empty()),
        ))
    }
}

/// Whether an account is active, from the newer `State` when AWS sends it,
/// else from the older `Status`.
pub fn is_active(account: &Account) -> bool {
    match (&account.state, &account.status) {
        (Some(state), _) => *state == AccountState::Active,
        (None, Some(status)) => *status == AccountStatus::Active,
        (None, None) => true,
    }
}

/// A short description of an account's state for log messages.
pub fn state_text(account: &Account) -> String {
    match (&account.state, &account.status) {
        (Some(state), _) => state.as_str().to_string(),
        (None, Some(status)) => status.as_str().to_string(),
        (None, None) => "unknown".into(),
    }
}
