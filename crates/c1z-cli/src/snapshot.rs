//! One sync of a c1z file loaded into memory, with indexes by id and the
//! naming helpers every subcommand shares.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use c1z::v2::{
    Entitlement, Grant, GrantExpandable, GrantImmutable, Resource, ResourceId, ResourceType,
    UserTrait,
};
use c1z::{C1zFile, SyncRun};

use crate::error::{Error, Result};

/// A resource key: (resource type id, resource id).
pub type Key = (String, String);

/// A grant row with its `expansion` column.
#[derive(Debug, Clone)]
pub struct StoredGrant {
    pub grant: Grant,
    pub expansion: Option<GrantExpandable>,
}

/// The rows of one sync, decoded.
pub struct Snapshot {
    pub file: C1zFile,
    pub path: PathBuf,
    pub sync: SyncRun,
    pub resource_types: Vec<ResourceType>,
    pub resources: Vec<Resource>,
    pub entitlements: Vec<Entitlement>,
    pub grants: Vec<StoredGrant>,
    resource_index: HashMap<Key, usize>,
    entitlement_index: HashMap<String, usize>,
    type_index: HashMap<String, usize>,
    /// Entitlement ids without a stored row, to the first grant that embeds them.
    embedded_entitlements: HashMap<String, usize>,
    grants_by_principal: HashMap<Key, Vec<usize>>,
}

impl Snapshot {
    /// Opens a c1z and loads one sync: `sync_id`, or the latest finished full sync.
    pub fn open(path: &Path, sync_id: Option<&str>) -> Result<Self> {
        let file = C1zFile::open_read(path)?;
        let sync = file.view_sync(sync_id)?;
        Self::load(file, sync)
    }

    /// Loads the rows of `sync` from an opened file.
    pub fn load(file: C1zFile, sync: SyncRun) -> Result<Self> {
        let resource_types = file.resource_types(&sync.sync_id)?;
        let resources = file.resources(&sync.sync_id)?;
        let entitlements = file.entitlements(&sync.sync_id)?;
        let grants: Vec<StoredGrant> = file
            .grants(&sync.sync_id)?
            .into_iter()
            .map(|(grant, expansion)| StoredGrant { grant, expansion })
            .collect();

        let type_index = resource_types
            .iter()
            .enumerate()
            .map(|(i, rt)| (rt.id.clone(), i))
            .collect();
        let resource_index = resources
            .iter()
            .enumerate()
            .map(|(i, r)| (key_of(r.id.as_ref()), i))
            .collect();
        let entitlement_index: HashMap<String, usize> = entitlements
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        let mut grants_by_principal: HashMap<Key, Vec<usize>> = HashMap::new();
        let mut embedded_entitlements: HashMap<String, usize> = HashMap::new();
        for (i, g) in grants.iter().enumerate() {
            grants_by_principal
                .entry(principal_key(&g.grant))
                .or_default()
                .push(i);
            let id = entitlement_id(&g.grant);
            if !entitlement_index.contains_key(id) {
                embedded_entitlements.entry(id.to_string()).or_insert(i);
            }
        }
        Ok(Snapshot {
            path: file.path().to_path_buf(),
            file,
            sync,
            resource_types,
            resources,
            entitlements,
            grants,
            resource_index,
            entitlement_index,
            type_index,
            embedded_entitlements,
            grants_by_principal,
        })
    }

    /// The stored resource with this key.
    pub fn resource(&self, key: &Key) -> Option<&Resource> {
        self.resource_index.get(key).map(|&i| &self.resources[i])
    }

    /// The stored resource type with this id.
    pub fn resource_type(&self, id: &str) -> Option<&ResourceType> {
        self.type_index.get(id).map(|&i| &self.resource_types[i])
    }

    /// The stored entitlement row with this id.
    pub fn entitlement(&self, id: &str) -> Option<&Entitlement> {
        self.entitlement_index
            .get(id)
            .map(|&i| &self.entitlements[i])
    }

