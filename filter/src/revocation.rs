//! What this Envoy knows about a session beyond its token, shared by all its workers:
//! sessions ended by `DELETE` (refused at once on every worker) and backend sessions that a
//! restarted backend forgot ("stale": the session's calls to that server go to the broker,
//! which holds a replacement backend session).
//!
//! A session lives in its token, so ending it at the broker alone would leave the token
//! working on every path the filter serves by itself (routed calls go straight to backends,
//! and a 2026-07-28 call to a `sessionless` backend carries no backend session at all). When
//! the filter sees a `DELETE` on the MCP endpoint with a valid token, it records the
//! session's public id, with the token's expiry, in the proxy's **shared data** (one store
//! per Envoy process and `vm_id`, seen by all worker VMs), drops the token from its own VM's
//! [`crate::session_cache::SessionCache`], and passes the `DELETE` on to the broker. Every
//! later request carrying a session reads the store once and is answered HTTP 404, JSON-RPC
//! -32001 (session not found), exactly as an unknown session: the client initializes again.
//!
//! **Layout and memory bound.** The store holds [`BUCKETS`] keys
//! `mcp_gateway.revoked.<000..3ff>`; a session id hashes (FNV-1a) to one of them. Each value is
//! lines `<id> <expires_at>\n`, at most [`BUCKET_CAPACITY`] of them: writing a bucket first
//! drops the entries whose token has expired anyway, and when it is still full, the entry
//! closest to its expiry (the least remaining harm). Ids are the broker's 16 hex characters,
//! so a revocation is ~28 bytes (a learnt backend session, below, ~80, at most ~268). The
//! whole set holds at most 65,536 lines (`1024 × 64`, ~5 MB per Envoy process with every line
//! a usual learnt id, at most ~17 MB with every one as long as allowed); revocations are evicted only after every mark and learnt id of their bucket,
//! and only by another revocation (a mark or a learnt id meeting a bucket full of live
//! revocations is not written: the session's calls to that server go through the broker), so
//! at least the 65,536 most recently revoked live sessions are kept. Envoy's shared
//! data cannot delete keys, which is why the key set is fixed rather than one key per
//! session.
//!
//! **Cost.** One shared-data read per request that carries a session token (on top of the
//! header read every request makes): one crossing into Envoy (~0.4 µs), its shared-data mutex,
//! and a copy of one bucket (nothing for the usual empty bucket, ~1.8 KB for a full one of
//! revocations, ~5 KB of usual learnt ids, at most ~17 KB),
//! scanned linearly. Requests without a session pay nothing. A `DELETE` pays a read and a
//! compare-and-swap write, retried on a concurrent writer. Every write of a line is a
//! compare-and-swap: Envoy's `SharedData::set` checks no version for a key that does not exist
//! yet, so the root context creates all buckets empty at configure ([`create_buckets`]). A
//! revocation that still cannot be written (another VM kept winning the bucket) is kept in
//! the VM's own [`crate::session_cache::SessionCache`]: that worker refuses the session anyway.
//!
//! **Stale backend sessions** (issue 12) live in the same buckets, keyed by the same session
//! id, as lines `<id>/<server> <expires_at>`, so the one read a session-bearing request
//! already makes ([`lookup`]) answers both questions: no extra crossing, and nothing at all
//! for a session without marks (the usual empty or unrelated bucket). A mark is written when a
//! backend answers HTTP 404 to a call the filter sent straight to it with the backend session
//! id from the token (the backend restarted); it expires with the token. Marks and
//! revocations share the bucket bound above: an evicted mark only means that one more call of
//! that session goes straight to the backend, gets its 404 and is marked again.
//!
//! **Learnt backend sessions** (issue 12, part 2: sessions cost what they use) live there
//! too, as lines `<id>/<server>=<backend session id> <expires_at>`: `initialize` opens no
//! backend session, the broker opens one on the session's first call to a server and says so
//! on its answer (`x-mcp-backend-session`, removed here before the client sees it), and the
//! filter writes it down so that the session's later calls to that server go straight to the
//! backend. The same one read per request answers it. Only ids of visible ASCII whose line
//! is at most [`MAX_LEARNED_ENTRY_BYTES`] are learnt (a backend issuing longer or odd ids has
//! its sessions' calls go through the broker), so a full bucket stays under ~17 KB. One line per (session, server): a
//! learnt id replaces a stale mark and the other way round (a 404 for a learnt id marks it
//! stale; the broker's replacement is learnt in turn). An evicted learnt id costs one broker
//! hop, after which it is learnt again. At 10,000 sessions using 2 servers each, a bucket
//! holds ~20 lines (~1.6 KB copied per request).
//!
//! **Other Envoy replicas** cannot see this process's shared data: they keep accepting the
//! token until it expires (`session.lifetime_secs`, 24 h by default), unless the broker or
//! the backend refuses it (the broker ends the backend sessions it holds on `DELETE`, and a
//! backend that forgot its session answers 404 itself). An Envoy restart forgets the set too.
//! Deployments that need a fleet-wide revocation should keep session lifetimes short.

