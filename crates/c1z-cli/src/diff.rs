//! Differences between two syncs: resources, entitlements and grants added
//! and removed, matched by their c1z keys (`TYPE:ID` for resources, the
//! entitlement id, the grant id).

use std::collections::BTreeMap;

use serde_json::json;

use crate::output::Listing;
use crate::record;
use crate::snapshot::{self, key_of, Snapshot};

/// One added or removed row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// `added` or `removed`.
    pub change: &'static str,
    /// `resource`, `entitlement` or `grant`.
    pub kind: &'static str,
    pub id: String,
    pub resource_type: String,
    pub name: String,
    /// For grants: the principal as `TYPE:ID`.
    pub principal: String,
    /// For grants: the entitlement id.
    pub entitlement: String,
}

/// Row summary of one side of a diff.
struct Side {
    resources: BTreeMap<String, Change>,
    entitlements: BTreeMap<String, Change>,
    grants: BTreeMap<String, Change>,
}

fn side(snap: &Snapshot) -> Side {
    let mut s = Side {
        resources: BTreeMap::new(),
        entitlements: BTreeMap::new(),
        grants: BTreeMap::new(),
    };
    for r in &snap.resources {
        let key = key_of(r.id.as_ref());
        let id = format!("{}:{}", key.0, key.1);
        s.resources.insert(
            id.clone(),
            Change {
                change: "",
                kind: "resource",
                id,
                resource_type: key.0.clone(),
                name: snap.resource_label(&key),
                principal: String::new(),
                entitlement: String::new(),
            },
        );
    }
    for e in &snap.entitlements {
        let key = key_of(e.resource.as_ref().and_then(|r| r.id.as_ref()));
        s.entitlements.insert(
            e.id.clone(),
            Change {
                change: "",
                kind: "entitlement",
                id: e.id.clone(),
                resource_type: key.0,
                name: snap.entitlement_name(&e.id, Some(e)),
                principal: String::new(),
                entitlement: String::new(),
            },
        );
    }
    for g in &snap.grants {
        let grant = &g.grant;
        let ent = snapshot::entitlement_id(grant);
        let pkey = snapshot::principal_key(grant);
        s.grants.insert(
            grant.id.clone(),
            Change {
                change: "",
                kind: "grant",
                id: grant.id.clone(),
                resource_type: snapshot::entitlement_resource_key(grant).0,
                name: format!(
                    "{} → {}",
                    snap.resource_label(&pkey),
                    snap.entitlement_name(ent, grant.entitlement.as_ref())
                ),
                principal: format!("{}:{}", pkey.0, pkey.1),
                entitlement: ent.to_string(),
            },
        );
    }
    s
}

/// Compares two syncs and returns the changes, removed before added within each kind.
pub fn changes(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
    let (a, b) = (side(old), side(new));
    let mut out = Vec::new();
    for (old_rows, new_rows) in [
        (&a.resources, &b.resources),
        (&a.entitlements, &b.entitlements),
        (&a.grants, &b.grants),
    ] {
        for (id, row) in old_rows {
            if !new_rows.contains_key(id) {
                out.push(Change {
                    change: "removed",
                    ..row.clone()
                });
            }
        }
        for (id, row) in new_rows {
            if !old_rows.contains_key(id) {
                out.push(Change {
                    change: "added",
                    ..row.clone()
                });
            }
        }
    }
    out
}

/// `diff`: the changes as a listing, with per-kind counts.
pub fn listing(old: &Snapshot, new: &Snapshot) -> Listing {
    let changes = changes(old, new);
    let mut listing = Listing::new(&["change", "kind", "resource_type", "id", "name"]);
    let mut summary: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for kind in ["resource", "entitlement", "grant"] {
        summary.insert(kind, BTreeMap::from([("added", 0), ("removed", 0)]));
    }
    for c in &changes {
        *summary.get_mut(c.kind).unwrap().get_mut(c.change).unwrap() += 1;
        listing.push(record! {
            "change" => c.change,
            "kind" => c.kind,
            "resource_type" => c.resource_type,
            "id" => c.id,
            "name" => c.name,
            "principal" => c.principal,
            "entitlement" => c.entitlement,
        });
    }
    let describe =
        |s: &Snapshot| json!({ "file": s.path.display().to_string(), "sync_id": s.sync.sync_id });
    listing.header.push(format!(
        "old: {} sync {}\nnew: {} sync {}",
        old.path.display(),
        old.sync.sync_id,
        new.path.display(),
        new.sync.sync_id
    ));
    listing.footer.push(
        summary
            .iter()
            .map(|(kind, c)| format!("{kind}s: {} added, {} removed", c["added"], c["removed"]))
            .collect::<Vec<_>>()
            .join("; "),
    );
    listing.json = Some(json!({
        "old": describe(old),
        "new": describe(new),
        "summary": summary,
        "changes": listing.records,
    }));
    listing
}
