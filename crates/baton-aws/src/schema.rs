//! The JSON of the `capabilities` and `config` subcommands, in the protojson
//! shape the Go connector prints (lowerCamelCase keys, enum names, `@type`
//! on `Any` values, default values omitted).

use c1z::any;
use c1z::v2::{CapabilityPermissions, ChildResourceType, ResourceType, V1Identifier};
use serde_json::{json, Map, Value};

use crate::config::SSO_REGIONS;
use crate::resource_types::{self as rt, ALL};

fn trait_name(t: i32) -> &'static str {
    match t {
        1 => "TRAIT_USER",
        2 => "TRAIT_GROUP",
        3 => "TRAIT_ROLE",
        4 => "TRAIT_APP",
        5 => "TRAIT_SECRET",
        7 => "TRAIT_SCOPE_BINDING",
        _ => "TRAIT_UNSPECIFIED",
    }
}

fn annotation_json(a: &prost_types::Any) -> Value {
    let mut m = Map::new();
    m.insert("@type".into(), json!(a.type_url));
    if let Some(v) = any::find::<V1Identifier>(std::slice::from_ref(a)) {
        m.insert("id".into(), json!(v.id));
    } else if let Some(c) = any::find::<ChildResourceType>(std::slice::from_ref(a)) {
        m.insert("resourceTypeId".into(), json!(c.resource_type_id));
    } else if let Some(p) = any::find::<CapabilityPermissions>(std::slice::from_ref(a)) {
        let list: Vec<Value> = p
            .permissions
            .iter()
            .map(|p| json!({"permission": p.permission}))
            .collect();
        m.insert("permissions".into(), json!(list));
    }
    Value::Object(m)
}

fn resource_type_json(r: &ResourceType) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("displayName".into(), json!(r.display_name));
    if !r.traits.is_empty() {
        m.insert(
            "traits".into(),
            json!(r.traits.iter().map(|t| trait_name(*t)).collect::<Vec<_>>()),
        );
    }
    m.insert(
        "annotations".into(),
        json!(r
            .annotations
            .iter()
            .map(annotation_json)
            .collect::<Vec<_>>()),
    );
    Value::Object(m)
}

/// What each resource type supports beyond sync.
fn type_capabilities(id: &str) -> &'static [&'static str] {
    match id {
        rt::ACCOUNT
        | rt::GROUP
        | rt::IAM_POLICY
        | rt::INLINE_POLICY
        | rt::PERMISSION_SET_ASSIGNMENT
        | rt::SSO_GROUP => &["CAPABILITY_SYNC", "CAPABILITY_PROVISION"],
        rt::IAM_USER | rt::SSO_USER => &[
            "CAPABILITY_SYNC",
            "CAPABILITY_ACCOUNT_PROVISIONING",
            "CAPABILITY_RESOURCE_DELETE",
        ],
        _ => &["CAPABILITY_SYNC"],
    }
}

