//! Builders for the ids and shapes every connector shares, following the
//! Go baton-sdk helpers (`pkg/types/{resource,entitlement,grant}`).

use c1z::any;
use c1z::v2::{
    entitlement::PurposeValue, resource_type::Trait, user_trait, ChildResourceType, Entitlement,
    Grant, GrantExpandable, Resource, ResourceId, ResourceType,
};
use prost_types::{value::Kind, Struct, Value};

/// A resource id.
pub fn rid(resource_type: &str, resource: &str) -> ResourceId {
    ResourceId {
        resource_type: resource_type.into(),
        resource: resource.into(),
        baton_resource: false,
    }
}

/// A resource carrying only its id, as principals are stored in grants.
pub fn id_only(resource_type: &str, resource: &str) -> Resource {
    Resource {
        id: Some(rid(resource_type, resource)),
        ..Default::default()
    }
}

/// The SDK-standard entitlement id: `<resource type>:<resource id>:<slug>`.
pub fn entitlement_id(resource: &ResourceId, slug: &str) -> String {
    format!("{}:{}:{}", resource.resource_type, resource.resource, slug)
}

/// The SDK-standard grant id: `<entitlement id>:<principal type>:<principal id>`.
pub fn grant_id(entitlement_id: &str, principal: &ResourceId) -> String {
    format!(
        "{}:{}:{}",
        entitlement_id, principal.resource_type, principal.resource
    )
}

/// An assignment entitlement in the SDK's shape.
pub fn assignment_entitlement(
    resource: &Resource,
    slug: &str,
    display_name: String,
    description: String,
    grantable_to: Vec<ResourceType>,
) -> Entitlement {
    let id = entitlement_id(resource.id.as_ref().expect("resource has an id"), slug);
    Entitlement {
        resource: Some(resource.clone()),
        id,
        display_name,
        description,
        grantable_to,
        annotations: Vec::new(),
        purpose: PurposeValue::Assignment as i32,
        slug: slug.into(),
    }
}

/// A grant of `entitlement` to `principal` with the SDK-standard id.
pub fn grant(entitlement: Entitlement, principal: &ResourceId) -> Grant {
    let id = grant_id(&entitlement.id, principal);
    Grant {
        entitlement: Some(entitlement),
        principal: Some(Resource {
            id: Some(principal.clone()),
            ..Default::default()
        }),
        id,
        annotations: Vec::new(),
        sources: None,
    }
}

/// A `GrantExpandable` annotation.
pub fn expandable(entitlement_ids: Vec<String>, shallow: bool) -> prost_types::Any {
    any::pack(&GrantExpandable {
        entitlement_ids,
        shallow,
        resource_type_ids: Vec::new(),
    })
}

/// A `ChildResourceType` annotation.
pub fn child_type(resource_type_id: &str) -> prost_types::Any {
    any::pack(&ChildResourceType {
        resource_type_id: resource_type_id.into(),
    })
}

/// The trait a resource of this type must carry, if the type declares one.
pub fn required_trait(rt: &ResourceType) -> Option<&'static str> {
    rt.traits
        .iter()
        .find_map(|t| match Trait::try_from(*t).ok()? {
            Trait::User => Some("c1.connector.v2.UserTrait"),
            Trait::Group => Some("c1.connector.v2.GroupTrait"),
            Trait::Role => Some("c1.connector.v2.RoleTrait"),
            Trait::App => Some("c1.connector.v2.AppTrait"),
            Trait::Secret => Some("c1.connector.v2.SecretTrait"),
            _ => None,
        })
}

/// A `UserTrait.Status` of ENABLED, the SDK default.
pub fn enabled_user_status() -> user_trait::Status {
    user_trait::Status {
        status: user_trait::status::Status::Enabled as i32,
        details: String::new(),
    }
}

/// Builds a `google.protobuf.Struct` profile.
#[derive(Default, Debug, Clone)]
pub struct Profile(Struct);

impl Profile {
    pub fn new() -> Self {
        Profile::default()
    }

    pub fn string(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.fields.insert(
            key.into(),
            Value {
                kind: Some(Kind::StringValue(value.into())),
            },
        );
        self
    }

    pub fn number(mut self, key: &str, value: f64) -> Self {
        self.0.fields.insert(
            key.into(),
            Value {
                kind: Some(Kind::NumberValue(value)),
            },
        );
        self
    }

    pub fn structure(mut self, key: &str, value: Struct) -> Self {
        self.0.fields.insert(
            key.into(),
            Value {
                kind: Some(Kind::StructValue(value)),
            },
        );
        self
    }

    pub fn value(mut self, key: &str, value: Value) -> Self {
        self.0.fields.insert(key.into(), value);
        self
    }

    pub fn build(self) -> Struct {
        self.0
    }
}
