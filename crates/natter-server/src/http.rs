//! HTTP side: the app's static files, `/healthz`, `/config`, and security headers.
//!
//! Static files come from `dist/` through `tower_http::services::ServeDir`, which maps
//! extensions to MIME types (`.wasm` is `application/wasm`) and refuses path traversal.
//! The build leaves compressed copies beside the files (`<file>.br`, `<file>.gz`, made by
//! `tools/precompress.py` with the slowest, smallest encoders); when the request's
//! `Accept-Encoding` allows, such a copy is sent as it is, with the original's type.
//! Everything else is compressed on the fly (which skips responses already encoded).
//! Either way the response says `Vary: Accept-Encoding`. A copy is trusted to match its
//! file, as a build writes both: after changing a file of `dist/` by hand, run
//! `tools/precompress.py dist` again.
//! Caching follows Trunk's file hashing: a file whose name carries a `-<hex hash>` (e.g.
//! `natter-3f2a9c0e1b7d6a54.js`, `natter-3f2a9c0e1b7d6a54_bg.wasm`) never changes and is
//! served `public, max-age=31536000, immutable`; everything else (`/`, `index.html`, the
//! manifest, the service worker) is `no-cache`, so a deploy is picked up at once.
//!
//! SPA fallback: a `GET` for a path whose last segment has no extension and that is not a
//! file serves `index.html`; a missing path with an extension is a real 404. When `dist/`
//! holds no `index.html`, a short page says how to build the app (status 503).
//!
//! Every response carries (unless a handler set them):
//! - `Content-Security-Policy`: `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'
//!   'sha256-…';
//!   style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws://HOST wss://HOST;
//!   worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none';
//!   form-action 'none'; frame-ancestors <configured>`.
//!   `default-src 'self'` would cover the service worker (`/sw.js`) and the manifest too;
//!   `worker-src` and `manifest-src` say so explicitly, and keep workers off `script-src`'s
//!   inline hashes and `'wasm-unsafe-eval'`.
//!   `connect-src` names only the server's own origin: `'self'` (which CSP Level 3 extends
//!   to `ws:`/`wss:` on the same host) plus the explicit `ws(s)://` form of the request's
//!   `Host`, for browsers that predate that rule. A `Host` that is not a plain host\[:port\]
//!   is left out rather than echoed. Trunk boots the app with an inline module script in
//!   `index.html`; rather than allowing inline scripts in general, the policy names the
//!   SHA-256 of each inline script found in the served `index.html` (re-read when the file
//!   changes), so only the build's own loader runs.
//! - `Referrer-Policy: no-referrer`, `X-Content-Type-Options: nosniff`.
//! - `Cross-Origin-Opener-Policy: same-origin`: isolates the app's browsing context group
//!   from pages that open it; it has no effect on being framed (that is `frame-ancestors`),
//!   so embedding keeps working. No `Cross-Origin-Embedder-Policy` is sent.
//! - `Permissions-Policy` turning off powerful features the app does not use.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

use crate::State;

/// `Cache-Control` for files whose name carries a content hash.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for everything else that may be cached but must be revalidated.
pub const CACHE_REVALIDATE: &str = "no-cache";

/// `Permissions-Policy`: every powerful feature off; the app needs none of them.
pub const PERMISSIONS_POLICY: &str =
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), \
     serial=(), usb=(), xr-spatial-tracking=()";

const NOT_BUILT_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Natter: client not built</title></head><body>\n<h1>The Natter web app has not been built</h1>\n\
<p>This server found no <code>index.html</code> in its <code>--dist</code> directory.</p>\n\
<p>Build it from the repository root with <code>./x run</code> (builds and serves), or with \
<code>trunk build --release</code>, then restart the server or pass <code>--dist &lt;dir&gt;</code>.</p>\n\
</body></html>\n";

/// The complete router: API routes, the WebSocket, and static files as the fallback.
pub(crate) fn router(state: Arc<State>) -> Router {
    let files = Router::new()
        .fallback(static_files)
        .layer(CompressionLayer::new())
        .with_state(state.clone());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/config", get(client_config).layer(CompressionLayer::new()))
        .route(natter_core::signal::WS_PATH, get(crate::ws::upgrade))
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// `GET /healthz`: `ok`, or with `Accept: application/json` the open connection and room
/// counts (no ids, no addresses).
async fn healthz(AxState(state): AxState<Arc<State>>, headers: HeaderMap) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let mut res = if wants_json {
        let body = format!(
            "{{\"status\":\"ok\",\"connections\":{},\"rooms\":{}}}",
            state.connection_count(),
            state.rooms.len()
        );
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok").into_response()
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `GET /config`: `{"iceServers":[...]}` as configured, empty by default.
async fn client_config(AxState(state): AxState<Arc<State>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.client_config_json.clone(),
    )
        .into_response()
}

/// Whether a file name carries a Trunk content hash: the text after its last `-` and
/// before the next `.` or `_` is 8 to 64 hex digits.
pub fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, tail)) = name.rsplit_once('-') else {
        return false;
    };
    let hash = tail.split(['.', '_']).next().unwrap_or("");
    (8..=64).contains(&hash.len())
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && tail.len() > hash.len()
}

/// Whether the last path segment looks like a file name (has an extension).
fn has_extension(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|seg| seg.contains('.'))
}

