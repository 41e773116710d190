//! The secrets of a release, known once and masked everywhere.
//!
//! A `SecretSet` holds every secret value of a release in each form it may
//! take in text: raw, percent-encoded (and decoded), and base64 (standard
//! and URL-safe, with and without padding, plus the three offset-aligned
//! inner parts that stay the same when the secret sits inside a longer
//! base64 string). `mask` hides all of them, and also hides credentials by
//! shape (URL passwords, secret-looking query values, webhook paths) so a
//! credential nobody declared still does not reach a sink.

use sha2::{Digest, Sha256};

/// What a masked secret looks like.
pub const MASK: &str = "***";
/// Shorter values are not masked: they would hide ordinary words.
pub const MIN_SECRET_CHARS: usize = 4;

#[derive(Clone, Default)]
pub struct SecretSet {
    /// Every form to hide, longest first (so a form containing another is
    /// masked whole).
    forms: Vec<String>,
    /// All forms in one automaton: a line is scanned once, not once per
    /// form (output floods go through here).
    matcher: Option<aho_corasick::AhoCorasick>,
}

/// Never the values: a debug print of the app state must not leak them.
impl std::fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretSet({} forms)", self.forms.len())
    }
}

impl PartialEq for SecretSet {
    fn eq(&self, other: &Self) -> bool {
        self.forms == other.forms
    }
}

impl SecretSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no value is known (shape-based masking still applies).
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Remember a secret value in all its forms. Values shorter than
    /// `MIN_SECRET_CHARS` are ignored.
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        let mut forms = vec![secret.to_string()];
        let decoded = percent_decode(secret);
        if decoded != secret && decoded.chars().count() >= MIN_SECRET_CHARS {
            forms.push(decoded.clone());
        }
        for value in [secret.to_string(), decoded] {
            let encoded = percent_encode(&value);
            forms.push(lower_hex(&encoded));
            forms.push(encoded.replace("%20", "+"));
            forms.push(encoded);
            forms.extend(base64_forms(value.as_bytes()));
        }
        for f in forms {
            if f.chars().count() >= MIN_SECRET_CHARS && !self.forms.contains(&f) {
                self.forms.push(f);
            }
        }
        self.rebuild();
    }

    fn rebuild(&mut self) {
        self.forms
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.matcher = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&self.forms)
            .ok();
    }

    /// Remember the credentials in every URL inside `text`: the userinfo
    /// password and the values of secret-looking query parameters.
    pub fn add_url(&mut self, text: &str) {
        for url in urls(text) {
            if let Some(pw) = url_password(url) {
                self.add(pw);
            }
            for (_, value) in secret_query_values(url) {
                self.add(value);
            }
        }
    }

    /// A webhook URL: its credentials, and the path after the host (where a
    /// Slack or Discord token sits).
    pub fn add_webhook(&mut self, url: &str) {
        self.add_url(url);
        if let Some(path) = url_path(url)
            && path.trim_matches('/').chars().count() >= MIN_SECRET_CHARS
        {
            self.add(path);
            // The token alone (Slack's and Discord's last segment), when it
            // is long enough not to be an ordinary word.
            let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
            if let Some(last) = path.trim_end_matches('/').rsplit('/').next()
                && last.chars().count() >= 8
            {
                self.add(last);
            }
        }
    }

    /// A request header: its value when the name says it carries a
    /// credential (`Authorization`, `X-Api-Key`, `Cookie`), and the token
    /// after a scheme word (`Bearer xyz`).
    pub fn add_header(&mut self, name: &str, value: &str) {
        let n = name.to_ascii_lowercase();
        if secret_param(&n) || n == "cookie" {
            self.add(value);
            if let Some((_, token)) = value.split_once(' ') {
                self.add(token.trim());
            }
        }
    }

    /// Everything `other` knows, too.
    pub fn extend(&mut self, other: &SecretSet) {
        for f in &other.forms {
            if !self.forms.contains(f) {
                self.forms.push(f.clone());
            }
        }
        self.rebuild();
    }

    /// `text` with every known secret form and every credential-shaped
    /// part replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) if m.is_match(text) => {
                let mut out = String::with_capacity(text.len());
                m.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str(MASK);
                    true
                });
                redact_urls(&out)
            }
            _ => redact_urls(text),
        }
    }

    /// The same as `mask` (the name the data step backends use).
    pub fn apply(&self, text: &str) -> String {
        self.mask(text)
    }
}

