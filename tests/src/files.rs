//! Files as a person handles them: attach an image made in the page (as the file picker
//! would hand it over), and read back the bytes of an image the app shows.

use serde_json::{json, Value};

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
  input.dispatchEvent(new Event('change', {bubbles: true}));
  done({ok: {hash: Array.from(hash, b => b.toString(16).padStart(2, '0')).join(''), size: bytes.length}});
})().catch(e => done({err: String(e)}));
"#;

/// The SHA-256 (hex) and type of what the image named `name` shows now, or null.
const IMAGE_HASH: &str = r#"
const [name, done] = arguments;
(async () => {
  const img = [...document.querySelectorAll('img')].find(i => i.alt === name);
  if (!img || !img.src) { done({ok: null}); return; }
  const res = await fetch(img.src);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  done({ok: {hash: Array.from(hash, b => b.toString(16).padStart(2, '0')).join(''),
             type: res.headers.get('content-type') || ''}});
})().catch(e => done({err: String(e)}));
"#;

/// What was attached.
#[derive(Debug, Clone)]
pub struct Attached {
    /// SHA-256 of the file, hex.
    pub hash: String,
    /// Its size in bytes.
    pub size: u64,
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
        Ok(Attached { hash, size })
    }

    /// The SHA-256 and content type of the image shown as `name`, if one is shown.
    pub async fn shown_image(&self, name: &str) -> TestResult<Option<(String, String)>> {
        let v = self.execute_async(IMAGE_HASH, vec![json!(name)]).await?;
        Ok(match v {
            Value::Null => None,
            v => Some((
                v["hash"].as_str().unwrap_or("").to_owned(),
                v["type"].as_str().unwrap_or("").to_owned(),
            )),
        })
    }
}
