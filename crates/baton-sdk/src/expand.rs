//! Grant expansion, as the Go SDK does it after grants are collected.
//!
//! A grant `G` of entitlement `D` whose `expansion` names source entitlement
//! `S` is an edge `S → D`: whoever holds `S` also holds `D`. Every holder of
//! `S` gets a grant of `D` (id `D:<type>:<id>`, annotated `GrantImmutable`,
//! with `sources = {S: {is_direct}}`), and holders that already had a grant of
//! `D` have `S` added to its sources. A shallow edge carries only grants that
//! are direct for `S`. Propagation runs to a fixed point over a work list,
//! so chains of any length and cycles both end: the set of grants and
//! sources only grows and is finite.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};


use c1z::any;
use c1z::v2::{grant_sources::GrantSource, Entitlement, Grant, GrantExpandable, GrantImmutable, GrantSources};
use c1z::C1zFile;
use prost::Message;
use tracing::{info, warn};

/// What expansion did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpansionReport {
    /// Edges in the graph.
    pub edges: usize,
    /// Edges dropped because their destination entitlement has no row.
    pub dropped_edges: usize,
    /// New grants written.
    pub created: usize,
    /// Existing grants whose sources changed.
    pub updated: usize,
}

/// Why expansion failed.
#[derive(Debug, thiserror::Error)]
pub enum ExpansionError {
    #[error(transparent)]
    File(#[from] c1z::Error),
    #[error("grant {grant}: source entitlement {source_id} belongs to {source_resource}, not to the grant's principal {principal}")]
    Mismatch { grant: String, source_id: String, source_resource: String, principal: String },
}

#[derive(Debug, Clone)]
struct Edge {
    shallow: bool,
    /// `None` when any principal type passes.
    types: Option<BTreeSet<String>>,
}

struct Slot {
    grant: Grant,
    is_new: bool,
    dirty: bool,
}

#[derive(Default)]
struct EntitlementGrants {
    slots: Vec<Slot>,
    by_principal: HashMap<(String, String), Vec<usize>>,
}

/// Expands the grants of one sync in place.
pub fn expand_grants(file: &C1zFile, sync_id: &str) -> Result<ExpansionReport, ExpansionError> {
    let mut report = ExpansionReport::default();
    let mut edges: BTreeMap<(String, String), Edge> = BTreeMap::new();
    let mut entitlements: HashMap<String, Option<Entitlement>> = HashMap::new();
    let mut lookup = |id: &str| -> Result<Option<Entitlement>, ExpansionError> {
        if let Some(found) = entitlements.get(id) {
            return Ok(found.clone());
        }
        let found = file.entitlement(sync_id, id)?;
        entitlements.insert(id.to_string(), found.clone());
        Ok(found)
    };

    let expandable: Vec<(String, String, String, String, Vec<u8>)> = {
        let mut stmt = file.conn().prepare(
            "SELECT external_id, entitlement_id, principal_resource_type_id, principal_resource_id, expansion FROM v1_grants \
             WHERE sync_id = ?1 AND expansion IS NOT NULL AND needs_expansion = 1 ORDER BY id",
        ).map_err(c1z::Error::from)?;
        let rows = stmt
            .query_map([sync_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .map_err(c1z::Error::from)?;
        rows.collect::<Result<_, _>>().map_err(c1z::Error::from)?
    };
    let mut missing_destinations: BTreeSet<String> = BTreeSet::new();
    for (grant_id, dest, ptype, pid, blob) in &expandable {
        let Ok(expansion) = GrantExpandable::decode(blob.as_slice()) else { continue };
        for source in expansion.entitlement_ids.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let Some(source_ent) = lookup(source)? else { continue };
            let source_rid = source_ent.resource.as_ref().and_then(|r| r.id.clone()).unwrap_or_default();
            if source_rid.resource_type != *ptype || source_rid.resource != *pid {
                return Err(ExpansionError::Mismatch {
                    grant: grant_id.clone(),
                    source_id: source.into(),
                    source_resource: format!("{}:{}", source_rid.resource_type, source_rid.resource),
                    principal: format!("{ptype}:{pid}"),
                });
            }
            let types = if expansion.resource_type_ids.is_empty() {
                None
            } else {
                Some(expansion.resource_type_ids.iter().cloned().collect::<BTreeSet<_>>())
            };
            report.edges += 1;
            if lookup(dest)?.is_none() {
                missing_destinations.insert(dest.clone());
                report.dropped_edges += 1;
                continue;
            }
            edges
                .entry((source.to_string(), dest.clone()))
                .and_modify(|e| {
                    e.shallow &= expansion.shallow;
                    e.types = match (e.types.take(), &types) {
                        (Some(mut a), Some(b)) => {
                            a.extend(b.iter().cloned());
                            Some(a)
                        }
                        _ => None,
                    };
                })
                .or_insert(Edge { shallow: expansion.shallow, types });
        }
    }
    info!(edges = report.edges, "Finished loading entitlement graph");
    if report.dropped_edges > 0 {
        warn!(
            edges = report.dropped_edges,
            entitlements = missing_destinations.len(),
            "grant expansion: some expandable grants point at entitlements that are not in this sync (for example AWS managed policies attached through Identity Center that IAM did not list); those grants are kept but not expanded"
        );
    }

    let mut outgoing: HashMap<String, Vec<String>> = HashMap::new();
    for (source, dest) in edges.keys() {
        outgoing.entry(source.clone()).or_default().push(dest.clone());
    }
    let mut grants: HashMap<String, EntitlementGrants> = HashMap::new();
    let mut queue: VecDeque<(String, String)> = edges.keys().cloned().collect();
    let mut queued: BTreeSet<(String, String)> = queue.iter().cloned().collect();

    while let Some(key) = queue.pop_front() {
        queued.remove(&key);
        let (source, dest) = &key;
        let edge = edges[&key].clone();
        load(file, sync_id, &mut grants, source)?;
        load(file, sync_id, &mut grants, dest)?;
        let carried: Vec<(Grant, bool)> = grants[source]
            .slots
            .iter()
            .filter_map(|slot| {
                let principal = slot.grant.principal.as_ref()?.id.as_ref()?;
                if let Some(types) = &edge.types {
                    if !types.contains(&principal.resource_type) {
                        return None;
                    }
                }
                let sources = slot.grant.sources.as_ref();
                let direct = sources.is_none_or(|s| s.is_empty() || s.contains_key(source));
                (direct || !edge.shallow).then(|| (slot.grant.clone(), direct))
            })
            .collect();
        let dest_entitlement = entitlements_cache_get(file, sync_id, dest)?;
        let mut changed = false;
        let target = grants.get_mut(dest).expect("loaded above");
        for (held, direct) in carried {
            let principal = held.principal.clone().unwrap_or_default();
            let pid = principal.id.clone().unwrap_or_default();
            let key = (pid.resource_type.clone(), pid.resource.clone());
            match target.by_principal.get(&key) {
                None => {
                    let mut sources = GrantSources::default();
                    sources.insert(source, GrantSource { is_direct: direct });
                    let grant = Grant {
                        entitlement: Some(dest_entitlement.clone()),
                        principal: Some(principal),
                        id: format!("{dest}:{}:{}", pid.resource_type, pid.resource),
                        annotations: vec![any::pack(&GrantImmutable::default())],
                        sources: Some(sources),
                    };
                    target.by_principal.insert(key, vec![target.slots.len()]);
                    target.slots.push(Slot { grant, is_new: true, dirty: true });
                    changed = true;
                }
                Some(indexes) => {
                    for &i in indexes {
                        let slot = &mut target.slots[i];
                        let sources = slot.grant.sources.get_or_insert_with(GrantSources::default);
                        let mut touched = false;
                        if sources.is_empty() {
                            sources.insert(dest, GrantSource { is_direct: true });
                            touched = true;
                        }
                        match sources.get_mut(source) {
                            None => {
                                sources.insert(source, GrantSource { is_direct: direct });
                                touched = true;
                            }
                            Some(existing) if direct && !existing.is_direct => {
                                existing.is_direct = true;
                                touched = true;
                            }
                            Some(_) => {}
                        }
                        if touched {
                            slot.dirty = true;
                            changed = true;
                        }
                    }
                }
            }
        }
        if changed {
            for next in outgoing.get(dest).into_iter().flatten() {
                let next_key = (dest.clone(), next.clone());
                if queued.insert(next_key.clone()) {
                    queue.push_back(next_key);
                }
            }
        }
    }

    let mut created = Vec::new();
    let mut updated = Vec::new();
    let mut keys: Vec<&String> = grants.keys().collect();
    keys.sort();
    for key in keys {
        for slot in &grants[key].slots {
            if slot.dirty {
                if slot.is_new {
                    created.push(slot.grant.clone());
                } else {
                    updated.push(slot.grant.clone());
                }
            }
        }
    }
    report.created = created.len();
    report.updated = updated.len();
    file.put_expanded_grants(sync_id, &updated)?;
    file.put_expanded_grants(sync_id, &created)?;
    info!(created = report.created, updated = report.updated, "Expanded grants");
    Ok(report)
}

fn entitlements_cache_get(file: &C1zFile, sync_id: &str, id: &str) -> Result<Entitlement, ExpansionError> {
    Ok(file.entitlement(sync_id, id)?.unwrap_or_default())
}

fn load(file: &C1zFile, sync_id: &str, grants: &mut HashMap<String, EntitlementGrants>, entitlement: &str) -> Result<(), ExpansionError> {
    if grants.contains_key(entitlement) {
        return Ok(());
    }
    let mut state = EntitlementGrants::default();
    let mut stmt = file
        .conn()
        .prepare_cached("SELECT data FROM v1_grants WHERE sync_id = ?1 AND entitlement_id = ?2 ORDER BY id")
        .map_err(c1z::Error::from)?;
    let rows = stmt.query_map([sync_id, entitlement], |r| r.get::<_, Vec<u8>>(0)).map_err(c1z::Error::from)?;
    for data in rows {
        let data = data.map_err(c1z::Error::from)?;
        let Ok(grant) = Grant::decode(data.as_slice()) else { continue };
        let pid = grant.principal.as_ref().and_then(|p| p.id.clone()).unwrap_or_default();
        state.by_principal.entry((pid.resource_type, pid.resource)).or_default().push(state.slots.len());
        state.slots.push(Slot { grant, is_new: false, dirty: false });
    }
    grants.insert(entitlement.to_string(), state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{expandable, grant, id_only, rid};
    use c1z::v2::Resource;

    fn ent(rt: &str, id: &str, slug: &str) -> Entitlement {
        Entitlement {
            resource: Some(Resource { id: Some(rid(rt, id)), display_name: id.into(), ..Default::default() }),
            id: format!("{rt}:{id}:{slug}"),
            ..Default::default()
        }
    }

    fn setup(shallow_chain: bool) -> (tempfile::TempDir, C1zFile, String) {
        let dir = tempfile::tempdir().unwrap();
        let file = C1zFile::open(&dir.path().join("x.c1z"), None).unwrap();
        let sync = file.start_sync("full", "").unwrap();
        // u1 is in group g1; g1 is in group g2 (nested); g2 holds policy p.
        let g1 = ent("group", "g1", "member");
        let g2 = ent("group", "g2", "member");
        let p = ent("policy", "p", "attached");
        file.put_entitlements(&sync, &[g1.clone(), g2.clone(), p.clone()]).unwrap();
        let mut g1_in_g2 = grant(g2.clone(), &rid("group", "g1"));
        g1_in_g2.annotations.push(expandable(vec![g1.id.clone()], false));
        let mut g2_has_p = grant(p.clone(), &rid("group", "g2"));
        g2_has_p.annotations.push(expandable(vec![g2.id.clone()], shallow_chain));
        file.put_grants(&sync, &[grant(g1.clone(), &rid("user", "u1")), g1_in_g2, g2_has_p]).unwrap();
        let _ = id_only("user", "u1");
        (dir, file, sync)
    }

    #[test]
    fn deep_edges_propagate_transitively() {
        let (_dir, file, sync) = setup(false);
        let report = expand_grants(&file, &sync).unwrap();
        let got: BTreeSet<String> = file.grants(&sync).unwrap().into_iter().map(|(g, _)| g.id).collect();
        assert!(got.contains("group:g2:member:user:u1"));
        assert!(got.contains("policy:p:attached:user:u1"));
        assert!(got.contains("policy:p:attached:group:g1"));
        assert_eq!(report.created, 3);
        let u1 = file.grant(&sync, "policy:p:attached:user:u1").unwrap().unwrap();
        let sources = u1.sources.unwrap();
        assert_eq!(sources.keys().collect::<Vec<_>>(), vec!["group:g2:member"]);
        assert!(!sources.get("group:g2:member").unwrap().is_direct);
        assert!(any::contains::<GrantImmutable>(&u1.annotations));
    }

    #[test]
    fn shallow_edges_carry_only_direct_holders() {
        let (_dir, file, sync) = setup(true);
        expand_grants(&file, &sync).unwrap();
        assert!(file.grant(&sync, "policy:p:attached:group:g1").unwrap().is_some(), "g1 holds g2 directly");
        assert!(file.grant(&sync, "policy:p:attached:user:u1").unwrap().is_none(), "u1 holds g2 only indirectly");
    }

    #[test]
    fn cycles_terminate() {
        let dir = tempfile::tempdir().unwrap();
        let file = C1zFile::open(&dir.path().join("c.c1z"), None).unwrap();
        let sync = file.start_sync("full", "").unwrap();
        let a = ent("role", "a", "assignment");
        let b = ent("role", "b", "assignment");
        file.put_entitlements(&sync, &[a.clone(), b.clone()]).unwrap();
        let mut b_assumes_a = grant(a.clone(), &rid("role", "b"));
        b_assumes_a.annotations.push(expandable(vec![b.id.clone()], false));
        let mut a_assumes_b = grant(b.clone(), &rid("role", "a"));
        a_assumes_b.annotations.push(expandable(vec![a.id.clone()], false));
        file.put_grants(&sync, &[b_assumes_a, a_assumes_b, grant(a.clone(), &rid("user", "u"))]).unwrap();
        expand_grants(&file, &sync).unwrap();
        assert!(file.grant(&sync, "role:b:assignment:user:u").unwrap().is_some());
        assert!(file.grant(&sync, "role:a:assignment:role:a").unwrap().is_some());
    }

    #[test]
    fn existing_direct_grant_gains_its_own_id_and_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = C1zFile::open(&dir.path().join("d.c1z"), None).unwrap();
        let sync = file.start_sync("full", "").unwrap();
        let g = ent("group", "g", "member");
        let p = ent("policy", "p", "attached");
        file.put_entitlements(&sync, &[g.clone(), p.clone()]).unwrap();
        let mut group_has_p = grant(p.clone(), &rid("group", "g"));
        group_has_p.annotations.push(expandable(vec![g.id.clone()], true));
        file.put_grants(&sync, &[grant(g.clone(), &rid("user", "u")), grant(p.clone(), &rid("user", "u")), group_has_p]).unwrap();
        let report = expand_grants(&file, &sync).unwrap();
        assert_eq!((report.created, report.updated), (0, 1));
        let direct = file.grant(&sync, "policy:p:attached:user:u").unwrap().unwrap();
        let sources = direct.sources.unwrap();
        assert_eq!(sources.keys().collect::<Vec<_>>(), vec!["group:g:member", "policy:p:attached"]);
    }
}
