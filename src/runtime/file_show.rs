//! What the open room shows of files: thumbnails, progress and rates, images held whole (put
//! together as a `Blob` of their chunks, which the browser holds, not wasm memory), the
//! files this device holds, and saving a file through the browser's download.

use std::collections::hash_map::Entry;

use js_sys::{Array, Uint8Array};
use natter_core::blob::{chunk_count, Root, CHUNK_LEN};
use natter_core::log::{Body, FileRef};
use natter_core::node::Input;
use wasm_bindgen::JsCast;

use super::files::FileEvent;
use super::Runtime;
use crate::files::{fetch_on_sight, held_bytes, inline_image_type, Rate, OPAQUE_TYPE, THUMB_TYPE};
use crate::rtc::describe;
use crate::state::{HeldFile, RoomState};

impl Runtime {
    /// Fills in what is known here of the files the open room shows: thumbnails, progress
    /// and images held whole; asks for the images fetched on sight.
    pub(super) fn show_files(&mut self, state: &mut RoomState) {
        let Some(r) = self.node.room(&state.id) else {
            return;
        };
        let log = r.sync().log();
        let mut loads = Vec::new();
        for m in &mut state.messages {
            let Some(f) = m.file.as_mut() else { continue };
            if let Entry::Vacant(slot) = self.files.thumbs.entry(f.root) {
                let thumb = log.get_by_id(&m.id).and_then(|rec| match &rec.entry.body {
                    Body::File(FileRef { thumb: Some(t), .. }) => Some(t.clone()),
                    _ => None,
                });
                if let Some(url) = thumb.and_then(|t| blob_url(&[t.as_slice()], THUMB_TYPE).ok()) {
                    slot.insert(url);
                }
            }
            self.files
                .names
                .entry(f.root)
                .or_insert_with(|| (f.name.clone(), f.size));
            f.thumb_url = self.files.thumbs.get(&f.root).cloned();
            f.progress = self.node.file_progress(&f.root);
            f.fetching = self.node.fetching(&f.root);
            f.rate = f
                .fetching
                .then(|| self.files.rates.get(&f.root).and_then(Rate::per_sec))
                .flatten();
            f.url = self.files.urls.get(&f.root).cloned();
            if !f.complete()
                && !f.fetching
                && fetch_on_sight(&f.mime, f.size)
                && self.files.seen.insert(f.root)
            {
                let input = Input::Fetch {
                    room: state.id,
                    root: f.root,
                };
                let _ = self.files.tx.unbounded_send(FileEvent::Input(input));
            }
            if f.image && f.complete() && f.url.is_none() && self.files.loading.insert(f.root) {
                let kind = inline_image_type(&f.mime).unwrap_or(OPAQUE_TYPE);
                loads.push((f.root, f.size, kind));
            }
        }
        for (root, size, kind) in loads {
            self.put_together(root, size, kind, None);
        }
        state.files_here = self
            .node
            .room_files(&state.id)
            .into_iter()
            .filter_map(|root| {
                let (have, total) = self.node.file_progress(&root)?;
                let (name, size) = self.files.names.get(&root).cloned().unwrap_or_else(|| {
                    ("A file not shown yet".to_owned(), total * CHUNK_LEN as u64)
                });
                Some(HeldFile {
                    root,
                    name,
                    bytes: held_bytes(have, total, size),
                    complete: have == total,
                })
            })
            .filter(|f| f.bytes > 0)
            .collect();
    }

    /// Saves a file held whole under `name` (the browser's download).
    pub(super) fn save_file(&mut self, root: Root, name: String) {
        let Some((have, total)) = self.node.file_progress(&root) else {
            return self.notify("That file is not on this device yet.".into());
        };
        if have < total {
            return self.notify("That file has not finished downloading.".into());
        }
        let size = self.file_size(&root);
        self.put_together(root, size, OPAQUE_TYPE, Some(name));
    }

    /// Puts a held file together as a blob URL of type `kind`: shown (`save` is `None`) or
    /// saved under a name.
    fn put_together(&mut self, root: Root, size: u64, kind: &'static str, save: Option<String>) {
        let chunks = chunk_count(size);
        let in_memory: Option<Vec<Vec<u8>>> = (0..chunks)
            .map(|i| self.files.memory.get(&(root, i)).map(|(_, b)| b.clone()))
            .collect();
        self.write_batch_of(&root);
        let (tx, storage) = (self.files.tx.clone(), self.storage.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let parts = Array::new();
            match in_memory {
                Some(chunks) => {
                    for c in chunks {
                        parts.push(&Uint8Array::from(c.as_slice()));
                    }
                }
                None => {
                    let Some(storage) = storage else { return };
                    for i in 0..chunks {
                        match storage.get_chunk(&root, i).await {
                            Ok(Some((_, bytes))) => parts.push(&Uint8Array::from(bytes.as_slice())),
                            _ => {
                                let _ = tx.unbounded_send(FileEvent::Failed(
                                    "Part of a file is missing on this device.".into(),
                                ));
                                return;
                            }
                        };
                    }
                }
            }
            let url = match blob_of(&parts, kind).and_then(|b| {
                web_sys::Url::create_object_url_with_blob(&b).map_err(|e| describe(&e))
            }) {
                Ok(url) => url,
                Err(e) => {
                    let _ = tx.unbounded_send(FileEvent::Failed(format!(
                        "A file could not be opened: {e}"
                    )));
                    return;
                }
            };
            match save {
                None => {
                    let _ = tx.unbounded_send(FileEvent::Url { root, url });
                }
                Some(name) => {
                    if let Err(e) = download(&url, &name) {
                        let _ = tx.unbounded_send(FileEvent::Failed(format!(
                            "The file could not be saved: {e}"
                        )));
                    }
                    // The download has its own copy once it started.
                    gloo_timers::future::TimeoutFuture::new(60_000).await;
                    let _ = web_sys::Url::revoke_object_url(&url);
                }
            }
        });
    }
}

fn blob_of(parts: &Array, kind: &str) -> Result<web_sys::Blob, String> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    web_sys::Blob::new_with_u8_array_sequence_and_options(parts, &options).map_err(|e| describe(&e))
}

/// A blob URL of `parts` with type `kind`.
fn blob_url(parts: &[&[u8]], kind: &str) -> Result<String, String> {
    let array = Array::new();
    for p in parts {
        array.push(&Uint8Array::from(*p));
    }
    let blob = blob_of(&array, kind)?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| describe(&e))
}

/// Starts the browser's download of `url` as `name`.
fn download(url: &str, name: &str) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| describe(&e))?
        .dyn_into()
        .map_err(|_| "no link element")?;
    a.set_href(url);
    a.set_download(name);
    a.click();
    Ok(())
}
