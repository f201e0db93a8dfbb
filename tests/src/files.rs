//! Files as a person handles them: attach an image made in the page (as the file picker
//! would hand it over), look at the image the app shows, and read back what it saved.
//!
//! The page's CSP lets nothing (a test script included) fetch a blob URL, so the bytes are
//! checked where a person gets them: the file the app's "Save" wrote to the downloads folder.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use thirtyfour::By;

use crate::wait::wait_until;

use crate::browser::Browser;
use crate::TestResult;

/// Draws a `width`×`height` picture of seeded noise (so it does not compress to nothing),
/// hands it to the composer's file input as `name` (PNG), and returns its SHA-256 in hex.
const ATTACH_IMAGE: &str = r#"
const [name, width, height, seed, done] = arguments;
(async () => {
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(width, height);
  let x = seed >>> 0;
  for (let i = 0; i < img.data.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    img.data[i] = (i % 4 === 3) ? 255 : (x & 255);
  }
  ctx.putImageData(img, 0, 0);
  const blob = await new Promise(r => canvas.toBlob(r, 'image/png'));
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const input = document.querySelector('input[type=file][aria-label="Files to attach"]');
  if (!input) { done({err: 'no file input labelled "Files to attach"'}); return; }
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type: 'image/png'}));
  input.files = dt.files;
  const at = performance.timeOrigin + performance.now();
  input.dispatchEvent(new Event('change', {bubbles: true}));
  done({ok: {hash: Array.from(hash, b => b.toString(16).padStart(2, '0')).join(''), size: bytes.length, at}});
})().catch(e => done({err: String(e)}));
"#;

/// The natural size of the image named `name` and whether its source is a blob URL, or
/// null while none is shown.
const IMAGE_SHOWN: &str = r#"
const [name] = arguments;
const img = [...document.querySelectorAll('img')].find(i => i.alt === name);
if (!img || !img.complete || !img.naturalWidth) return null;
return {width: img.naturalWidth, height: img.naturalHeight, blob: img.src.startsWith('blob:')};
"#;

/// How many chunks the app holds in IndexedDB, of any file.
const CHUNK_COUNT: &str = r#"
const [db, done] = arguments;
const req = indexedDB.open(db);
req.onerror = () => done({err: String(req.error)});
req.onsuccess = () => {
  const d = req.result;
  if (!d.objectStoreNames.contains('chunks')) { d.close(); done({ok: 0}); return; }
  // A chunk's own record has a 40-byte key; its tail's key is one byte longer.
  const c = d.transaction('chunks').objectStore('chunks').getAllKeys();
  c.onsuccess = () => {
    d.close();
    done({ok: c.result.filter(k => k.byteLength === 40).length});
  };
  c.onerror = () => { d.close(); done({err: String(c.error)}); };
};
"#;