/// Serves `dist/`, with the SPA fallback and cache headers described in the module doc.
async fn static_files(AxState(state): AxState<Arc<State>>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let path = req.uri().path().to_owned();
    let (parts, _) = req.into_parts();
    let dist = &state.config.dist;
    let file_req = Request::from_parts(parts.clone(), Body::empty());
    let files = ServeDir::new(dist).precompressed_br().precompressed_gzip();
    let res = match files.oneshot(file_req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    let mut served_index = path == "/" || path.ends_with("/index.html");
    let mut res = res.map(Body::new);
    if res.status() == StatusCode::NOT_FOUND && (served_index || !has_extension(&path)) {
        let index_req = Request::from_parts(parts, Body::empty());
        let index: Result<_, Infallible> = ServeFile::new(dist.join("index.html"))
            .oneshot(index_req)
            .await;
        res = match index {
            Ok(res) => res.map(Body::new),
            Err(never) => match never {},
        };
        served_index = true;
        if res.status() == StatusCode::NOT_FOUND {
            res = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT_PAGE,
            )
                .into_response();
        }
    }
    let cache = if res.status().is_success() && !served_index && is_hashed_asset(&path) {
        CACHE_IMMUTABLE
    } else {
        CACHE_REVALIDATE
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// The `Host` header if it is a plain `host[:port]` (or `[v6]:port`) safe to put in a CSP.
fn safe_host(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let ok = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then_some(host)
}

/// The Content-Security-Policy for a request with the given `Host`; `script_hashes` are
/// CSP source expressions (`'sha256-…'`) for the inline scripts of `index.html`.
pub fn content_security_policy(
    host: Option<&str>,
    frame_ancestors: &str,
    script_hashes: &[String],
) -> String {
    let connect = match host {
        Some(h) => format!("'self' ws://{h} wss://{h}"),
        None => "'self'".to_owned(),
    };
    let mut scripts = "'self' 'wasm-unsafe-eval'".to_owned();
    for h in script_hashes {
        scripts.push(' ');
        scripts.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; \
         img-src 'self' data: blob:; connect-src {connect}; worker-src 'self'; \
         manifest-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors {frame_ancestors}"
    )
}

/// CSP hashes of the inline scripts in `index.html`, cached by the file's modification time.
#[derive(Debug, Default)]
pub(crate) struct InlineScriptHashes {
    cache: std::sync::Mutex<Option<(std::time::SystemTime, Arc<Vec<String>>)>>,
}

impl InlineScriptHashes {
    /// The hashes for `index` as it is now; empty when it cannot be read.
    pub(crate) fn get(&self, index: &std::path::Path) -> Arc<Vec<String>> {
        let Ok(modified) = std::fs::metadata(index).and_then(|m| m.modified()) else {
            return Arc::default();
        };
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, hashes)) = cache.as_ref() {
                if *at == modified {
                    return hashes.clone();
                }
            }
        }
        let hashes = Arc::new(
            std::fs::read_to_string(index)
                .map(|html| inline_script_hashes(&html))
                .unwrap_or_default(),
        );
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((modified, hashes.clone()));
        }
        hashes
    }
}

/// `'sha256-<base64>'` for the text of every `<script>` element without a `src` attribute,
/// exactly as CSP Level 2 hashes inline scripts.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start + "<script".len()..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let attrs = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = body.find("</script") else {
            break;
        };
        if !attrs.contains("src=") {
            let digest = sha2::Sha256::digest(&body.as_bytes()[..close]);
            out.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &body[close..];
    }
    out
}

/// Adds the security headers to every response.
async fn security_headers(
    AxState(state): AxState<Arc<State>>,
    req: Request,
    next: Next,
) -> Response {
    let scripts = state
        .inline_scripts
        .get(&state.config.dist.join("index.html"));
    let csp = content_security_policy(
        safe_host(req.headers()),
        &state.config.frame_ancestors(),
        &scripts,
    );
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        h.entry(header::CONTENT_SECURITY_POLICY).or_insert(csp);
    }
    let fixed = [
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        ),
    ];
    for (name, value) in fixed {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_hashed_asset("/natter-3f2a9c0e1b7d6a54.js"));
        assert!(is_hashed_asset("/natter-3f2a9c0e1b7d6a54_bg.wasm"));
        assert!(is_hashed_asset("/style-0123abcd.css"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/my-file.js"));
        assert!(!is_hashed_asset("/natter-3f2a9c0e"));
        assert!(!is_hashed_asset("/deadbeef-cafe.js"));
    }

    #[test]
    fn csp_names_the_host_only_when_it_is_plain() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            HeaderValue::from_static("chat.example.org:8443"),
        );
        assert_eq!(safe_host(&headers), Some("chat.example.org:8443"));
        headers.insert(header::HOST, HeaderValue::from_static("evil; script-src *"));
        assert_eq!(safe_host(&headers), None);
        let csp = content_security_policy(None, "'self'", &[]);
        assert!(csp.contains("connect-src 'self';"));
        assert!(csp.ends_with("frame-ancestors 'self'"));
    }

    #[test]
    fn only_inline_scripts_are_hashed_and_the_hash_is_of_their_exact_text() {
        let html = "<head><script type=\"module\">alert(1)</script>\
                    <script src=\"/a.js\"></script><script>\n x()\n</script></head>";
        // sha256("alert(1)") and sha256("\n x()\n"), base64.
        assert_eq!(
            inline_script_hashes(html),
            vec![
                "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='".to_owned(),
                "'sha256-uGLRktbDMttTgtOayhhW82VKYPSAxh6t9V3/ehihEKI='".to_owned(),
            ]
        );
        let csp = content_security_policy(None, "'self'", &inline_script_hashes(html));
        assert!(csp.contains(
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=' "
        ));
        assert!(inline_script_hashes("<script>unterminated").is_empty());
    }
}
