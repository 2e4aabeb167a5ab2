//! Effective access of a principal: the grants it holds, directly or through
//! groups, roles and permission sets, each with the path that gives it.
//!
//! Stored grants explain themselves through `sources` (the SDK's grant
//! expansion writes `{source entitlement: {is_direct}}`). The expansion edges
//! stored in `v1_grants.expansion` are also walked again. The SDK drops an edge
//! whose destination entitlement row is missing, and this walk still reports
//! the access such an edge gives, marked as derived.

use std::collections::{HashMap, HashSet, VecDeque};

use c1z::v2::Grant;

use crate::output::Listing;
use crate::record;
use crate::snapshot::{self, Key, Snapshot};

/// How a principal holds one entitlement.
#[derive(Debug, Clone)]
pub struct Holding {
    pub entitlement_id: String,
    /// Indexes into `Snapshot::grants` of the stored grants, empty when derived.
    pub grants: Vec<usize>,
    /// Held directly (a connector grant, or an expanded grant that names itself as a source).
    pub direct: bool,
    /// Source entitlements that give this one, in the order found.
    pub via: Vec<String>,
}

impl Holding {
    /// Whether no stored grant backs this holding: only the expansion edges imply it.
    pub fn derived(&self) -> bool {
        self.grants.is_empty()
    }
}

/// Every entitlement one principal holds.
#[derive(Debug)]
pub struct EffectiveAccess {
    pub principal: Key,
    pub holdings: Vec<Holding>,
    index: HashMap<String, usize>,
}

impl EffectiveAccess {
    /// The holding of one entitlement.
    pub fn get(&self, entitlement_id: &str) -> Option<&Holding> {
        self.index.get(entitlement_id).map(|&i| &self.holdings[i])
    }
}

/// Expansion edges of a sync: source entitlement id to the indexes of the
/// grants whose `expansion` names it.
pub struct Edges(HashMap<String, Vec<usize>>);

impl Edges {
    /// Indexes the expansion edges of a snapshot.
    pub fn of(snap: &Snapshot) -> Self {
        let mut edges: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, g) in snap.grants.iter().enumerate() {
            if let Some(expansion) = &g.expansion {
                for source in &expansion.entitlement_ids {
                    edges.entry(source.trim().to_string()).or_default().push(i);
                }
            }
        }
        Edges(edges)
    }
}

/// Computes the effective access of `principal`.
pub fn effective_access(snap: &Snapshot, edges: &Edges, principal: &Key) -> EffectiveAccess {
    let mut access = EffectiveAccess {
        principal: principal.clone(),
        holdings: Vec::new(),
        index: HashMap::new(),
    };
    for &i in snap.grants_of(principal) {
        let grant = &snap.grants[i].grant;
        let ent = snapshot::entitlement_id(grant).to_string();
        let via: Vec<String> = snapshot::sources(grant)
            .into_iter()
            .map(|(s, _)| s)
            .filter(|s| *s != ent)
            .collect();
        let direct = snapshot::is_direct(grant);
        match access.index.get(&ent) {
            Some(&h) => {
                let holding = &mut access.holdings[h];
                holding.grants.push(i);
                holding.direct |= direct;
                for s in via {
                    if !holding.via.contains(&s) {
                        holding.via.push(s);
                    }
                }
            }
            None => {
                access.index.insert(ent.clone(), access.holdings.len());
                access.holdings.push(Holding {
                    entitlement_id: ent,
                    grants: vec![i],
                    direct,
                    via,
                });
            }
        }
    }

    // Walk the expansion edges from every held entitlement, breadth first.
    let mut queue: VecDeque<String> = access
        .holdings
        .iter()
        .map(|h| h.entitlement_id.clone())
        .collect();
    let mut seen: HashSet<String> = queue.iter().cloned().collect();
    while let Some(source) = queue.pop_front() {
        let source_direct = access.get(&source).is_some_and(|h| h.direct);
        for &i in edges.0.get(&source).map(Vec::as_slice).unwrap_or(&[]) {
            let stored = &snap.grants[i];
            let expansion = stored
                .expansion
                .as_ref()
                .expect("edges index only grants with expansion");
            if expansion.shallow && !source_direct {
                continue;
            }
            if !expansion.resource_type_ids.is_empty()
                && !expansion.resource_type_ids.contains(&principal.0)
            {
                continue;
            }
            let dest = snapshot::entitlement_id(&stored.grant).to_string();
            if dest == source {
                continue;
            }
            match access.index.get(&dest) {
                Some(&h) => {
                    let holding = &mut access.holdings[h];
                    if !holding.via.contains(&source) {
                        holding.via.push(source.clone());
                    }
                }
                None => {
                    access.index.insert(dest.clone(), access.holdings.len());
                    access.holdings.push(Holding {
                        entitlement_id: dest.clone(),
                        grants: Vec::new(),
                        direct: false,
                        via: vec![source.clone()],
                    });
                }
            }
            if seen.insert(dest.clone()) {
                queue.push_back(dest);
            }
        }
    }
    access
}

