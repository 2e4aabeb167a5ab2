//! A small HTTP proxy in front of moto that pages IAM listings moto returns
//! whole, injects faults (access denied, throttling, bad credentials), adds
//! list members, and records every call it forwards.
//!
//! It speaks just enough HTTP/1.1 for the AWS SDK: one request per
//! connection (it answers `Connection: close`), bodies by Content-Length.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One call the proxy forwarded or handled itself.
#[derive(Debug, Clone)]
pub struct Call {
    pub action: String,
    pub params: HashMap<String, String>,
}

/// An error returned instead of forwarding the call.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// How many more times to answer with it; `None` means every time.
    pub remaining: Option<usize>,
}

/// A rewrite of a response body: (action, request params, body) to new body.
pub type Rewrite = Arc<dyn Fn(&str, &HashMap<String, String>, String) -> String + Send + Sync>;

#[derive(Default)]
pub struct Rules {
    /// Page IAM listings with this many items per page.
    pub page_size: Option<usize>,
    /// Faults by action name.
    pub faults: HashMap<String, Fault>,
    /// Extra `<member>` XML to add to the list of a listing, by action.
    pub inject: HashMap<String, String>,
    /// Faults answered only when a request parameter contains a text:
    /// (action, parameter, text, fault).
    pub conditional: Vec<(String, String, String, Fault)>,
    /// Members added to the JSON body of requests, by action.
    pub json_params: HashMap<String, Vec<(String, serde_json::Value)>>,
    /// Every n-th call of these actions (by a shared counter) is throttled.
    pub throttle_every: Option<(Vec<String>, usize)>,
    throttle_seen: usize,
    /// Canned JSON answers by action, used in order (the last one repeats),
    /// for operations moto does not implement.
    pub answers: HashMap<String, Vec<String>>,
    /// A fixed wait before each forwarded call, like a network round trip.
    pub delay: Option<std::time::Duration>,
    /// Free-form response rewrites.
    pub rewrites: Vec<Rewrite>,
    /// Every call seen, in order.
    pub calls: Vec<Call>,
    /// Credentials from `AssumeRole` last this long. The response's
    /// `Expiration` is set to match, and a call signed with them afterwards
    /// gets the error `ExpiredToken`, as from AWS.
    pub credential_lifetime: Option<std::time::Duration>,
    /// When each assumed access key id stops working.
    expiries: HashMap<String, std::time::Instant>,
    /// Calls rejected with `ExpiredToken`.
    pub expired_calls: usize,
}

pub struct Proxy {
    pub port: u16,
    pub rules: Arc<Mutex<Rules>>,
}

/// The list element of each IAM listing the proxy can page.
fn container(action: &str) -> Option<&'static str> {
    Some(match action {
        "ListUsers" | "GetGroup" => "Users",
        "ListRoles" => "Roles",
        "ListGroups" | "ListGroupsForUser" => "Groups",
        "ListPolicies" => "Policies",
        "ListUserPolicies" | "ListRolePolicies" | "ListGroupPolicies" => "PolicyNames",
        "ListAttachedUserPolicies" | "ListAttachedRolePolicies" | "ListAttachedGroupPolicies" => {
            "AttachedPolicies"
        }
        "ListAccessKeys" => "AccessKeyMetadata",
        _ => return None,
    })
}