use mcpgw_common::backend_session;

use crate::host::Host;

/// Shared data keys used for revocations.
pub const BUCKETS: u32 = 1024;
/// Entries kept per bucket.
pub const BUCKET_CAPACITY: usize = 64;
/// The longest line key of a learnt backend session (`<session>/<server>=<backend id>`, ids
/// encoded): a longer one is not learnt, the session's calls to that server keep going
/// through the broker. Bounds what every request of a bucket's sessions copies.
pub const MAX_LEARNED_ENTRY_BYTES: usize = 256;
/// Compare-and-swap attempts before a revocation is given up (another VM kept writing the
/// same bucket in between).
const WRITE_ATTEMPTS: usize = 8;

/// The shared data key of the bucket holding `session_id`.
pub fn bucket_key(session_id: &str) -> String {
    // FNV-1a: ids are random, so any spreading hash will do; this one needs no dependency.
    let hash = session_id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    key_of_bucket(hash % BUCKETS)
}

/// The shared data key of bucket `bucket` (`0..BUCKETS`).
fn key_of_bucket(bucket: u32) -> String {
    format!("mcp_gateway.revoked.{bucket:03x}")
}

/// How an id is written in a bucket: as it is when it is made of safe bytes (the broker's ids
/// are hex), otherwise hex-encoded behind a `~`, so that no id can break the line format (the
/// encoding of the `x-mcp-backend-session` header, `mcpgw_common::backend_session`).
fn entry_id(session_id: &str) -> std::borrow::Cow<'_, str> {
    backend_session::encode_part(session_id)
}

/// The `(id, expires_at)` entries of a bucket value; malformed lines are skipped.
fn entries(value: &[u8]) -> impl Iterator<Item = (&[u8], u64)> {
    value.split(|b| *b == b'\n').filter_map(|line| {
        let space = line.iter().position(|b| *b == b' ')?;
        let (id, rest) = line.split_at(space);
        let expires = std::str::from_utf8(rest.get(1..)?).ok()?.parse().ok()?;
        Some((id, expires))
    })
}

/// The line key of a stale mark: `<session>/<server>`. `/` never occurs in an
/// [`entry_id`], so a mark can never read as a revocation or as another session's mark.
fn stale_entry(session_id: &str, server: &str) -> String {
    format!("{}/{}", entry_id(session_id), entry_id(server))
}

/// The line key of a learnt backend session: `<session>/<server>=<backend session id>`.
fn learned_entry(session_id: &str, server: &str, backend_session_id: &str) -> String {
    format!("{}/{}={}", entry_id(session_id), entry_id(server), entry_id(backend_session_id))
}

