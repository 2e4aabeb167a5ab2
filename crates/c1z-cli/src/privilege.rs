//! Privileged access: entitlements that give administrator-equivalent
//! permissions, and users with console access but no MFA.
//!
//! An entitlement is privileged when it is an administrator-equivalent AWS
//! managed policy, a managed or inline policy whose `policy_document` allows
//! `*` on `*`, or an entitlement that makes its holder a member of something
//! (group, role, permission set assignment, account permission set) that
//! itself holds a privileged entitlement.

use std::collections::{BTreeMap, HashMap};

use c1z::v2::UserTrait;

use crate::aws;
use crate::snapshot::{self, key_of, Key, Snapshot};

/// Profile keys that record whether a user can sign in to the console.
/// NOTE: the Go baton-aws writes none of them and no MFA status, so the
/// console-without-MFA check finds nothing in its files.
pub const CONSOLE_ACCESS_KEYS: &[&str] = &[
    "console_access",
    "aws_console_access",
    "password_enabled",
    "aws_password_enabled",
    "login_profile",
];

/// The privileged entitlements and user findings of one sync.
#[derive(Debug, Default)]
pub struct Privileges {
    /// Entitlement id to the reason it is privileged.
    pub entitlements: HashMap<String, String>,
    /// Users with console access and MFA off: key to finding.
    pub users: BTreeMap<Key, String>,
}

impl Privileges {
    /// The reason an entitlement is privileged, if it is.
    pub fn reason(&self, entitlement_id: &str) -> Option<&str> {
        self.entitlements.get(entitlement_id).map(String::as_str)
    }
}

/// Finds the privileged entitlements and user findings of a snapshot.
pub fn analyze(snap: &Snapshot) -> Privileges {
    let mut found = Privileges::default();

    // Policies that are privileged on their own.
    let mut policy_entitlements: Vec<(String, Key)> = snap
        .entitlements
        .iter()
        .map(|e| {
            (
                e.id.clone(),
                key_of(e.resource.as_ref().and_then(|r| r.id.as_ref())),
            )
        })
        .collect();
    for g in &snap.grants {
        policy_entitlements.push((
            snapshot::entitlement_id(&g.grant).to_string(),
            snapshot::entitlement_resource_key(&g.grant),
        ));
    }
    for (id, key) in policy_entitlements {
        if found.entitlements.contains_key(&id) {
            continue;
        }
        if let Some(reason) = policy_reason(snap, &key) {
            found.entitlements.insert(id, reason);
        }
    }

    // Entitlements that confer membership of a holder of a privileged entitlement.
    let conferring = conferring_entitlements(snap);
    for _round in 0..10 {
        let mut added = false;
        for g in &snap.grants {
            let ent = snapshot::entitlement_id(&g.grant);
            let Some(reason) = found.entitlements.get(ent).cloned() else {
                continue;
            };
            let holder = snapshot::principal_key(&g.grant);
            for conferred in conferring.get(&holder).map(Vec::as_slice).unwrap_or(&[]) {
                if !found.entitlements.contains_key(conferred) {
                    let text = format!(
                        "{} holds {}: {}",
                        snap.resource_label(&holder),
                        snap.entitlement_name(ent, g.grant.entitlement.as_ref()),
                        root_reason(&reason)
                    );
                    found.entitlements.insert(conferred.clone(), text);
                    added = true;
                }
            }
        }
        if !added {
            break;
        }
    }

    for r in &snap.resources {
        if let Some(finding) = console_without_mfa(r) {
            found.users.insert(key_of(r.id.as_ref()), finding);
        }
    }
    found
}

/// The reason a policy resource is privileged on its own.
fn policy_reason(snap: &Snapshot, key: &Key) -> Option<String> {
    match key.0.as_str() {
        "iam_policy" => {
            if let Some(reason) = aws::admin_equivalent_policy(&key.1) {
                return Some(reason.to_string());
            }
            document_reason(snap, key, "managed policy")
        }
        "inline_policy" => document_reason(snap, key, "inline policy"),
        _ => None,
    }
}

fn document_reason(snap: &Snapshot, key: &Key, kind: &str) -> Option<String> {
    let resource = snap.resource(key)?;
    let document = snapshot::profile_string(resource, "policy_document")?;
    aws::allows_everything(&document)
        .then(|| format!("{kind} {} allows * on *", snap.resource_label(key)))
}

/// Drops the "X holds Y: " prefixes of a propagated reason, keeping the root cause.
fn root_reason(reason: &str) -> &str {
    reason.rsplit(": ").next().unwrap_or(reason)
}

/// For each resource that can hold grants for others, the entitlements whose
/// holders receive its grants through expansion: its own entitlements (group
/// membership, role assignment, binding `assigned`), and for a permission set
/// the account entitlements `<account>|<psArn>` and bindings `<psArn>-<account>`.
fn conferring_entitlements(snap: &Snapshot) -> HashMap<Key, Vec<String>> {
    let mut map: HashMap<Key, Vec<String>> = HashMap::new();
    for e in &snap.entitlements {
        let key = key_of(e.resource.as_ref().and_then(|r| r.id.as_ref()));
        if matches!(key.0.as_str(), "iam_policy" | "inline_policy") {
            continue;
        }
        map.entry(key.clone()).or_default().push(e.id.clone());
        let permission_set = match key.0.as_str() {
            "account" => e.id.split_once('|').map(|(_, ps)| ps.to_string()),
            "permission_set_assignment" => aws::binding_permission_set(&key.1).map(str::to_string),
            _ => None,
        };
        if let Some(ps) = permission_set {
            map.entry(("permission_set".to_string(), ps))
                .or_default()
                .push(e.id.clone());
        }
    }
    map
}

/// A finding for a user with console access and MFA off, when the data records both.
pub fn console_without_mfa(resource: &c1z::v2::Resource) -> Option<String> {
    let user: UserTrait = c1z::any::find(&resource.annotations)?;
    let mfa = user.mfa_status.as_ref()?.mfa_enabled;
    let console = CONSOLE_ACCESS_KEYS
        .iter()
        .find_map(|k| snapshot::profile_bool(resource, k))?;
    (console && !mfa).then(|| "console access without MFA".to_string())
}