impl Proxy {
    /// Starts a proxy to moto on `upstream_port`.
    pub fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let rules = Arc::new(Mutex::new(Rules::default()));
        let shared = rules.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let rules = shared.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, upstream_port, &rules);
                });
            }
        });
        Proxy { port, rules }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers `action` with these JSON bodies in turn instead of forwarding it.
    pub fn answer(&self, action: &str, bodies: Vec<String>) {
        self.rules
            .lock()
            .unwrap()
            .answers
            .insert(action.into(), bodies);
    }

    /// Throttles every n-th call among `actions`.
    pub fn throttle_every(&self, actions: &[&str], n: usize) {
        self.rules.lock().unwrap().throttle_every =
            Some((actions.iter().map(|a| a.to_string()).collect(), n));
    }

    pub fn set_delay(&self, delay: std::time::Duration) {
        self.rules.lock().unwrap().delay = Some(delay);
    }

    pub fn set_page_size(&self, size: usize) {
        self.rules.lock().unwrap().page_size = Some(size);
    }

    pub fn fault(&self, action: &str, status: u16, code: &str, remaining: Option<usize>) {
        self.rules.lock().unwrap().faults.insert(
            action.into(),
            Fault {
                status,
                code: code.into(),
                message: format!("injected {code} for {action}"),
                remaining,
            },
        );
    }

    /// Answers `action` with an error whenever its parameter `param` contains `text`.
    pub fn fault_when(&self, action: &str, param: &str, text: &str, status: u16, code: &str) {
        self.rules.lock().unwrap().conditional.push((
            action.into(),
            param.into(),
            text.into(),
            Fault {
                status,
                code: code.into(),
                message: format!("injected {code} for {action}"),
                remaining: None,
            },
        ));
    }

    /// Adds a member to the JSON body of every `action` request (for example a page size).
    pub fn json_param(&self, action: &str, key: &str, value: serde_json::Value) {
        self.rules
            .lock()
            .unwrap()
            .json_params
            .entry(action.into())
            .or_default()
            .push((key.into(), value));
    }

    pub fn inject_member(&self, action: &str, member_xml: &str) {
        self.rules
            .lock()
            .unwrap()
            .inject
            .insert(action.into(), member_xml.into());
    }

    pub fn rewrite(&self, f: Rewrite) {
        self.rules.lock().unwrap().rewrites.push(f);
    }

    /// Makes assumed-role credentials expire after `lifetime` (see [`Rules::credential_lifetime`]).
    pub fn expire_assumed_credentials_after(&self, lifetime: std::time::Duration) {
        self.rules.lock().unwrap().credential_lifetime = Some(lifetime);
    }

    /// Counts the calls rejected for being signed with expired credentials.
    pub fn expired_calls(&self) -> usize {
        self.rules.lock().unwrap().expired_calls
    }

    pub fn calls(&self) -> Vec<Call> {
        self.rules.lock().unwrap().calls.clone()
    }

    pub fn count(&self, action: &str) -> usize {
        self.rules
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.action == action)
            .count()
    }
}

