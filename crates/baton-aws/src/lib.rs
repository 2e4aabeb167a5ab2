//! The Baton connector for AWS: IAM users, groups, roles and policies, read
//! through the official AWS SDK and written as Baton resources, entitlements
//! and grants. One module per resource type, as in the Go baton-aws.

pub mod access_key;
pub mod client;
pub mod config;
pub mod connector;
pub mod group;
pub mod iam;
pub mod iam_policy;
pub mod iam_user;
pub mod inline_policy;
pub mod resource_types;
pub mod role;
pub mod schema;
pub mod trust;

pub use connector::AwsConnector;
