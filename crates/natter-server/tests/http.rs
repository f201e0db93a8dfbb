//! The HTTP side: static files from a temporary `dist/`, caching, compression, the SPA
//! fallback, security headers, `/config` and `/healthz`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{http_get, start, test_config};
use natter_core::signal::{IceServer, IceUrls};

const JS: &str = "natter-3f2a9c0e1b7d6a54.js";
const WASM: &str = "natter-3f2a9c0e1b7d6a54_bg.wasm";

/// A fresh `dist/` with an index, a hashed script and wasm, and the unhashed manifest and
/// service worker.
fn temp_dist(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("natter-dist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Natter</title><body>app</body>",
    )
    .unwrap();
    let script = "export function hello() { return 'natter'; }\n".repeat(200);
    std::fs::write(dir.join(JS), script).unwrap();
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(dir.join(WASM), wasm).unwrap();
    std::fs::write(dir.join("manifest.webmanifest"), "{\"name\":\"Natter\"}").unwrap();
    std::fs::write(dir.join("sw.js"), "const VERSION = \"1\";\n").unwrap();
    dir
}

async fn server_with_dist(name: &str) -> natter_server::ServerHandle {
    let mut config = test_config();
    config.dist = temp_dist(name);
    start(config).await
}

#[tokio::test]
async fn hashed_assets_have_their_mime_type_and_are_cached_forever() {
    let server = server_with_dist("hashed").await;
    let wasm = http_get(server.local_addr(), &format!("/{WASM}"), &[]).await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(
        wasm.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(wasm.body.starts_with(b"\0asm"));
    let js = http_get(server.local_addr(), &format!("/{JS}"), &[]).await;
    assert!(js.header("content-type").unwrap().contains("javascript"));
    assert_eq!(
        js.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_index_and_unhashed_files_must_be_revalidated() {
    let server = server_with_dist("index").await;
    for path in ["/", "/index.html", "/manifest.webmanifest", "/sw.js"] {
        let res = http_get(server.local_addr(), path, &[]).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("cache-control"), Some("no-cache"), "{path}");
    }
    // Browsers install the app only from a manifest of this type, and run a service worker
    // only from a script type.
    let manifest = http_get(server.local_addr(), "/manifest.webmanifest", &[]).await;
    assert_eq!(
        manifest.header("content-type"),
        Some("application/manifest+json")
    );
    let worker = http_get(server.local_addr(), "/sw.js", &[]).await;
    assert!(worker
        .header("content-type")
        .unwrap()
        .contains("javascript"));
    let index = http_get(server.local_addr(), "/", &[]).await;
    assert!(index
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(index.text().contains("<title>Natter</title>"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn app_routes_fall_back_to_the_index_but_missing_files_are_404() {
    let server = server_with_dist("spa").await;
    let route = http_get(server.local_addr(), "/room/abc123", &[]).await;
    assert_eq!(route.status, 200);
    assert!(route.text().contains("<title>Natter</title>"));
    assert_eq!(route.header("cache-control"), Some("no-cache"));
    let missing = http_get(server.local_addr(), "/natter-0000000000000000.js", &[]).await;
    assert_eq!(missing.status, 404);
    // Path traversal never reaches outside dist/: at most the app's index comes back.
    for path in [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
    ] {
        let res = http_get(server.local_addr(), path, &[]).await;
        assert!(!res.text().contains("root:"), "{path} leaked a file");
        assert!(
            res.status != 200 || res.text().contains("<title>Natter</title>"),
            "{path}"
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = server_with_dist("headers").await;
    let addr = server.local_addr();
    for path in [
        "/",
        "/healthz",
        "/config",
        &format!("/{WASM}"),
        "/missing.png",
    ] {
        let res = http_get(addr, path, &[]).await;
        let csp = res
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("no CSP on {path}"));
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            &format!("connect-src 'self' ws://{addr} wss://{addr}"),
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: CSP {csp} lacks {directive}"
            );
        }
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{path}");
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            res.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert!(
            res.header("permissions-policy")
                .unwrap()
                .contains("camera=()"),
            "{path}"
        );
        assert!(
            res.header("cross-origin-embedder-policy").is_none(),
            "{path}"
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn embed_origins_are_the_frame_ancestors_and_reach_the_app() {
    let mut config = test_config();
    config.dist = temp_dist("frames");
    config.embed_origins = vec!["https://embedder.example".into()];
    let server = start(config).await;
    let res = http_get(server.local_addr(), "/", &[]).await;
    assert!(res
        .header("content-security-policy")
        .unwrap()
        .ends_with("frame-ancestors 'self' https://embedder.example"));
    let res = http_get(server.local_addr(), "/config", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(
        body["embedOrigins"],
        serde_json::json!(["https://embedder.example"])
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn text_assets_are_compressed_with_gzip_or_brotli_on_request() {
    let server = server_with_dist("compress").await;
    let addr = server.local_addr();
    let plain = http_get(addr, &format!("/{JS}"), &[]).await;
    assert_eq!(plain.header("content-encoding"), None);
    for encoding in ["gzip", "br"] {
        let res = http_get(addr, &format!("/{JS}"), &[("Accept-Encoding", encoding)]).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("content-encoding"), Some(encoding));
        assert!(
            res.body.len() < plain.body.len() / 4,
            "{encoding}: {} bytes",
            res.body.len()
        );
        assert_eq!(
            res.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
    }
    let wasm = http_get(addr, &format!("/{WASM}"), &[("Accept-Encoding", "br")]).await;
    assert_eq!(wasm.header("content-encoding"), Some("br"));
    assert_eq!(wasm.header("vary"), Some("accept-encoding"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_precompressed_copy_is_sent_as_it_is_when_the_browser_accepts_it() {
    let dist = temp_dist("precompressed");
    // Stand-ins for the build's copies: marked bytes, so the test sees which file was sent
    // (a copy compressed on the fly would not carry the mark).
    std::fs::write(dist.join(format!("{WASM}.gz")), b"\x1f\x8bgzip-copy").unwrap();
    std::fs::write(dist.join(format!("{WASM}.br")), b"brotli-copy").unwrap();
    let mut config = test_config();
    config.dist = dist;
    let server = start(config).await;
    let addr = server.local_addr();
    let path = format!("/{WASM}");
    for (accept, encoding, body) in [
        ("gzip", "gzip", &b"\x1f\x8bgzip-copy"[..]),
        ("gzip, deflate, br", "br", &b"brotli-copy"[..]),
    ] {
        let res = http_get(addr, &path, &[("Accept-Encoding", accept)]).await;
        assert_eq!(res.status, 200, "{accept}");
        assert_eq!(res.header("content-encoding"), Some(encoding), "{accept}");
        assert_eq!(res.body, body, "{accept}");
        // The type is the wasm's, not the copy's: browsers compile only application/wasm
        // as it streams in.
        assert_eq!(res.header("content-type"), Some("application/wasm"));
        assert_eq!(res.header("vary"), Some("accept-encoding"));
        assert_eq!(
            res.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
    }
    // Without Accept-Encoding, the file itself.
    let plain = http_get(addr, &path, &[]).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.body.starts_with(b"\0asm"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_missing_dist_serves_a_page_on_how_to_build_the_client() {
    let server = start(test_config()).await;
    let res = http_get(server.local_addr(), "/", &[]).await;
    assert_eq!(res.status, 503);
    assert!(res.text().contains("has not been built"));
    assert!(res.text().contains("trunk build --release"));
    let health = http_get(server.local_addr(), "/healthz", &[]).await;
    assert_eq!(health.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn config_lists_no_ice_servers_by_default() {
    let server = start(test_config()).await;
    let res = http_get(server.local_addr(), "/config", &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.text(), "{\"iceServers\":[],\"embedOrigins\":[]}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn config_reflects_the_configured_ice_servers() {
    let mut config = test_config();
    config.ice_servers = vec![IceServer {
        urls: IceUrls::Many(vec!["turn:turn.example.invalid:3478".into()]),
        username: Some("user".into()),
        credential: Some("pass".into()),
    }];
    let server = start(config).await;
    let res = http_get(server.local_addr(), "/config", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"iceServers":[{"urls":["turn:turn.example.invalid:3478"],"username":"user","credential":"pass"}],"embedOrigins":[]})
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_ice_servers_flag_is_parsed_into_the_config() {
    use clap::Parser;
    let json = r#"[{"urls":"stun:stun.example.invalid:3478"}]"#;
    let config = natter_server::Args::parse_from(["natter-server", "--ice-servers", json])
        .into_config()
        .unwrap();
    assert_eq!(config.ice_servers.len(), 1);
    assert_eq!(
        config.ice_servers[0].urls,
        IceUrls::One("stun:stun.example.invalid:3478".into())
    );
}

#[tokio::test]
async fn healthz_answers_ok_and_counts_without_secrets() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let res = http_get(addr, "/healthz", &[]).await;
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    let mut client = common::Client::connect(addr).await;
    client.join("secret-room").await;
    let res = http_get(addr, "/healthz", &[("Accept", "application/json")]).await;
    let body: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status":"ok","connections":1,"rooms":1})
    );
    assert!(!res.text().contains("secret-room"));
    server.shutdown().await.unwrap();
}