/// Whether line key `entry` is about the pair `<session>/<server>` (a stale mark or a learnt
/// id): at most one such line is kept per pair.
fn is_about_pair(entry: &[u8], pair: &[u8]) -> bool {
    entry.strip_prefix(pair).is_some_and(|rest| rest.is_empty() || rest.first() == Some(&b'='))
}

/// What the store says about one session.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Marks {
    /// Ended by a `DELETE` seen by this Envoy.
    pub revoked: bool,
    /// Servers (as [`entry_id`]s) whose backend session is stale: a restarted backend forgot
    /// it, and the broker holds (or opens) the replacement.
    stale: Vec<Vec<u8>>,
    /// Backend sessions learnt from the broker: (server as an [`entry_id`], the backend's
    /// session id, empty for a backend that issues none).
    learned: Vec<(Vec<u8>, String)>,
}

impl Marks {
    /// Whether `server`'s backend session was forgotten by a restarted backend.
    pub fn is_stale(&self, server: &str) -> bool {
        !self.stale.is_empty() && self.stale.iter().any(|s| s.as_slice() == entry_id(server).as_bytes())
    }

    /// The backend session id this Envoy learnt for `server` (`Some("")`: the backend issues
    /// none), `None` when the session has none with it yet (or it is stale).
    pub fn learned(&self, server: &str) -> Option<&str> {
        if self.learned.is_empty() {
            return None;
        }
        let wanted = entry_id(server);
        self.learned.iter().find(|(s, _)| s.as_slice() == wanted.as_bytes()).map(|(_, id)| id.as_str())
    }

    /// The learnt pairs as the `x-mcp-backend-session` request header carries them to the
    /// broker; `None` when there are none.
    pub fn learned_header(&self) -> Option<String> {
        if self.learned.is_empty() {
            return None;
        }
        let pairs: Vec<String> =
            self.learned.iter().map(|(server, id)| format!("{} {}", String::from_utf8_lossy(server), entry_id(id))).collect();
        Some(pairs.join(", "))
    }
}

/// Everything this Envoy recorded about the session `session_id`: one shared-data read.
pub fn lookup(host: &dyn Host, session_id: &str) -> Marks {
    let (Some(value), _) = host.shared_data(&bucket_key(session_id)) else { return Marks::default() };
    let id = entry_id(session_id);
    let mut marks = Marks::default();
    for (entry, _) in entries(&value) {
        let Some(rest) = entry.strip_prefix(id.as_bytes()) else { continue };
        match rest.split_first() {
            None => marks.revoked = true,
            Some((b'/', pair)) => match pair.iter().position(|b| *b == b'=') {
                None => marks.stale.push(pair.to_vec()),
                Some(eq) => {
                    let (server, sid) = pair.split_at(eq);
                    if let Some(sid) = sid.get(1..).and_then(backend_session::decode_part) {
                        marks.learned.push((server.to_vec(), sid));
                    }
                }
            },
            Some(_) => {}
        }
    }
    marks
}

/// Whether the session `session_id` was revoked on this Envoy. One shared-data read.
pub fn is_revoked(host: &dyn Host, session_id: &str) -> bool {
    lookup(host, session_id).revoked
}

/// Records the session `session_id` (whose token expires at `expires_at`) as revoked.
/// `false` when the write kept losing to other VMs' writes of the same bucket.
pub fn revoke(host: &mut dyn Host, session_id: &str, expires_at: u64, now: u64) -> bool {
    let id = entry_id(session_id).into_owned();
    record(host, session_id, &id, |e| e == id.as_bytes(), expires_at, now)
}

/// Records that `server` forgot its backend session of `session_id` (it answered 404): until
/// the broker teaches a new one (or the token expires), this Envoy sends that session's calls
/// for `server` to the broker. Replaces the learnt id of the pair.
pub fn mark_stale(host: &mut dyn Host, session_id: &str, server: &str, expires_at: u64, now: u64) -> bool {
    let pair = stale_entry(session_id, server);
    record(host, session_id, &pair, |e| is_about_pair(e, pair.as_bytes()), expires_at, now)
}

