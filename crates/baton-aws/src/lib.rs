//! The Baton connector for AWS: IAM users, groups, roles and policies,
//! Identity Center users, groups and assignments, and Organizations accounts, read
//! through the official AWS SDK and written as Baton resources, entitlements
//! and grants. One module per resource type, as in the Go baton-aws.

pub mod access_key;
pub mod account;
pub mod account_iam;
pub mod client;
pub mod config;
pub mod connector;
pub mod group;
pub mod iam;
pub mod iam_details;
pub mod iam_policy;
pub mod iam_user;
pub mod inline_policy;
pub mod organization;
pub mod orgs;
pub mod permission_set;
pub mod permission_set_assignment;
pub mod policy;
pub mod provisioning;
pub mod ratelimit;
pub mod resource_types;
pub mod role;
pub mod schema;
pub mod scim;
pub mod sso;
pub mod sso_cache;
pub mod sso_group;
pub mod sso_last_login;
pub mod sso_user;
pub mod trust;

pub use connector::AwsConnector;