/// `%2F` -> `%2f`: some encoders write lower-case hex.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut after_percent = 0;
    for c in encoded.chars() {
        if after_percent > 0 {
            out.push(c.to_ascii_lowercase());
            after_percent -= 1;
        } else {
            if c == '%' {
                after_percent = 2;
            }
            out.push(c);
        }
    }
    out
}

// ------------------------------------------------------------ encodings

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(STD[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn url_safe(s: &str) -> String {
    s.replace('+', "-").replace('/', "_")
}

/// The base64 forms of a secret: whole (standard and URL-safe, with and
/// without padding), and for each of the three alignments a secret inside
/// a longer string can have, the part of the encoding that depends on the
/// secret's bytes alone.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let whole = base64(bytes);
    let bare = whole.trim_end_matches('=').to_string();
    for s in [whole, bare] {
        out.push(url_safe(&s));
        out.push(s);
    }
    for shift in 0..3 {
        let Some(rest) = bytes.get(shift..) else {
            continue;
        };
        let full = rest.len() / 3 * 3;
        if full >= 3 {
            let inner = base64(&rest[..full]);
            out.push(url_safe(&inner));
            out.push(inner);
        }
    }
    out
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------ URLs by shape

/// Characters that end a URL inside running text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Every URL-looking token (`scheme://...` up to whitespace or a quote).
fn urls(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let at = from + i;
        let start = text[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |j| {
                j + text[j..].chars().next().map_or(1, char::len_utf8)
            });
        let end = text[at + 3..]
            .find(ends_url)
            .map_or(text.len(), |j| at + 3 + j);
        out.push(&text[start..end]);
        from = end.max(at + 3);
    }
    out
}

/// Where the parts of one URL are (byte offsets into the text after `://`).
struct Parts {
    /// `user:password` before the last `@` of the authority, if any.
    userinfo: Option<(usize, usize)>,
    /// End of host[:port].
    authority_end: usize,
}

fn host_like(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']' | '%')
        })
}

/// Split the text after `scheme://`. The userinfo ends at the LAST `@`
/// whose user name holds no `/`, `?` or `#` and which a host follows, so a
/// password with `/`, `?`, `#` or `@` in it is found whole.
fn parts(rest: &str) -> Parts {
    let end_of_host = |from: usize| {
        rest[from..]
            .find(['/', '?', '#'])
            .map_or(rest.len(), |j| from + j)
    };
    for (at, _) in rest
        .match_indices('@')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let userinfo = &rest[..at];
        let user = userinfo.split(':').next().unwrap_or("");
        if user.contains(['/', '?', '#']) {
            continue;
        }
        let host_end = end_of_host(at + 1);
        if !host_like(&rest[at + 1..host_end]) {
            continue;
        }
        return Parts {
            userinfo: Some((0, at)),
            authority_end: host_end,
        };
    }
    Parts {
        userinfo: None,
        authority_end: end_of_host(0),
    }
}

fn after_scheme(url: &str) -> Option<&str> {
    url.find("://").map(|i| &url[i + 3..])
}

/// The password of a URL (`scheme://user:password@host/...`).
pub fn url_password(url: &str) -> Option<&str> {
    let rest = after_scheme(url)?;
    let rest = &rest[..rest.find(ends_url).unwrap_or(rest.len())];
    let (s, e) = parts(rest).userinfo?;
    let (_, pw) = rest[s..e].split_once(':')?;
    (!pw.is_empty()).then_some(pw)
}