    /// The entitlement with this id: the stored row, else the copy embedded
    /// in the first grant on it.
    pub fn any_entitlement(&self, id: &str) -> Option<&Entitlement> {
        self.entitlement(id).or_else(|| {
            self.embedded_entitlements
                .get(id)
                .and_then(|&i| self.grants[i].grant.entitlement.as_ref())
        })
    }

    /// The entitlement of a grant: the stored row when there is one, else the
    /// copy embedded in the grant (grants on AWS-managed policies that were
    /// not listed have no entitlement row).
    pub fn grant_entitlement<'a>(&'a self, grant: &'a Grant) -> Option<&'a Entitlement> {
        let embedded = grant.entitlement.as_ref()?;
        Some(self.entitlement(&embedded.id).unwrap_or(embedded))
    }

    /// Indexes into `grants` of the grants held directly by a principal.
    pub fn grants_of(&self, principal: &Key) -> &[usize] {
        self.grants_by_principal
            .get(principal)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every principal that holds at least one grant, with its grant count.
    pub fn principals_with_grants(&self) -> BTreeMap<Key, usize> {
        self.grants_by_principal
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }

    /// The display name of a resource type, or its id when it is not stored.
    pub fn type_label(&self, type_id: &str) -> String {
        match self.resource_type(type_id) {
            Some(rt) if !rt.display_name.is_empty() => rt.display_name.clone(),
            _ => type_id.to_string(),
        }
    }

    /// The display name of a resource, or its id when it has none or is not stored.
    pub fn resource_label(&self, key: &Key) -> String {
        match self.resource(key) {
            Some(r) if !r.display_name.is_empty() => r.display_name.clone(),
            _ => key.1.clone(),
        }
    }

    /// A readable name of an entitlement, such as `Group developers (member)`.
    pub fn entitlement_label(&self, id: &str, fallback: Option<&Entitlement>) -> String {
        let Some(ent) = self
            .entitlement(id)
            .or(fallback)
            .or_else(|| self.any_entitlement(id))
        else {
            return id.to_string();
        };
        let key = key_of(ent.resource.as_ref().and_then(|r| r.id.as_ref()));
        let resource_name = match self.resource(&key) {
            Some(r) if !r.display_name.is_empty() => r.display_name.clone(),
            _ => ent
                .resource
                .as_ref()
                .map(|r| r.display_name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or(key.1.clone()),
        };
        let kind = if !ent.slug.is_empty() {
            ent.slug.clone()
        } else if !ent.display_name.is_empty() {
            ent.display_name.clone()
        } else {
            id.rsplit(':').next().unwrap_or(id).to_string()
        };
        format!("{} {} ({})", self.type_label(&key.0), resource_name, kind)
    }

    /// The readable name of an entitlement on its own: its display name, or
    /// the label when the display name is missing or only repeats the slug.
    pub fn entitlement_name(&self, id: &str, fallback: Option<&Entitlement>) -> String {
        match self
            .entitlement(id)
            .or(fallback)
            .or_else(|| self.any_entitlement(id))
        {
            Some(e) if !e.display_name.is_empty() && e.display_name != e.slug => {
                e.display_name.clone()
            }
            _ => self.entitlement_label(id, fallback),
        }
    }

    /// The `UserTrait` of a stored resource, when it is a user.
    pub fn user_trait(&self, key: &Key) -> Option<UserTrait> {
        self.resource(key)
            .and_then(|r| c1z::any::find::<UserTrait>(&r.annotations))
    }

    /// Resolves a principal given as `TYPE:ID`, a resource id or a display name.
    pub fn find_principal(&self, query: &str) -> Result<Key> {
        let query = query.trim();
        if let Some((t, id)) = query.split_once(':') {
            let key = (t.to_string(), id.to_string());
            if self.type_index.contains_key(t)
                && (self.resource_index.contains_key(&key)
                    || self.grants_by_principal.contains_key(&key))
            {
                return Ok(key);
            }
        }
        let mut by_id: Vec<Key> = self
            .resource_index
            .keys()
            .filter(|k| k.1 == query)
            .cloned()
            .collect();
        by_id.extend(
            self.grants_by_principal
                .keys()
                .filter(|k| k.1 == query && !self.resource_index.contains_key(*k))
                .cloned(),
        );
        let mut matches = if by_id.is_empty() {
            self.resources
                .iter()
                .filter(|r| r.display_name == query)
                .map(|r| key_of(r.id.as_ref()))
                .collect::<Vec<_>>()
        } else {
            by_id
        };
        matches.sort();
        matches.dedup();
        match matches.len() {
            0 => Err(Error::PrincipalNotFound {
                query: query.to_string(),
                sync_id: self.sync.sync_id.clone(),
            }),
            1 => Ok(matches.remove(0)),
            count => Err(Error::AmbiguousPrincipal {
                query: query.to_string(),
                count,
                candidates: matches
                    .iter()
                    .take(5)
                    .map(|k| format!("{}:{}", k.0, k.1))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// The key of a resource id (empty strings when absent).
pub fn key_of(id: Option<&ResourceId>) -> Key {
    id.map(|r| (r.resource_type.clone(), r.resource.clone()))
        .unwrap_or_default()
}

/// The principal key of a grant.
pub fn principal_key(grant: &Grant) -> Key {
    key_of(grant.principal.as_ref().and_then(|p| p.id.as_ref()))
}

/// The key of the resource a grant's entitlement belongs to.
pub fn entitlement_resource_key(grant: &Grant) -> Key {
    key_of(
        grant
            .entitlement
            .as_ref()
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref()),
    )
}

/// The entitlement id of a grant.
pub fn entitlement_id(grant: &Grant) -> &str {
    grant
        .entitlement
        .as_ref()
        .map(|e| e.id.as_str())
        .unwrap_or("")
}

/// The `sources` of a grant as (source entitlement id, is_direct) pairs, in key order.
pub fn sources(grant: &Grant) -> Vec<(String, bool)> {
    grant
        .sources
        .as_ref()
        .map(|s| {
            s.sources
                .iter()
                .map(|e| (e.key.clone(), e.value.as_ref().is_some_and(|v| v.is_direct)))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a grant is held directly: the SDK counts a grant as direct when
/// its `sources` map is empty or names the grant's own entitlement.
pub fn is_direct(grant: &Grant) -> bool {
    let own = entitlement_id(grant);
    match grant.sources.as_ref() {
        None => true,
        Some(s) if s.sources.is_empty() => true,
        Some(s) => s.contains_key(own),
    }
}

/// Whether the SDK made this grant by grant expansion (it carries `GrantImmutable`).
pub fn is_expanded(grant: &Grant) -> bool {
    c1z::any::contains::<GrantImmutable>(&grant.annotations)
}

/// Converts a protobuf `Struct` into JSON.
pub fn struct_to_json(s: &prost_types::Struct) -> serde_json::Value {
    serde_json::Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), value_to_json(v)))
            .collect(),
    )
}

/// Converts a protobuf `Value` into JSON.
pub fn value_to_json(v: &prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Some(Kind::StringValue(s)) => serde_json::Value::String(s.clone()),
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(*b),
        Some(Kind::StructValue(s)) => struct_to_json(s),
        Some(Kind::ListValue(l)) => {
            serde_json::Value::Array(l.values.iter().map(value_to_json).collect())
        }
    }
}

/// A string field of a resource profile.
pub fn profile_string(resource: &Resource, key: &str) -> Option<String> {
    use prost_types::value::Kind;
    match resource.profile.as_ref()?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// A boolean field of a resource profile (`true`/`false` strings count too).
pub fn profile_bool(resource: &Resource, key: &str) -> Option<bool> {
    use prost_types::value::Kind;
    match resource.profile.as_ref()?.fields.get(key)?.kind.as_ref()? {
        Kind::BoolValue(b) => Some(*b),
        Kind::StringValue(s) => s.parse().ok(),
        _ => None,
    }
}

/// Formats a protobuf timestamp as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_timestamp(ts: &prost_types::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts.seconds)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_else(|_| ts.seconds.to_string())
}

/// Converts a stored c1z timestamp to RFC 3339 (the stored text when it does not parse).
pub fn rfc3339(stored: &str) -> String {
    c1z::timefmt::parse(stored)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| stored.to_string())
}