/// Records the backend session the broker opened for `(session_id, server)` (from its
/// `x-mcp-backend-session` answer header): this Envoy's workers send the session's later
/// calls for `server` straight to the backend with it. Replaces a stale mark or an older id
/// of the pair; kept until the token expires (or evicted, see the module docs). Not learnt
/// (`false`): an id with other than visible ASCII, or whose line would be longer than
/// [`MAX_LEARNED_ENTRY_BYTES`].
pub fn learn(host: &mut dyn Host, session_id: &str, server: &str, backend_session_id: &str, expires_at: u64, now: u64) -> bool {
    // Visible ASCII only (what an HTTP header token carries), and a bounded line: a backend
    // issuing long or odd ids keeps its sessions' calls going through the broker.
    if !backend_session_id.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let pair = stale_entry(session_id, server);
    let entry = learned_entry(session_id, server, backend_session_id);
    if entry.len() > MAX_LEARNED_ENTRY_BYTES {
        return false;
    }
    record(host, session_id, &entry, |e| is_about_pair(e, pair.as_bytes()), expires_at, now)
}

/// Creates every bucket that does not exist yet, empty (the root context's configure, before
/// the VM serves a request). Envoy's shared data has no compare-and-swap for a key that does
/// not exist (`SharedData::set` ignores `cas` then), so this is what lets every write of a
/// line be one: [`record`] never writes content into a missing bucket.
pub fn create_buckets(host: &mut dyn Host) {
    for bucket in 0..BUCKETS {
        let key = key_of_bucket(bucket);
        if host.shared_data(&key).1.is_none() {
            host.set_shared_data(&key, b"", None);
        }
    }
}

