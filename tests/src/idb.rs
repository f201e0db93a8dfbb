//! Reading what the app left on the device: its IndexedDB database and web storage.
//!
//! Tests that promise "nothing is kept" or "the forged message was not stored" look at the
//! storage itself, not at the UI. [`dump`] copies every record of every object store of the
//! app's database (plus `localStorage` and `sessionStorage`) into JSON, with binary values
//! written as lower-case hex, so a test can search it for a room id or a message text.

use serde_json::Value;

use crate::browser::Browser;
use crate::{Context, TestResult};

/// The app's IndexedDB database name (`storage::DB_NAME` in the app).
pub const DB_NAME: &str = "natter";

/// Copies the database without creating it: if it does not exist, the upgrade that opening
/// it would start is aborted, so the app's own schema set-up is not disturbed.
const DUMP: &str = r#"
const name = arguments[0];
const done = arguments[arguments.length - 1];
const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");
const plain = (v) => {
  if (v instanceof ArrayBuffer) return { bytes: hex(new Uint8Array(v)) };
  if (ArrayBuffer.isView(v)) return { bytes: hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
};
const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
const webStorage = (s) => { const o = {}; for (let i = 0; i < s.length; i++) { const k = s.key(i); o[k] = s.getItem(k); } return o; };
(async () => {
  const out = { exists: false, stores: {}, local: webStorage(localStorage), session: webStorage(sessionStorage) };
  const dbs = await indexedDB.databases();
  if (!dbs.some((d) => d.name === name)) return out;
  const db = await new Promise((res, rej) => {
    const r = indexedDB.open(name);
    r.onupgradeneeded = () => r.transaction.abort();
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  out.exists = true;
  for (const s of Array.from(db.objectStoreNames)) {
    const store = db.transaction(s, "readonly").objectStore(s);
    const [keys, values] = await Promise.all([req(store.getAllKeys()), req(store.getAll())]);
    out.stores[s] = keys.map((k, i) => ({ key: plain(k), value: plain(values[i]) }));
  }
  db.close();
  return out;
})().then((v) => done({ ok: v }), (e) => done({ err: String(e) }));
"#;

/// A copy of the app's stored data.
#[derive(Debug, Clone)]
pub struct Dump {
    /// The whole copy: `{exists, stores: {name: [{key, value}]}, local, session}`.
    pub json: Value,
    text: String,
}

/// Copies the app's stored data out of `browser` (which must show a page of the app, so the
/// origin is right).
pub async fn dump(browser: &Browser) -> TestResult<Dump> {
    let json = browser
        .execute_async(DUMP, vec![Value::String(DB_NAME.to_owned())])
        .await?;
    let text = serde_json::to_string(&json).ctx("encoding the storage copy")?;
    Ok(Dump { json, text })
}

impl Dump {
    /// Whether the database exists at all.
    pub fn exists(&self) -> bool {
        self.json["exists"].as_bool().unwrap_or(false)
    }

    /// The records (`{key, value}`) of the object store `store`.
    pub fn records(&self, store: &str) -> Vec<Value> {
        self.json["stores"][store]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The stored entries of `room` (its id in hex), in the store `log`. An entry's key is
    /// its display key, which starts with its room's id (see `src/storage.rs`: room,
    /// Lamport time, author, seq).
    pub fn entries_of(&self, room: &str) -> Vec<Value> {
        self.records("log")
            .into_iter()
            .filter(|r| {
                r["key"]["bytes"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(room))
            })
            .collect()
    }

    /// The stored identity, when it is stored in clear: its secret key in hex and its display
    /// name. Its bytes are the identity codec of `src/storage.rs`: a format byte (1), the
    /// secret (32 bytes), the name's UTF-8 length (4 bytes, big-endian) and the name.
    pub fn identity(&self) -> Option<(String, String)> {
        let records = self.records("identity");
        let hex = records.first()?["value"]["bytes"]["bytes"].as_str()?;
        let bytes = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let (&format, rest) = bytes.split_first()?;
        let (secret, rest) = rest.split_at_checked(32)?;
        let (len, name) = rest.split_first_chunk::<4>()?;
        if format != 1 || name.len() != u32::from_be_bytes(*len) as usize {
            return None;
        }
        let secret = secret.iter().map(|b| format!("{b:02x}")).collect();
        Some((secret, String::from_utf8(name.to_vec()).ok()?))
    }

    /// Whether `needle` occurs anywhere in the stored data: as text, or as the hex of its
    /// UTF-8 bytes inside a binary value (a room id in hex matches its raw bytes too).
    pub fn contains(&self, needle: &str) -> bool {
        let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
        self.text.contains(needle) || self.text.contains(&hex)
    }

    /// Where `needle` occurs, for an error message: the stores (or web storages) holding it.
    pub fn where_is(&self, needle: &str) -> Vec<String> {
        let hex: String = needle.bytes().map(|b| format!("{b:02x}")).collect();
        let hit = |v: &Value| {
            let t = v.to_string();
            t.contains(needle) || t.contains(&hex)
        };
        let mut places = Vec::new();
        if let Some(stores) = self.json["stores"].as_object() {
            for (name, records) in stores {
                if hit(records) {
                    places.push(format!("IndexedDB store {name}"));
                }
            }
        }
        for web in ["local", "session"] {
            if hit(&self.json[web]) {
                places.push(format!("{web}Storage"));
            }
        }
        places
    }
}
