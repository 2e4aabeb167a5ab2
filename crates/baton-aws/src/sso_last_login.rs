//! Identity Center sign-ins from CloudTrail (`--sync-sso-user-last-login`).
//!
//! CloudTrail keeps management events for 90 days. Every `Federate` and
//! `Authenticate` event of `sso.amazonaws.com` in that window names the
//! Identity Store user it was on behalf of; the latest one per user is that
//! user's last login. A user with no event in the window gets no last login:
//! unknown, not "never".

use std::collections::{HashMap, HashSet};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_smithy_types::DateTime;
use prost_types::Timestamp;

use crate::client::{classify, AwsError};

/// How far back CloudTrail's event history goes.
const WINDOW_SECONDS: i64 = 90 * 24 * 3600;

/// The latest sign-in per Identity Store user id, for one identity store.
pub async fn fetch(
    client: &aws_sdk_cloudtrail::Client,
    identity_store_id: &str,
) -> Result<HashMap<String, Timestamp>, AwsError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut latest: HashMap<String, Timestamp> = HashMap::new();
    let mut token: Option<String> = None;
    let mut seen = HashSet::new();
    loop {
        let out = client
            .lookup_events()
            .lookup_attributes(
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::EventSource)
                    .attribute_value("sso.amazonaws.com")
                    .build()
                    .expect("lookup attribute"),
            )
            .start_time(DateTime::from_secs(now - WINDOW_SECONDS))
            .end_time(DateTime::from_secs(now))
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| classify("cloudtrail:LookupEvents", &e))?;
        for event in out.events.unwrap_or_default() {
            let (Some(time), Some(body)) = (event.event_time, event.cloud_trail_event.as_deref())
            else {
                continue;
            };
            let Ok(record) = serde_json::from_str::<serde_json::Value>(body) else {
                continue;
            };
            let name = record["eventName"]
                .as_str()
                .or(event.event_name.as_deref())
                .unwrap_or("");
            if name != "Federate" && name != "Authenticate" {
                continue;
            }
            let on_behalf = &record["userIdentity"]["onBehalfOf"];
            let (Some(user), Some(store_arn)) = (
                on_behalf["userId"].as_str(),
                on_behalf["identityStoreArn"].as_str(),
            ) else {
                continue;
            };
            if store_arn.rsplit('/').next() != Some(identity_store_id) {
                continue;
            }
            let stamp = Timestamp {
                seconds: time.secs(),
                nanos: time.subsec_nanos() as i32,
            };
            let entry = latest.entry(user.to_string()).or_insert(stamp.clone());
            if (stamp.seconds, stamp.nanos) > (entry.seconds, entry.nanos) {
                *entry = stamp;
            }
        }
        match out.next_token.filter(|t| !t.is_empty()) {
            Some(next) if seen.insert(next.clone()) => token = Some(next),
            Some(next) => {
                return Err(AwsError {
                    operation: "cloudtrail:LookupEvents",
                    code: String::new(),
                    message: format!(
                        "the page token {next:?} came back twice; the listing would never end"
                    ),
                    kind: baton_sdk::ErrorKind::Internal,
                })
            }
            None => return Ok(latest),
        }
    }
}