/// Writes line `entry` into the bucket of `session_id` (compare-and-swap, bounded bucket),
/// dropping the lines `replaces` says it supersedes. A full bucket drops expired lines, then
/// marks and learnt ids before revocations (losing one costs a broker hop, losing a revocation
/// would let an ended session back in), each the one closest to its expiry first; a mark or a
/// learnt id is not written at all (`false`) into a bucket full of live revocations.
fn record(host: &mut dyn Host, session_id: &str, entry: &str, replaces: impl Fn(&[u8]) -> bool, expires_at: u64, now: u64) -> bool {
    let key = bucket_key(session_id);
    let id = entry;
    let is_revocation = !entry.contains('/');
    for _ in 0..WRITE_ATTEMPTS {
        let (current, cas) = host.shared_data(&key);
        // An empty value reads as `(None, Some(cas))` through the SDK.
        let (current, Some(cas)) = (current.unwrap_or_default(), cas) else {
            // Not created at configure (see [`create_buckets`]): created empty, then written
            // by version on the next attempt, never with content and no version.
            host.set_shared_data(&key, b"", None);
            continue;
        };
        let mut kept: Vec<(&[u8], u64)> =
            entries(&current).filter(|(entry, expires)| *expires > now && !replaces(entry)).collect();
        while kept.len() >= BUCKET_CAPACITY {
            let soonest = kept
                .iter()
                .enumerate()
                .min_by_key(|(_, (entry, expires))| (!entry.contains(&b'/'), *expires))
                .map(|(i, (entry, _))| (i, !entry.contains(&b'/')));
            match soonest {
                // A mark or a learnt id is never written at the cost of a live revocation:
                // not writing it only costs a broker hop.
                Some((_, true)) if !is_revocation => return false,
                Some((i, _)) => {
                    kept.swap_remove(i);
                }
                None => break,
            }
        }
        let mut value = Vec::with_capacity(current.len() + id.len() + 22);
        for (entry, expires) in kept.iter().chain(std::iter::once(&(id.as_bytes(), expires_at))) {
            value.extend_from_slice(entry);
            value.push(b' ');
            value.extend_from_slice(expires.to_string().as_bytes());
            value.push(b'\n');
        }
        if host.set_shared_data(&key, &value, Some(cas)) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use crate::recording_host::RecordingHost;

    #[test]
    fn revoked_ids_are_seen_by_every_host_sharing_the_store() {
        let mut a = RecordingHost::default();
        let b = RecordingHost { shared: a.shared.clone(), ..RecordingHost::default() };
        assert!(!is_revoked(&b, "00aa11bb22cc33dd"));
        assert!(revoke(&mut a, "00aa11bb22cc33dd", 5_000, 1_000));
        assert!(is_revoked(&b, "00aa11bb22cc33dd"));
        assert!(!is_revoked(&b, "00aa11bb22cc33de"));
        // Revoking again keeps one entry.
        assert!(revoke(&mut a, "00aa11bb22cc33dd", 5_000, 1_000));
        let shared = a.shared.borrow();
        let (value, _) = shared.values.get(&bucket_key("00aa11bb22cc33dd")).unwrap();
        assert_eq!(entries(value).count(), 1);
    }

    #[test]
    fn odd_ids_cannot_break_the_format() {
        let mut h = RecordingHost::default();
        for id in ["a b 99", "x\ny 1", "", "~"] {
            assert!(revoke(&mut h, id, 5_000, 1_000), "{id:?}");
            assert!(is_revoked(&h, id), "{id:?}");
        }
        assert!(!is_revoked(&h, "a"), "a prefix of a revoked id is not revoked");
        assert!(!is_revoked(&h, "x"));
    }

    #[test]
    fn buckets_are_bounded_and_drop_expired_entries_first() {
        let mut h = RecordingHost::default();
        // Ids that land in one bucket.
        let key = bucket_key("s0");
        let same: Vec<String> = (0..100_000).map(|i| format!("s{i}")).filter(|id| bucket_key(id) == key).take(BUCKET_CAPACITY + 10).collect();
        assert_eq!(same.len(), BUCKET_CAPACITY + 10);
        // One already expired at the next write, the rest live, expiring later and later.
        assert!(revoke(&mut h, &same[0], 1_001, 1_000));
        for (i, id) in same.iter().enumerate().skip(1) {
            assert!(revoke(&mut h, id, 10_000 + i as u64, 2_000));
        }
        let shared = h.shared.borrow();
        let (value, _) = shared.values.get(&key).unwrap();
        assert_eq!(entries(value).count(), BUCKET_CAPACITY);
        drop(shared);
        assert!(!is_revoked(&h, &same[0]), "expired entries go first");
        assert!(!is_revoked(&h, &same[1]), "then the one closest to its expiry");
        assert!(is_revoked(&h, same.last().unwrap()));
        let all_buckets = BUCKETS as usize * BUCKET_CAPACITY;
        assert_eq!(all_buckets, 65_536);
    }

    /// Ids that land in the bucket of `first` (itself included).
    fn same_bucket(first: &str, n: usize) -> Vec<String> {
        let key = bucket_key(first);
        std::iter::once(first.to_string())
            .chain((0..1_000_000).map(|i| format!("s{i}")).filter(|id| bucket_key(id) == key && id != first))
            .take(n)
            .collect()
    }

    #[test]
    fn marks_and_learnt_ids_never_evict_a_live_revocation() {
        let mut h = RecordingHost::default();
        let same = same_bucket("s0", BUCKET_CAPACITY + 1);
        for id in same.iter().take(BUCKET_CAPACITY) {
            assert!(revoke(&mut h, id, 5_000, 1_000));
        }
        let other = &same[BUCKET_CAPACITY];
        assert!(!learn(&mut h, other, "alpha", "abc", 9_000, 1_000), "not written");
        assert!(!mark_stale(&mut h, other, "beta", 9_000, 1_000), "not written");
        for id in same.iter().take(BUCKET_CAPACITY) {
            assert!(is_revoked(&h, id), "{id} still revoked");
        }
        assert_eq!(lookup(&h, other).learned("alpha"), None);
        // A revocation still evicts the one closest to its expiry.
        assert!(revoke(&mut h, other, 9_000, 1_000));
        assert!(is_revoked(&h, other));
    }

    #[test]
    fn learnt_ids_are_bounded_and_visible_ascii() {
        let mut h = RecordingHost::default();
        // 512 unsafe bytes would encode to a ~1.1 KB line: refused, as is anything encoding
        // past the bound.
        let long = ":".repeat(512);
        assert!(!learn(&mut h, "00aa11bb22cc33dd", "alpha", &long, 5_000, 1_000));
        let just_over = ":".repeat(MAX_LEARNED_ENTRY_BYTES / 2);
        assert!(!learn(&mut h, "00aa11bb22cc33dd", "alpha", &just_over, 5_000, 1_000));
        for odd in ["a b", "tab\there", "nl\n", "caf\u{e9}", "\u{7f}"] {
            assert!(!learn(&mut h, "00aa11bb22cc33dd", "alpha", odd, 5_000, 1_000), "{odd:?}");
        }
        assert_eq!(lookup(&h, "00aa11bb22cc33dd").learned("alpha"), None);
        // Visible ASCII within the bound is learnt, unsafe characters included.
        for ok in ["", "a:b/c", &"x".repeat(200)] {
            assert!(learn(&mut h, "00aa11bb22cc33dd", "alpha", ok, 5_000, 1_000), "{ok:?}");
            assert_eq!(lookup(&h, "00aa11bb22cc33dd").learned("alpha"), Some(ok));
        }
    }

    #[test]
    fn every_write_of_content_is_a_compare_and_swap() {
        let mut h = RecordingHost::default();
        create_buckets(&mut h);
        assert_eq!(h.shared.borrow().values.len(), BUCKETS as usize);
        assert!(revoke(&mut h, "00aa11bb22cc33dd", 5_000, 1_000));
        // Another VM configuring later does not wipe what was written.
        create_buckets(&mut h);
        assert!(is_revoked(&h, "00aa11bb22cc33dd"));
        // A bucket missing anyway (never created) is created empty, then written by version.
        let mut fresh = RecordingHost::default();
        assert!(revoke(&mut fresh, "00aa11bb22cc33dd", 5_000, 1_000));
        assert!(learn(&mut fresh, "00aa11bb22cc33de", "alpha", "x", 5_000, 1_000));
        assert!(is_revoked(&fresh, "00aa11bb22cc33dd"));
        assert_eq!(h.shared.borrow().unversioned_writes + fresh.shared.borrow().unversioned_writes, 0);
    }

    #[test]
    fn the_store_refuses_stale_versions() {
        let mut h = RecordingHost::default();
        assert!(revoke(&mut h, "first", 5_000, 1_000));
        // Another VM writes the same bucket between our read and our write: simulated by a
        // stale version, which the store refuses.
        let key = bucket_key("first");
        let (_, cas) = h.shared_data(&key);
        assert!(h.shared.borrow_mut().set(&key, b"first 5000\nother 5000\n", cas));
        assert!(!h.set_shared_data(&key, b"lost\n", cas), "stale version refused");
        assert!(is_revoked(&h, "first"));
        // A later revocation starts from what the other VM wrote.
        let second = (0..10_000).map(|i| format!("s{i}")).find(|id| bucket_key(id) == key).unwrap();
        assert!(revoke(&mut h, &second, 5_000, 1_000));
        let (value, _) = h.shared_data(&key);
        let value = String::from_utf8(value.unwrap()).unwrap();
        assert!(value.contains("first 5000\nother 5000\n") && value.contains(&second), "{value}");
    }
}
