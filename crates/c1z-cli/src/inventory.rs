//! Listings of one sync: resource types, resources, entitlements, grants,
//! principals, row counts and the sync runs of a file.

use std::collections::BTreeMap;

use c1z::v2::{GroupTrait, ResourceType, RoleTrait, UserTrait};
use c1z::C1zFile;
use serde_json::{json, Value};

use crate::access;
use crate::error::Result;
use crate::output::Listing;
use crate::record;
use crate::snapshot::{self, key_of, Snapshot};

/// `resource-types`: every stored resource type.
pub fn resource_types(snap: &Snapshot) -> Listing {
    let stats = count_resources_by_type(snap);
    let mut listing = Listing::new(&["id", "display_name", "traits", "resources"]);
    for rt in &snap.resource_types {
        listing.push(record! {
            "id" => rt.id,
            "display_name" => rt.display_name,
            "traits" => trait_names(rt),
            "resources" => stats.get(&rt.id).copied().unwrap_or(0),
            "annotations" => rt.annotations.iter().map(|a| short_type(&a.type_url)).collect::<Vec<_>>(),
        });
    }
    listing
}

/// `resources`: every resource, or those of one type.
pub fn resources(snap: &Snapshot, resource_type: Option<&str>) -> Listing {
    let mut listing = Listing::new(&["resource_type", "id", "display_name", "parent"]);
    for r in &snap.resources {
        let key = key_of(r.id.as_ref());
        if resource_type.is_some_and(|t| t != key.0) {
            continue;
        }
        let parent = r
            .parent_resource_id
            .as_ref()
            .map(|p| format!("{}:{}", p.resource_type, p.resource));
        listing.push(record! {
            "resource_type" => key.0,
            "id" => key.1,
            "display_name" => r.display_name,
            "parent" => parent,
            "description" => r.description,
            "status" => r.status.as_ref().map(|s| s.status),
            "annotations" => r.annotations.iter().map(|a| short_type(&a.type_url)).collect::<Vec<_>>(),
            "profile" => r.profile.as_ref().map(snapshot::struct_to_json),
        });
    }
    listing
}

/// `entitlements`: every stored entitlement, or those on resources of one type.
pub fn entitlements(snap: &Snapshot, resource_type: Option<&str>) -> Listing {
    let grant_counts = count_grants_by_entitlement(snap);
    let mut listing = Listing::new(&["id", "display_name", "resource_type", "resource", "grants"]);
    for e in &snap.entitlements {
        let key = key_of(e.resource.as_ref().and_then(|r| r.id.as_ref()));
        if resource_type.is_some_and(|t| t != key.0) {
            continue;
        }
        listing.push(record! {
            "id" => e.id,
            "display_name" => e.display_name,
            "resource_type" => key.0,
            "resource" => snap.resource_label(&key),
            "resource_id" => key.1,
            "slug" => e.slug,
            "description" => e.description,
            "purpose" => e.purpose,
            "grantable_to" => e.grantable_to.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
            "grants" => grant_counts.get(&e.id).copied().unwrap_or(0),
        });
    }
    listing
}

/// Filter of the `grants` listing.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    pub entitlement: Option<String>,
    pub principal: Option<String>,
}

/// `grants`: every grant, or those on one entitlement or of one principal.
pub fn grants(snap: &Snapshot, filter: &GrantFilter) -> Result<Listing> {
    let principal = filter
        .principal
        .as_deref()
        .map(|p| snap.find_principal(p))
        .transpose()?;
    let mut listing = Listing::new(&[
        "id",
        "entitlement",
        "principal_type",
        "principal",
        "granted",
    ]);
    for g in &snap.grants {
        let grant = &g.grant;
        let ent_id = snapshot::entitlement_id(grant);
        if filter.entitlement.as_deref().is_some_and(|e| e != ent_id) {
            continue;
        }
        let pkey = snapshot::principal_key(grant);
        if principal.as_ref().is_some_and(|p| *p != pkey) {
            continue;
        }
        let sources: BTreeMap<String, Value> = snapshot::sources(grant)
            .into_iter()
            .map(|(k, direct)| (k, json!({ "is_direct": direct })))
            .collect();
        listing.push(record! {
            "id" => grant.id,
            "entitlement" => ent_id,
            "entitlement_name" => snap.entitlement_name(ent_id, grant.entitlement.as_ref()),
            "entitlement_stored" => snap.entitlement(ent_id).is_some(),
            "principal_type" => pkey.0,
            "principal" => pkey.1,
            "principal_name" => snap.resource_label(&pkey),
            "granted" => access::describe_grant(snap, grant),
            "expanded" => snapshot::is_expanded(grant),
            "sources" => sources,
            "expansion" => g.expansion.as_ref().map(|e| json!({ "entitlement_ids": e.entitlement_ids, "shallow": e.shallow })),
        });
    }
    Ok(listing)
}