/// The `user:password` of a URL, if it has an `@`.
pub fn url_userinfo(url: &str) -> Option<&str> {
    let rest = after_scheme(url)?;
    let rest = &rest[..rest.find(ends_url).unwrap_or(rest.len())];
    let (s, e) = parts(rest).userinfo?;
    Some(&rest[s..e])
}

/// The path (and query) after the host, if any.
fn url_path(url: &str) -> Option<&str> {
    let rest = after_scheme(url)?;
    let p = parts(rest);
    let path = &rest[p.authority_end..];
    (!path.is_empty()).then_some(path)
}

/// Whether `text` holds a URL with a credential in it (a userinfo password
/// or a secret-looking query value): such an input is kept like a secret.
pub fn carries_credential(text: &str) -> bool {
    urls(text)
        .into_iter()
        .any(|u| url_password(u).is_some() || !secret_query_values(u).is_empty())
}

/// A query parameter whose value is a credential, by its name.
pub fn secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "token",
        "secret",
        "key",
        "sig",
        "auth",
        "credential",
        "session",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `(name, value)` of each secret-looking query parameter of a URL.
fn secret_query_values(url: &str) -> Vec<(&str, &str)> {
    let Some(rest) = after_scheme(url) else {
        return Vec::new();
    };
    let p = parts(rest);
    let tail = &rest[p.authority_end..];
    let Some(q) = tail.find('?') else {
        return Vec::new();
    };
    let query = &tail[q + 1..];
    let query = &query[..query.find('#').unwrap_or(query.len())];
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, v)| secret_param(k) && !v.is_empty())
        .collect()
}

/// Hosts whose webhook URLs carry the token in the path.
fn webhook_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    let h = h.split(':').next().unwrap_or("");
    h == "hooks.slack.com"
        || h.ends_with(".webhook.office.com")
        || h == "discord.com"
        || h == "discordapp.com"
        || h == "chat.googleapis.com"
}

/// Mask credentials in every URL inside `text` by their shape: the userinfo
/// password (`user:***@`), secret-looking query values (`token=***`), and the
/// path of known webhook hosts; and `password=...` anywhere.
pub fn redact_urls(text: &str) -> String {
    let password = |t: &str| {
        t.as_bytes()
            .windows(9)
            .any(|w| w.eq_ignore_ascii_case(b"password="))
    };
    if !text.contains("://") && !password(text) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        let end = text[start..]
            .find(ends_url)
            .map_or(text.len(), |j| start + j);
        let rest = &text[start..end];
        out.push_str(&text[last..start]);
        out.push_str(&redact_one(rest));
        last = end;
        from = end.max(start);
    }
    out.push_str(&text[last..]);
    redact_password_params(&out)
}

/// A webhook URL as it may be shown: scheme and host, the path (where
/// Slack, Discord and most webhooks carry their token) masked.
pub fn redact_webhook(url: &str) -> String {
    let Some(rest) = after_scheme(url) else {
        return MASK.to_string();
    };
    let p = parts(rest);
    let head = &url[..url.len() - rest.len()];
    let authority = redact_one(&rest[..p.authority_end]);
    if rest.len() > p.authority_end + 1 {
        format!("{head}{authority}/{MASK}")
    } else {
        format!("{head}{authority}{}", &rest[p.authority_end..])
    }
}