/// Describes how a holding is held, following `via` back to a direct
/// holding: `direct`, `via Group developers (member)`, or a chain joined by ` ← `.
pub fn describe_holding(snap: &Snapshot, access: &EffectiveAccess, holding: &Holding) -> String {
    let mut parts = Vec::new();
    if holding.direct {
        parts.push("direct".to_string());
    }
    for source in &holding.via {
        let mut chain = vec![snap.entitlement_label(source, None)];
        let mut visited: HashSet<&str> =
            HashSet::from([holding.entitlement_id.as_str(), source.as_str()]);
        let mut current = access.get(source);
        while let Some(h) = current {
            if h.direct || chain.len() >= 10 {
                break;
            }
            let Some(next) = h.via.iter().find(|v| !visited.contains(v.as_str())) else {
                break;
            };
            visited.insert(next);
            chain.push(snap.entitlement_label(next, None));
            current = access.get(next);
        }
        parts.push(format!("via {}", chain.join(" ← ")));
    }
    if parts.is_empty() {
        parts.push("direct".to_string());
    }
    parts.join("; ")
}

/// Describes a stored grant from its own `sources`: `direct`, `via …`, or both.
pub fn describe_grant(snap: &Snapshot, grant: &Grant) -> String {
    let own = snapshot::entitlement_id(grant);
    let mut parts = Vec::new();
    if snapshot::is_direct(grant) {
        parts.push("direct".to_string());
    }
    for (source, _) in snapshot::sources(grant) {
        if source != own {
            parts.push(format!("via {}", snap.entitlement_label(&source, None)));
        }
    }
    parts.join("; ")
}

/// `access PRINCIPAL`: one row per entitlement the principal holds.
pub fn listing(snap: &Snapshot, principal: &Key) -> Listing {
    let edges = Edges::of(snap);
    let access = effective_access(snap, &edges, principal);
    let mut listing = Listing::new(&[
        "entitlement",
        "resource_type",
        "resource",
        "granted",
        "origin",
    ]);
    let (mut direct, mut inherited, mut derived) = (0, 0, 0);
    for holding in &access.holdings {
        let ent = snap.any_entitlement(&holding.entitlement_id);
        let rkey = snapshot::key_of(
            ent.and_then(|e| e.resource.as_ref())
                .and_then(|r| r.id.as_ref()),
        );
        let origin = if holding.derived() {
            derived += 1;
            "derived"
        } else if holding.direct {
            direct += 1;
            "stored"
        } else {
            inherited += 1;
            "stored"
        };
        let grant_ids: Vec<&str> = holding
            .grants
            .iter()
            .map(|&i| snap.grants[i].grant.id.as_str())
            .collect();
        listing.push(record! {
            "entitlement" => snap.entitlement_name(&holding.entitlement_id, ent),
            "entitlement_id" => holding.entitlement_id,
            "resource_type" => rkey.0,
            "resource" => snap.resource_label(&rkey),
            "resource_id" => rkey.1,
            "granted" => describe_holding(snap, &access, holding),
            "direct" => holding.direct,
            "via" => holding.via,
            "origin" => origin,
            "grant_ids" => grant_ids,
        });
    }
    let name = snap.resource_label(principal);
    listing.header.push(format!(
        "Effective access of {} {} ({}:{})",
        snap.type_label(&principal.0),
        name,
        principal.0,
        principal.1
    ));
    listing.footer.push(format!(
        "{} entitlements: {direct} direct, {inherited} inherited through grant expansion, {derived} inferred by c1z from expandable grants that the file left unexpanded",
        access.holdings.len()
    ));
    listing.json = Some(serde_json::json!({
        "principal": { "resource_type": principal.0, "id": principal.1, "display_name": name },
        "sync_id": snap.sync.sync_id,
        "entitlements": listing.records,
    }));
    listing
}
