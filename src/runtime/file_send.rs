//! Files the user attaches: read one chunk at a time, hashed (the outboard first, so the
//! root is known), stored [`BATCH`] chunks per transaction, given a thumbnail when the
//! browser can decode the image, and only then named in the room.

use futures::channel::mpsc;
use js_sys::Uint8Array;
use natter_core::blob::{chunk_count, leaf_hash, Outboard, CHUNK_LEN};
use natter_core::fetch::Availability;
use natter_core::log::{Body, FileRef, MAX_THUMB_BYTES};
use natter_core::node::Input;
use natter_core::room::RoomId;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::files::{no_room, FileEvent, BATCH};
use super::Runtime;
use crate::files::{inline_image_type, refuse_to_send, THUMB_TYPE};
use crate::leafhash;
use crate::rtc::describe;
use crate::storage::Storage;

/// The longest side of a thumbnail, in pixels (tried smaller if the JPEG is too big).
const THUMB_SIDES: [f64; 3] = [320.0, 200.0, 120.0];

impl Runtime {
    /// Reads, hashes and stores each file, then names it in the room.
    pub(super) fn send_files(&mut self, room: RoomId, files: Vec<web_sys::File>) {
        let ephemeral = self.node.room(&room).is_none_or(|r| r.ephemeral());
        let storage = if ephemeral {
            None
        } else {
            match self.storage.clone() {
                Some(s) => Some(s),
                None => return self.notify("Files cannot be stored on this device.".into()),
            }
        };
        for file in files {
            let name = file.name();
            let size = file.size().max(0.0) as u64;
            if let Some(words) = refuse_to_send(&name, size, self.settings.max_send_bytes) {
                self.notify(words);
                continue;
            }
            let (tx, storage) = (self.files.tx.clone(), storage.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if storage.is_some() {
                    if let Some(words) = no_room(&name, size).await {
                        let _ = tx.unbounded_send(FileEvent::Failed(words));
                        return;
                    }
                }
                let sent = send_one(&file, room, storage.as_deref(), &tx).await;
                if let Err(e) = sent {
                    let _ = tx.unbounded_send(FileEvent::Failed(format!(
                        "“{}” could not be sent: {e}",
                        file.name()
                    )));
                }
            });
        }
    }
}

/// Hashes, stores and names one file.
async fn send_one(
    file: &web_sys::File,
    room: RoomId,
    storage: Option<&Storage>,
    tx: &mpsc::UnboundedSender<FileEvent>,
) -> Result<(), String> {
    let len = file.size().max(0.0) as u64;
    let chunks = chunk_count(len);
    let mut leaves = Vec::with_capacity(chunks as usize);
    for i in 0..chunks {
        let bytes = read_chunk(file, len, i).await?;
        let leaf = match leafhash::of(&bytes).await {
            Some(leaf) => leaf,
            None => leaf_hash(&bytes),
        };
        leaves.push(leaf);
    }
    let ob = Outboard::from_leaves(len, leaves).map_err(|e| e.to_string())?;
    let root = ob.root();
    let mut i = 0;
    while i < chunks {
        let end = (i + BATCH).min(chunks);
        let mut batch = Vec::new();
        for index in i..end {
            let bytes = read_chunk(file, len, index).await?;
            let proof = ob.proof(index).map_err(|e| e.to_string())?;
            match storage {
                None => {
                    let _ = tx.unbounded_send(FileEvent::Keep {
                        root,
                        index,
                        proof,
                        bytes,
                    });
                }
                Some(_) => batch.push((index, proof.to_bytes(), bytes)),
            }
        }
        if let Some(s) = storage {
            s.put_chunks(&root, len, &batch)
                .await
                .map_err(|e| e.to_string())?;
        }
        i = end;
    }
    let mime = file.type_();
    let thumb = match inline_image_type(&mime) {
        Some(_) => thumbnail(file).await.ok().flatten(),
        None => None,
    };
    let _ = tx.unbounded_send(FileEvent::Input(Input::Holding {
        root,
        len,
        has: Availability::All,
    }));
    let body = Body::File(FileRef {
        root,
        size: len,
        mime: cut_bytes(&mime, natter_core::log::MAX_MIME_BYTES),
        name: cut_bytes(&file.name(), natter_core::log::MAX_FILE_NAME_BYTES),
        thumb,
    });
    let _ = tx.unbounded_send(FileEvent::Input(Input::Post { room, body }));
    Ok(())
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut_bytes(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Chunk `index` of `file`.
async fn read_chunk(file: &web_sys::File, len: u64, index: u64) -> Result<Vec<u8>, String> {
    let start = index * CHUNK_LEN as u64;
    let end = (start + CHUNK_LEN as u64).min(len);
    let slice = file
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(|e| describe(&e))?;
    let buf = JsFuture::from(slice.array_buffer())
        .await
        .map_err(|e| format!("the file could not be read: {}", describe(&e)))?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// A JPEG of at most [`MAX_THUMB_BYTES`] showing the image, if the browser can decode it.
async fn thumbnail(file: &web_sys::File) -> Result<Option<Vec<u8>>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(
        window
            .create_image_bitmap_with_blob(file)
            .map_err(|e| describe(&e))?,
    )
    .await
    .map_err(|e| describe(&e))?
    .dyn_into()
    .map_err(|_| "not an image")?;
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    if w < 1.0 || h < 1.0 {
        return Ok(None);
    }
    let document = window.document().ok_or("no document")?;
    for side in THUMB_SIDES {
        let scale = (side / w.max(h)).min(1.0);
        let canvas: web_sys::HtmlCanvasElement = document
            .create_element("canvas")
            .map_err(|e| describe(&e))?
            .dyn_into()
            .map_err(|_| "no canvas")?;
        let (cw, ch) = ((w * scale).round().max(1.0), (h * scale).round().max(1.0));
        canvas.set_width(cw as u32);
        canvas.set_height(ch as u32);
        let ctx: web_sys::CanvasRenderingContext2d = canvas
            .get_context("2d")
            .map_err(|e| describe(&e))?
            .ok_or("no 2d context")?
            .dyn_into()
            .map_err(|_| "no 2d context")?;
        ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, cw, ch)
            .map_err(|e| describe(&e))?;
        let blob = canvas_jpeg(&canvas).await?;
        let buf = JsFuture::from(blob.array_buffer())
            .await
            .map_err(|e| describe(&e))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        if bytes.len() <= MAX_THUMB_BYTES {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}

/// `canvas.toBlob(…, "image/jpeg", 0.7)` as a future.
async fn canvas_jpeg(canvas: &web_sys::HtmlCanvasElement) -> Result<web_sys::Blob, String> {
    let (tx, rx) = futures::channel::oneshot::channel::<Option<web_sys::Blob>>();
    let tx = std::cell::RefCell::new(Some(tx));
    let done = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(move |b: JsValue| {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(b.dyn_into::<web_sys::Blob>().ok());
        }
    });
    canvas
        .to_blob_with_type_and_encoder_options(
            done.as_ref().unchecked_ref(),
            THUMB_TYPE,
            &JsValue::from_f64(0.7),
        )
        .map_err(|e| describe(&e))?;
    rx.await
        .ok()
        .flatten()
        .ok_or_else(|| "the thumbnail could not be made".to_owned())
}