/// `principals`: every user, group and role, and every other resource that holds a grant.
pub fn principals(snap: &Snapshot) -> Listing {
    let held = snap.principals_with_grants();
    let mut keys: Vec<snapshot::Key> = snap
        .resources
        .iter()
        .filter(|r| {
            c1z::any::contains::<UserTrait>(&r.annotations)
                || c1z::any::contains::<GroupTrait>(&r.annotations)
                || held.contains_key(&key_of(r.id.as_ref()))
        })
        .map(|r| key_of(r.id.as_ref()))
        .collect();
    for key in held.keys() {
        if snap.resource(key).is_none() {
            keys.push(key.clone());
        }
    }
    let mut listing = Listing::new(&[
        "principal_type",
        "id",
        "display_name",
        "kind",
        "grants",
        "direct",
        "inherited",
    ]);
    for key in keys {
        let (mut direct, mut inherited) = (0, 0);
        for &i in snap.grants_of(&key) {
            if snapshot::is_direct(&snap.grants[i].grant) {
                direct += 1;
            } else {
                inherited += 1;
            }
        }
        let kind = principal_kind(snap, &key);
        listing.push(record! {
            "principal_type" => key.0,
            "id" => key.1,
            "display_name" => snap.resource_label(&key),
            "kind" => kind,
            "grants" => direct + inherited,
            "direct" => direct,
            "inherited" => inherited,
            "stored" => snap.resource(&key).is_some(),
        });
    }
    listing
}

/// `stats`: row counts of the sync per resource type.
pub fn stats(snap: &Snapshot) -> Result<Listing> {
    let stats = snap.file.stats(&snap.sync.sync_id)?;
    let mut types: Vec<&String> = stats
        .resources_by_resource_type
        .keys()
        .chain(stats.entitlements_by_resource_type.keys())
        .chain(stats.grants_by_resource_type.keys())
        .collect();
    types.sort();
    types.dedup();
    let mut listing = Listing::new(&["resource_type", "resources", "entitlements", "grants"]);
    let mut by_type = serde_json::Map::new();
    for t in types {
        let row = record! {
            "resource_type" => t,
            "resources" => stats.resources_by_resource_type.get(t).copied().unwrap_or(0),
            "entitlements" => stats.entitlements_by_resource_type.get(t).copied().unwrap_or(0),
            "grants" => stats.grants_by_resource_type.get(t).copied().unwrap_or(0),
        };
        by_type.insert(t.clone(), json!({ "resources": row["resources"], "entitlements": row["entitlements"], "grants": row["grants"] }));
        listing.push(row);
    }
    listing.push(record! {
        "resource_type" => "total",
        "resources" => stats.resources,
        "entitlements" => stats.entitlements,
        "grants" => stats.grants,
    });
    listing.header.push(format!(
        "sync {} ({} resource types)",
        snap.sync.sync_id, stats.resource_types
    ));
    listing.json = Some(json!({
        "sync_id": snap.sync.sync_id,
        "resource_types": stats.resource_types,
        "resources": stats.resources,
        "entitlements": stats.entitlements,
        "grants": stats.grants,
        "by_resource_type": by_type,
    }));
    Ok(listing)
}

/// `syncs`: every sync run of a file, oldest first, marking the one other subcommands read.
pub fn syncs(file: &C1zFile) -> Result<Listing> {
    let default = file.view_sync(None).ok().map(|s| s.sync_id);
    let mut listing = Listing::new(&[
        "sync_id",
        "type",
        "started_at",
        "ended_at",
        "resources",
        "grants",
        "default",
    ]);
    for run in file.syncs()? {
        let stats = file.stats(&run.sync_id)?;
        listing.push(record! {
            "sync_id" => run.sync_id,
            "type" => run.sync_type,
            "started_at" => snapshot::rfc3339(&run.started_at),
            "ended_at" => run.ended_at.as_deref().map(snapshot::rfc3339),
            "parent_sync_id" => run.parent_sync_id,
            "supports_diff" => run.supports_diff,
            "resource_types" => stats.resource_types,
            "resources" => stats.resources,
            "entitlements" => stats.entitlements,
            "grants" => stats.grants,
            "default" => if default.as_deref() == Some(run.sync_id.as_str()) { "yes" } else { "" },
        });
    }
    Ok(listing)
}

/// `user`, `group`, `role` or `other`, from the resource's trait annotation.
pub fn principal_kind(snap: &Snapshot, key: &snapshot::Key) -> &'static str {
    let Some(r) = snap.resource(key) else {
        return "unknown";
    };
    if c1z::any::contains::<UserTrait>(&r.annotations) {
        "user"
    } else if c1z::any::contains::<GroupTrait>(&r.annotations) {
        "group"
    } else if c1z::any::contains::<RoleTrait>(&r.annotations) {
        "role"
    } else {
        "other"
    }
}

fn trait_names(rt: &ResourceType) -> Vec<String> {
    rt.traits()
        .map(|t| t.as_str_name().trim_start_matches("TRAIT_").to_lowercase())
        .collect()
}

/// The message name of an annotation type URL, such as `UserTrait`.
fn short_type(type_url: &str) -> String {
    type_url.rsplit('.').next().unwrap_or(type_url).to_string()
}

fn count_resources_by_type(snap: &Snapshot) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in &snap.resources {
        *counts.entry(key_of(r.id.as_ref()).0).or_insert(0) += 1;
    }
    counts
}

fn count_grants_by_entitlement(snap: &Snapshot) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for g in &snap.grants {
        *counts
            .entry(snapshot::entitlement_id(&g.grant).to_string())
            .or_insert(0) += 1;
    }
    counts
}