/// One URL after its `scheme://`.
fn redact_one(rest: &str) -> String {
    let p = parts(rest);
    let mut out = String::with_capacity(rest.len());
    let host_start = match p.userinfo {
        Some((s, e)) => {
            let ui = &rest[s..e];
            match ui.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                }
                None => out.push_str(ui),
            }
            out.push('@');
            e + 1
        }
        None => 0,
    };
    let host = &rest[host_start..p.authority_end];
    out.push_str(host);
    let tail = &rest[p.authority_end..];
    if webhook_host(host) && tail.len() > 1 {
        out.push('/');
        out.push_str(MASK);
        return out;
    }
    let (path, query) = match tail.find('?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        let (query, frag) = match query.find('#') {
            Some(h) => (&query[..h], Some(&query[h..])),
            None => (query, None),
        };
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) if secret_param(k) && !v.is_empty() => format!("{k}={MASK}"),
                _ => kv.to_string(),
            })
            .collect();
        out.push_str(&parts.join("&"));
        if let Some(f) = frag {
            out.push_str(f);
        }
    }
    out
}

fn redact_password_params(text: &str) -> String {
    const KEY: &str = "password=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.to_ascii_lowercase().find(KEY) {
        let (head, tail) = rest.split_at(i + KEY.len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '&' || c.is_whitespace())
            .unwrap_or(tail.len());
        if !tail[..end].is_empty() {
            out.push_str(MASK);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

// ------------------------------------------------------------ sealed values

const SEALED: &str = "sha256:";

/// What the journal keeps of a secret input: `sha256:<salt hex>:<hash hex>`,
/// the SHA-256 of salt and value. Resuming checks a value against it.
pub fn seal(value: &str, salt: &[u8]) -> String {
    format!("{SEALED}{}:{}", hex::encode(salt), hash(salt, value))
}

fn hash(salt: &[u8], value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(value.as_bytes());
    hex::encode(h.finalize())
}

/// The journal's form of a secret input.
pub fn is_sealed(stored: &str) -> bool {
    split_sealed(stored).is_some()
}

fn split_sealed(stored: &str) -> Option<(Vec<u8>, &str)> {
    let (salt, digest) = stored.strip_prefix(SEALED)?.split_once(':')?;
    let salt = hex::decode(salt).ok()?;
    (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())).then_some((salt, digest))
}

/// Whether `value` is the one `stored` was sealed from. Compared in
/// constant time: the digest is not a timing oracle.
pub fn matches_sealed(stored: &str, value: &str) -> bool {
    let Some((salt, digest)) = split_sealed(stored) else {
        return false;
    };
    let got = hash(&salt, value);
    got.len() == digest.len()
        && got
            .bytes()
            .zip(digest.to_ascii_lowercase().bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> SecretSet {
        let mut s = SecretSet::new();
        for v in values {
            s.add(v);
        }
        s
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn masks_raw_percent_and_base64_forms() {
        let s = set(&["s3cr/t+k3y?"]);
        for text in [
            "x s3cr/t+k3y? y",
            "x s3cr%2Ft%2Bk3y%3F y",
            "x s3cr%2ft%2bk3y%3f y",
            &format!("x {} y", base64(b"s3cr/t+k3y?")),
            &format!("x {} y", url_safe(&base64(b"s3cr/t+k3y?"))),
        ] {
            let m = s.mask(text);
            assert!(!m.contains("s3cr"), "{text} -> {m}");
            assert!(m.starts_with("x ") && m.ends_with(" y"), "{m}");
        }
    }

    #[test]
    fn masks_base64_of_a_secret_inside_longer_text_at_any_offset() {
        let secret = "hunter2-the-long-one";
        let s = set(&[secret]);
        for prefix in ["", "a", "ab", "abc", "user:", "Basic x:"] {
            for suffix in ["", "\n", "zz"] {
                let whole = format!("{prefix}{secret}{suffix}");
                let b = base64(whole.as_bytes());
                let masked = s.mask(&format!("Authorization: {b}"));
                // At most two bytes' worth of characters at each end survive.
                let kept = masked.replace("Authorization: ", "");
                assert!(kept.contains(MASK), "{whole:?}: {b} -> {masked}");
                let visible: usize = kept.split(MASK).map(str::len).sum();
                assert!(
                    visible <= prefix.len().div_ceil(3) * 4 + 4 + suffix.len().div_ceil(3) * 4 + 4,
                    "{whole:?}: {b} -> {masked}"
                );
            }
        }
    }

    #[test]
    fn debug_output_names_no_value() {
        let s = set(&["hunter22"]);
        assert!(!format!("{s:?}").contains("hunter22"));
    }

    #[test]
    fn short_values_are_not_masked() {
        let s = set(&["abc", ""]);
        assert!(s.is_empty());
        assert_eq!(s.mask("abc abc"), "abc abc");
    }

    #[test]
    fn url_password_with_reserved_characters_is_found_whole() {
        let url = "postgres://deploy:p/a?s#s@w:rd@db.example:5432/app?sslmode=require";
        assert_eq!(url_password(url), Some("p/a?s#s@w:rd"));
        assert_eq!(
            redact_urls(&format!("cannot reach {url} now")),
            "cannot reach postgres://deploy:***@db.example:5432/app?sslmode=require now"
        );
        assert_eq!(redact_urls("http://h/a@b"), "http://h/a@b");
        assert_eq!(redact_urls("postgres://u@db/fd"), "postgres://u@db/fd");
        assert_eq!(redact_urls("sqlite:///tmp/a b.db"), "sqlite:///tmp/a b.db");
        assert_eq!(url_password("redis://:pw@h:1"), Some("pw"));
    }

    #[test]
    fn secret_query_values_and_webhook_paths_are_masked_by_shape() {
        assert_eq!(
            redact_urls("GET https://api.example/x?a=1&token=abc123&API_KEY=k&X-Amz-Signature=s#f"),
            "GET https://api.example/x?a=1&token=***&API_KEY=***&X-Amz-Signature=***#f"
        );
        assert_eq!(
            redact_urls("posted to https://hooks.slack.com/services/T0/B0/XXXX ok"),
            "posted to https://hooks.slack.com/*** ok"
        );
        assert_eq!(
            redact_urls("postgresql://db/fd?user=a&password=hunter2&sslmode=require"),
            "postgresql://db/fd?user=a&password=***&sslmode=require"
        );
        assert_eq!(redact_urls("password=hunter2 rest"), "password=*** rest");
    }

    #[test]
    fn credentials_of_urls_become_values() {
        let mut s = SecretSet::new();
        s.add_url("use postgres://u:pa%2Fss@db/x and https://h/x?access_token=tok123");
        assert_eq!(s.mask("pa/ss pa%2Fss tok123"), "*** *** ***");
        assert_eq!(
            redact_webhook("https://u:pw@hooks.example:8443/T0/B0/x?y=1"),
            "https://u:***@hooks.example:8443/***"
        );
        assert_eq!(redact_webhook("http://h/"), "http://h/");
        let mut w = SecretSet::new();
        w.add_webhook("http://127.0.0.1:9/hooks/T000/B000/sekrit");
        assert_eq!(w.mask("sent /hooks/T000/B000/sekrit"), "sent ***");
    }

    #[test]
    fn credentials_in_text_are_recognised() {
        assert!(carries_credential("postgres://app:pw@db/app"));
        assert!(carries_credential("see https://h/x?api_key=abc"));
        assert!(!carries_credential("postgres://app@db/app"));
        assert!(!carries_credential("https://h/x?page=2"));
        assert!(!carries_credential("v1.2.3"));
    }

    #[test]
    fn sealed_values_check_out() {
        let sealed = seal("hunter22", &[1, 2, 3, 4]);
        assert!(sealed.starts_with("sha256:01020304:"));
        assert!(is_sealed(&sealed));
        assert!(matches_sealed(&sealed, "hunter22"));
        assert!(!matches_sealed(&sealed, "hunter23"));
        assert!(!is_sealed("(secret)"));
        assert!(!matches_sealed("(secret)", "(secret)"));
        assert_ne!(seal("hunter22", &[9]), sealed);
    }
}