struct Request {
    head: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(stream: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = String::new();
    if stream.read_line(&mut head)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length = header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body)?;
    Ok(Some(Request {
        head: head.trim_end().to_string(),
        headers,
        body,
    }))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn form_decode(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn action_of(request: &Request) -> (String, HashMap<String, String>) {
    if let Some(target) = header(&request.headers, "x-amz-target") {
        let action = target.rsplit('.').next().unwrap_or(target).to_string();
        let mut params = HashMap::new();
        if let Ok(serde_json::Value::Object(map)) =
            serde_json::from_slice::<serde_json::Value>(&request.body)
        {
            for (k, v) in map {
                params.insert(
                    k,
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                );
            }
        }
        return (action, params);
    }
    let params = form_decode(&String::from_utf8_lossy(&request.body));
    (params.get("Action").cloned().unwrap_or_default(), params)
}

fn handle(stream: TcpStream, upstream: u16, rules: &Mutex<Rules>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let (action, params) = action_of(&request);
    let json = header(&request.headers, "x-amz-target").is_some();
    let fault = {
        let mut rules = rules.lock().unwrap();
        rules.calls.push(Call {
            action: action.clone(),
            params: params.clone(),
        });
        let storm = match rules.throttle_every.clone() {
            Some((actions, n)) if actions.contains(&action) => {
                rules.throttle_seen += 1;
                (rules.throttle_seen % n == 0).then(|| Fault {
                    status: 400,
                    code: "ThrottlingException".into(),
                    message: "injected throttling".into(),
                    remaining: None,
                })
            }
            _ => None,
        };
        let key_id = header(&request.headers, "authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
            .unwrap_or_default()
            .to_string();
        let expired = rules
            .expiries
            .get(&key_id)
            .is_some_and(|at| std::time::Instant::now() >= *at);
        if expired {
            rules.expired_calls += 1;
        }
        let storm = storm.or_else(|| {
            expired.then(|| Fault {
                status: 403,
                code: "ExpiredToken".into(),
                message: "The security token included in the request is expired".into(),
                remaining: None,
            })
        });
        let conditional = storm.or_else(|| {
            rules
                .conditional
                .iter()
                .find(|(a, p, text, _)| {
                    *a == action && params.get(p).is_some_and(|v| v.contains(text.as_str()))
                })
                .map(|(_, _, _, f)| f.clone())
        });
        if conditional.is_some() {
            conditional
        } else {
            match rules.faults.get_mut(&action) {
                Some(f) if f.remaining != Some(0) => {
                    if let Some(n) = f.remaining.as_mut() {
                        *n -= 1;
                    }
                    Some(f.clone())
                }
                _ => None,
            }
        }
    };
    let mut out = stream;
    let canned = {
        let mut rules = rules.lock().unwrap();
        match rules.answers.get_mut(&action) {
            Some(list) if fault.is_none() && !list.is_empty() => Some(if list.len() > 1 {
                list.remove(0)
            } else {
                list[0].clone()
            }),
            _ => None,
        }
    };
    if let Some(body) = canned {
        return respond(
            &mut out,
            200,
            &[("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body.as_bytes(),
        );
    }
    if let Some(fault) = fault {
        let (content_type, body) = if json {
            (
                "application/x-amz-json-1.1",
                format!(
                    "{{\"__type\":\"{}\",\"message\":\"{}\"}}",
                    fault.code, fault.message
                ),
            )
        } else {
            (
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>",
                    fault.code, fault.message
                ),
            )
        };
        return respond(
            &mut out,
            fault.status,
            &[("Content-Type".into(), content_type.into())],
            body.as_bytes(),
        );
    }

    // Forward, asking moto for everything (paging is done here).
    let mut body = request.body.clone();
    let page_size = rules.lock().unwrap().page_size;
    let paged = !json && page_size.is_some() && container(&action).is_some();
    let mut offset = 0usize;
    if paged {
        let mut forwarded = params.clone();
        if let Some(marker) = forwarded.remove("Marker") {
            offset = marker.parse().unwrap_or(0);
        }
        forwarded.remove("MaxItems");
        body = forwarded
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes();
    }
    if json {
        if let Some(extra) = rules.lock().unwrap().json_params.get(&action) {
            if let Ok(serde_json::Value::Object(mut map)) =
                serde_json::from_slice::<serde_json::Value>(&body)
            {
                for (k, v) in extra {
                    map.insert(k.clone(), v.clone());
                }
                body = serde_json::Value::Object(map).to_string().into_bytes();
            }
        }
    }
    let delay = rules.lock().unwrap().delay;
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    let (status, headers, response) = forward(upstream, &request, &body)?;
    let mut text = String::from_utf8_lossy(&response).into_owned();
    if status < 300 {
        let rules = rules.lock().unwrap();
        if let (Some(extra), Some(list)) = (rules.inject.get(&action), container(&action)) {
            text = inject(&text, list, extra);
        }
        if paged {
            text = page(
                &text,
                container(&action).unwrap(),
                offset,
                page_size.unwrap(),
            );
        }
        for rewrite in &rules.rewrites {
            text = rewrite(&action, &params, text);
        }
    }
    if status < 300 && action == "AssumeRole" {
        let mut rules = rules.lock().unwrap();
        if let Some(lifetime) = rules.credential_lifetime {
            text = shorten_credentials(&text, lifetime, &mut rules.expiries);
        }
    }
    let headers: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(k, _)| {
            !["content-length", "connection", "transfer-encoding"]
                .contains(&k.to_ascii_lowercase().as_str())
        })
        .collect();
    respond(&mut out, status, &headers, text.as_bytes())
}

/// Rewrites the `Expiration` of an `AssumeRole` response to `lifetime` from
/// now and records when its access key id stops working.
fn shorten_credentials(
    xml: &str,
    lifetime: std::time::Duration,
    expiries: &mut HashMap<String, std::time::Instant>,
) -> String {
    let between = |open: &str, close: &str| -> Option<(usize, usize)> {
        let start = xml.find(open)? + open.len();
        Some((start, start + xml[start..].find(close)?))
    };
    let (Some(key), Some((exp_start, exp_end))) = (
        between("<AccessKeyId>", "</AccessKeyId>"),
        between("<Expiration>", "</Expiration>"),
    ) else {
        return xml.to_string();
    };
    expiries.insert(
        xml[key.0..key.1].to_string(),
        std::time::Instant::now() + lifetime,
    );
    let at = time::OffsetDateTime::now_utc() + lifetime;
    let stamp = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!("{}{}{}", &xml[..exp_start], stamp, &xml[exp_end..])
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn forward(
    upstream: u16,
    request: &Request,
    body: &[u8],
) -> std::io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let mut out = format!("{}\r\n", request.head);
    for (k, v) in &request.headers {
        let lower = k.to_ascii_lowercase();
        if lower == "content-length" || lower == "connection" || lower == "host" {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Host: 127.0.0.1:{upstream}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    up.write_all(out.as_bytes())?;
    up.write_all(body)?;
    let mut reader = BufReader::new(up);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut response = Vec::new();
    if header(&headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            response.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) =
        header(&headers, "content-length").and_then(|v| v.parse::<usize>().ok())
    {
        response.resize(length, 0);
        reader.read_exact(&mut response)?;
    } else {
        reader.read_to_end(&mut response)?;
    }
    Ok((status, headers, response))
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\n",
        if status < 300 { "OK" } else { "Error" }
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// The `<member>` elements directly inside `<list>`, and where the list's content starts and ends.
fn members(xml: &str, list: &str) -> Option<(usize, usize, Vec<String>)> {
    let open = format!("<{list}>");
    let close = format!("</{list}>");
    let start = xml.find(&open)? + open.len();
    let mut pos = start;
    let mut depth = 0usize;
    let mut items = Vec::new();
    let mut item_start = 0;
    loop {
        let next_open = xml[pos..].find("<member>").map(|i| i + pos);
        let next_close = xml[pos..].find("</member>").map(|i| i + pos);
        let list_end = xml[pos..].find(&close).map(|i| i + pos)?;
        match (next_open, next_close) {
            (Some(o), Some(c)) if o < c && o < list_end => {
                if depth == 0 {
                    item_start = o;
                }
                depth += 1;
                pos = o + "<member>".len();
            }
            (_, Some(c)) if depth > 0 => {
                depth -= 1;
                pos = c + "</member>".len();
                if depth == 0 {
                    items.push(xml[item_start..pos].to_string());
                }
            }
            _ => return Some((start, list_end, items)),
        }
    }
}

fn inject(xml: &str, list: &str, member: &str) -> String {
    match members(xml, list) {
        Some((_, end, _)) => format!("{}{}{}", &xml[..end], member, &xml[end..]),
        None => xml.to_string(),
    }
}

fn page(xml: &str, list: &str, offset: usize, size: usize) -> String {
    let Some((start, end, items)) = members(xml, list) else {
        return xml.to_string();
    };
    let slice: String = items.iter().skip(offset).take(size).cloned().collect();
    let truncated = offset + size < items.len();
    let mut out = format!("{}{}{}", &xml[..start], slice, &xml[end..]);
    for flag in [
        "<IsTruncated>false</IsTruncated>",
        "<IsTruncated>true</IsTruncated>",
    ] {
        out = out.replace(flag, "");
    }
    if let (Some(a), Some(b)) = (out.find("<Marker>"), out.find("</Marker>")) {
        out.replace_range(a..b + "</Marker>".len(), "");
    }
    let close = format!("</{list}>");
    let at = out
        .find(&close)
        .map(|i| i + close.len())
        .unwrap_or(out.len());
    let mut extra = format!("<IsTruncated>{truncated}</IsTruncated>");
    if truncated {
        extra.push_str(&format!("<Marker>{}</Marker>", offset + size));
    }
    out.insert_str(at, &extra);
    out
}