/// The connector metadata sent to ConductorOne in Hello.
pub fn metadata() -> c1z::v2::ConnectorMetadata {
    use c1z::v2::{Capability, ConnectorCapabilities, ResourceTypeCapability};
    let to_enum = |name: &str| match name {
        "CAPABILITY_PROVISION" => Capability::Provision as i32,
        "CAPABILITY_ACCOUNT_PROVISIONING" => Capability::AccountProvisioning as i32,
        "CAPABILITY_RESOURCE_DELETE" => Capability::ResourceDelete as i32,
        _ => Capability::Sync as i32,
    };
    let resource_type_capabilities = ALL
        .iter()
        .map(|id| {
            let def = rt::definition(id);
            ResourceTypeCapability {
                permissions: any::find::<CapabilityPermissions>(&def.annotations),
                opt_in_required: any::contains::<c1z::v2::OptInRequired>(&def.annotations),
                capabilities: type_capabilities(id).iter().map(|c| to_enum(c)).collect(),
                resource_type: Some(def),
                ..Default::default()
            }
        })
        .collect();
    c1z::v2::ConnectorMetadata {
        display_name: "AWS".into(),
        capabilities: Some(ConnectorCapabilities {
            resource_type_capabilities,
            connector_capabilities: vec![
                Capability::Provision as i32,
                Capability::Sync as i32,
                Capability::AccountProvisioning as i32,
                Capability::ResourceDelete as i32,
            ],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Capabilities of every resource type and of the connector.
pub fn capabilities() -> Value {
    let mut types = Vec::new();
    for id in ALL {
        let def = rt::definition(id);
        let permissions = any::find::<CapabilityPermissions>(&def.annotations).unwrap_or_default();
        let mut m = Map::new();
        m.insert("resourceType".into(), resource_type_json(&def));
        m.insert("capabilities".into(), json!(type_capabilities(id)));
        m.insert(
            "permissions".into(),
            json!({"permissions": permissions.permissions.iter().map(|p| json!({"permission": p.permission})).collect::<Vec<_>>()}),
        );
        if any::contains::<c1z::v2::OptInRequired>(&def.annotations) {
            m.insert("optInRequired".into(), json!(true));
        }
        types.push(Value::Object(m));
    }
    json!({
        "@type": "type.googleapis.com/c1.connector.v2.ConnectorCapabilities",
        "resourceTypeCapabilities": types,
        "connectorCapabilities": ["CAPABILITY_PROVISION", "CAPABILITY_SYNC", "CAPABILITY_ACCOUNT_PROVISIONING", "CAPABILITY_RESOURCE_DELETE"],
        "credentialDetails": {
            "capabilityAccountProvisioning": {
                "supportedCredentialOptions": ["CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD"],
                "preferredCredentialOption": "CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD"
            }
        }
    })
}

struct Field {
    name: &'static str,
    display: &'static str,
    description: &'static str,
    ops: bool,
    secret: bool,
    kind: Kind,
}

enum Kind {
    Str(&'static str),
    Select(&'static str, &'static [&'static str]),
    Random,
    Bool,
    Int(i64, Option<(i64, i64)>),
}

const FIELDS: &[Field] = &[
    Field {
        name: "log-level",
        display: "",
        description: "The log level: debug, info, warn, error",
        ops: true,
        secret: false,
        kind: Kind::Str("info"),
    },
    Field {
        name: "http-timeout-seconds",
        display: "",
        description: "Timeout of one HTTP request, in seconds",
        ops: true,
        secret: false,
        kind: Kind::Int(300, Some((1, 1800))),
    },
    Field {
        name: "external-id",
        display: "External ID",
        description: "The external ID for the AWS account",
        ops: false,
        secret: false,
        kind: Kind::Random,
    },
    Field {
        name: "global-access-key-id",
        display: "Global Access Key ID",
        description: "The global-access-key-id for the AWS account",
        ops: true,
        secret: false,
        kind: Kind::Str(""),
    },
    Field {
        name: "global-aws-orgs-enabled",
        display: "Enable Support for AWS Organizations",
        description: "Enable support for AWS Organizations",
        ops: false,
        secret: false,
        kind: Kind::Bool,
    },
    Field {
        name: "global-aws-sso-enabled",
        display: "Enable Support for AWS IAM Identity Center",
        description: "Enable support for AWS IAM Identity Center",
        ops: false,
        secret: false,
        kind: Kind::Bool,
    },
    Field {
        name: "global-aws-cross-account-iam-enabled",
        display: "Enable Cross-Account IAM",
        description: "Also sync the IAM of member accounts",
        ops: false,
        secret: false,
        kind: Kind::Bool,
    },
    Field {
        name: "global-aws-sso-region",
        display: "AWS Identity Center Region",
        description: "The region for the SSO identities",
        ops: false,
        secret: false,
        kind: Kind::Select("us-east-1", SSO_REGIONS),
    },
    Field {
        name: "global-binding-external-id",
        display: "Global Binding External ID",
        description: "The global external ID for the binding role",
        ops: true,
        secret: false,
        kind: Kind::Str(""),
    },
    Field {
        name: "global-region",
        display: "Global Region",
        description: "The region for IAM, STS and Organizations",
        ops: true,
        secret: false,
        kind: Kind::Str(""),
    },
    Field {
        name: "global-role-arn",
        display: "Global Role ARN",
        description: "The binding role assumed before role-arn",
        ops: true,
        secret: false,
        kind: Kind::Str(""),
    },
    Field {
        name: "global-secret-access-key",
        display: "Global Secret Access Key",
        description: "The global-secret-access-key for the AWS account",
        ops: true,
        secret: true,
        kind: Kind::Str(""),
    },
    Field {
        name: "role-arn",
        display: "Role ARN",
        description: "The role to assume",
        ops: false,
        secret: false,
        kind: Kind::Str(""),
    },
    Field {
        name: "use-assume",
        display: "Use Assume",
        description: "Assume role-arn for every call",
        ops: true,
        secret: false,
        kind: Kind::Bool,
    },
    Field {
        name: "sync-secrets",
        display: "Sync Secrets",
        description: "Sync IAM access keys",
        ops: false,
        secret: false,
        kind: Kind::Bool,
    },
    Field {
        name: "iam-assume-role-name",
        display: "IAM Assume Role Name",
        description: "The role assumed in each member account",
        ops: false,
        secret: false,
        kind: Kind::Str("OrganizationAccountAccessRole"),
    },
    Field {
        name: "sync-sso-user-last-login",
        display: "Sync SSO User Last Login",
        description: "Read Identity Center sign-ins from CloudTrail",
        ops: false,
        secret: false,
        kind: Kind::Bool,
    },
    Field {
        name: "sync-only-attached-policies",
        display: "Sync Only Attached Policies",
        description: "List only managed policies that are attached",
        ops: false,
        secret: false,
        kind: Kind::Bool,
    },
    Field {
        name: "create-account-resource-type",
        display: "Create Account Resource Type",
        description: "The user type account creation makes",
        ops: false,
        secret: false,
        kind: Kind::Select("iam_user", &["iam_user", "sso_user"]),
    },
];

/// The configuration schema.
pub fn config() -> Value {
    let fields: Vec<Value> = FIELDS
        .iter()
        .map(|f| {
            let mut m = Map::new();
            m.insert("name".into(), json!(f.name));
            if !f.display.is_empty() {
                m.insert("displayName".into(), json!(f.display));
            }
            m.insert("description".into(), json!(f.description));
            if f.ops {
                m.insert("isOps".into(), json!(true));
            }
            if f.secret {
                m.insert("isSecret".into(), json!(true));
            }
            let (key, value) = match &f.kind {
                Kind::Str(d) if d.is_empty() => ("stringField", json!({})),
                Kind::Str(d) => ("stringField", json!({"defaultValue": d})),
                Kind::Select(d, values) => ("stringField", json!({"defaultValue": d, "rules": {"in": values}})),
                Kind::Random => ("stringField", json!({"type": "STRING_FIELD_TYPE_RANDOM"})),
                Kind::Bool => ("boolField", json!({})),
                Kind::Int(d, Some((lo, hi))) => ("intField", json!({"defaultValue": d.to_string(), "rules": {"lte": hi.to_string(), "gte": lo.to_string()}})),
                Kind::Int(d, None) => ("intField", json!({"defaultValue": d.to_string()})),
            };
            m.insert(key.into(), value);
            Value::Object(m)
        })
        .collect();
    json!({
        "fields": fields,
        "constraints": [
            {"kind": "CONSTRAINT_KIND_DEPENDENT_ON", "fieldNames": ["use-assume"], "secondaryFieldNames": ["role-arn"]},
            {"kind": "CONSTRAINT_KIND_DEPENDENT_ON", "fieldNames": ["global-aws-cross-account-iam-enabled"],
             "secondaryFieldNames": ["global-aws-orgs-enabled", "global-aws-sso-enabled"]}
        ],
        "displayName": "AWS",
        "helpUrl": "/docs/baton/aws-v2",
        "iconUrl": "/static/app-icons/aws.svg"
    })
}
