//! Per-sync caches of Identity Center reads that several resource types
//! share, safe under concurrent syncers: each key is read at most once even
//! when many tasks ask for it at the same time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_sdk_ssoadmin::types::{AccountAssignment, PermissionSet};
use tokio::sync::OnceCell;

use crate::sso::SsoPage;

/// Values by key, each computed by the first caller that asks (single flight).
pub struct Flights<V> {
    cells: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
}

impl<V> Default for Flights<V> {
    fn default() -> Self {
        Flights {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Flights<V> {
    /// The value of `key`, computed with `init` unless another caller has
    /// computed it or is computing it. A failed `init` is not remembered.
    pub async fn get_or_try_init<E, F, Fut>(&self, key: &str, init: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = self
            .cells
            .lock()
            .expect("cache lock")
            .entry(key.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(init).await.cloned()
    }
}

/// Pages of `sso:ListAccountAssignments`, read by both the `account` grants
/// and the `permission_set_assignment` grants, kept until both have read them.
#[derive(Default)]
struct SharedPages {
    pages: HashMap<String, (SsoPage<AccountAssignment>, u8)>,
    held_assignments: usize,
}

/// The Identity Center caches of one sync.
pub struct SsoCache {
    pub permission_sets: Flights<Vec<String>>,
    pub descriptions: Flights<PermissionSet>,
    pub provisioned: Flights<Vec<String>>,
    /// AWS managed policies of a permission set, as (ARN, name).
    pub managed_policies: Flights<Option<Vec<(String, String)>>>,
    /// Customer managed policy references of a permission set, as (name, path).
    pub customer_policies: Flights<Option<Vec<(String, String)>>>,
    assignments: Mutex<SharedPages>,
    /// How many syncers read each assignment page: 2 when both `account` and
    /// `permission_set_assignment` grants are synced, else nothing is kept.
    assignment_readers: u8,
}

/// At most this many assignments are held for their second reader; pages
/// beyond it are read from AWS twice, which bounds the memory held.
const MAX_HELD_ASSIGNMENTS: usize = 20_000;

impl SsoCache {
    pub fn new(assignment_readers: u8) -> Self {
        SsoCache {
            permission_sets: Flights::default(),
            descriptions: Flights::default(),
            provisioned: Flights::default(),
            managed_policies: Flights::default(),
            customer_policies: Flights::default(),
            assignments: Mutex::new(SharedPages::default()),
            assignment_readers,
        }
    }

    /// A page of account assignments of `permission_set` on `account`: the
    /// copy another reader left, or a fresh read with `fetch`, kept for the
    /// other reader.
    pub async fn assignments<E, F, Fut>(
        &self,
        account: &str,
        permission_set: &str,
        token: &str,
        fetch: F,
    ) -> Result<SsoPage<AccountAssignment>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SsoPage<AccountAssignment>, E>>,
    {
        let key = format!("{account}|{permission_set}|{token}");
        {
            let mut shared = self.assignments.lock().expect("cache lock");
            if let Some((page, reads)) = shared.pages.get_mut(&key) {
                *reads += 1;
                let page = page.clone();
                if *reads >= self.assignment_readers {
                    let len = page.0.len();
                    shared.pages.remove(&key);
                    shared.held_assignments -= len;
                }
                return Ok(page);
            }
        }
        let page = fetch().await?;
        if self.assignment_readers > 1 {
            let mut shared = self.assignments.lock().expect("cache lock");
            if shared.held_assignments + page.0.len() <= MAX_HELD_ASSIGNMENTS
                && !shared.pages.contains_key(&key)
            {
                shared.held_assignments += page.0.len();
                shared.pages.insert(key, (page.clone(), 1));
            }
        }
        Ok(page)
    }
}