/// A file of `len` bytes of seeded noise written to `dir/name`, as a person would have it
/// on disk; returns its path and SHA-256 in hex.
pub fn noise_file(
    dir: &std::path::Path,
    name: &str,
    len: usize,
    seed: u64,
) -> TestResult<(PathBuf, String)> {
    let mut x = seed | 1;
    let mut bytes = vec![0u8; len];
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let path = dir.join(name);
    std::fs::write(&path, &bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok((path, hex(&Sha256::digest(&bytes))))
}

/// What was attached.
#[derive(Debug, Clone)]
pub struct Attached {
    /// SHA-256 of the file, hex.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was handed to the app (`performance.timeOrigin + performance.now()`, ms).
    pub at_ms: f64,
}

impl Browser {
    /// Attaches a generated PNG of `width`×`height` named `name` through the composer's file
    /// input.
    pub async fn attach_image(
        &self,
        name: &str,
        width: u32,
        height: u32,
        seed: u32,
    ) -> TestResult<Attached> {
        let v = self
            .execute_async(
                ATTACH_IMAGE,
                vec![json!(name), json!(width), json!(height), json!(seed)],
            )
            .await?;
        let hash = v["hash"].as_str().ok_or("no hash")?.to_owned();
        let size = v["size"].as_u64().ok_or("no size")?;
        let at_ms = v["at"].as_f64().ok_or("no time")?;
        Ok(Attached { hash, size, at_ms })
    }

    /// Hands the file at `path` to the composer's file input, as the browser's file picker
    /// does when a person chooses it.
    pub async fn attach_path(&self, path: &std::path::Path) -> TestResult {
        let input = self
            .wd()
            .find(By::Css(r#"input[type=file][aria-label="Files to attach"]"#))
            .await
            .map_err(|e| {
                format!(
                    "{}: no file input labelled \"Files to attach\": {e}",
                    self.name
                )
            })?;
        input
            .send_keys(path.display().to_string())
            .await
            .map_err(|e| format!("{}: choosing {}: {e}", self.name, path.display()))
    }

    /// Makes `navigator.storage.estimate()` in the page say that only `free` bytes are left
    /// for the site (what the browser reports when the disk is nearly full).
    pub async fn pretend_free_space(&self, free: u64) -> TestResult {
        self.execute(
            "const free = arguments[0]; const real = StorageManager.prototype.estimate; \
             StorageManager.prototype.estimate = async function () { \
               const e = await real.call(this); return {usage: e.usage, quota: e.usage + free}; };",
            vec![json!(free)],
        )
        .await
        .map(|_| ())
    }

    /// How many chunks of files this browser's app stores (not counting their tails).
    pub async fn stored_chunks(&self) -> TestResult<u64> {
        let v = self
            .execute_async(CHUNK_COUNT, vec![json!(crate::idb::DB_NAME)])
            .await?;
        v.as_u64().ok_or_else(|| format!("a chunk count, not {v}"))
    }

    /// The value and maximum of the progress bar named `name`, if one is shown.
    ///
    /// Read in one script: a download's bar is drawn anew as it moves, so an element found
    /// by one WebDriver call is often gone by the next.
    pub async fn progress_of(&self, name: &str) -> TestResult<Option<(f64, f64)>> {
        let v = self.execute(PROGRESS_OF, vec![json!(name)]).await?;
        let number = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        Ok((!v.is_null()).then(|| (number("value"), number("max"))))
    }

    /// The decoded size of the image shown as `name`, if one is shown from a blob URL.
    pub async fn shown_image(&self, name: &str) -> TestResult<Option<(u64, u64)>> {
        let v = self.execute(IMAGE_SHOWN, vec![json!(name)]).await?;
        Ok(match v {
            Value::Object(o) if o.get("blob") == Some(&Value::Bool(true)) => Some((
                o.get("width").and_then(Value::as_u64).unwrap_or(0),
                o.get("height").and_then(Value::as_u64).unwrap_or(0),
            )),
            _ => None,
        })
    }

    /// Lets the page download into a folder of this browser's profile, and returns it.
    pub async fn allow_downloads(&self) -> TestResult<PathBuf> {
        let dir = self.profile_dir().join("downloads");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        self.wd()
            .cdp()
            .send_raw(
                "Browser.setDownloadBehavior",
                json!({ "behavior": "allow", "downloadPath": dir.display().to_string() }),
            )
            .await
            .map_err(|e| format!("{}: allowing downloads: {e}", self.name))?;
        Ok(dir)
    }

    /// Waits for `name` to be downloaded whole into `dir` and returns its SHA-256 in hex.
    pub async fn downloaded(
        &self,
        dir: &std::path::Path,
        name: &str,
        timeout: Duration,
    ) -> TestResult<String> {
        let path = dir.join(name);
        wait_until(&format!("{} saving {name}", self.name), timeout, || async {
            // Chromium writes to `name.crdownload` and renames it when done.
            let partial = dir.join(format!("{name}.crdownload"));
            if partial.exists() {
                return Ok(None);
            }
            Ok(std::fs::read(&path).ok())
        })
        .await
        .map(|bytes| hex(&Sha256::digest(&bytes)))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value and maximum of the progress bar (role `progressbar`) labelled `arguments[0]`,
/// or null.
const PROGRESS_OF: &str = r#"
const bar = [...document.querySelectorAll("progress[aria-label]")]
  .find((b) => b.getAttribute("aria-label").trim() === arguments[0]);
return bar ? { value: bar.value, max: bar.max } : null;
"#;
