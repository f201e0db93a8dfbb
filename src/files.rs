//! How files are shown and what is fetched on its own: pure rules, tested natively.
//!
//! A file's name and type come from a peer and are never trusted: the name is shown as
//! text, and only raster image types on [`inline_image_type`]'s allow-list are shown
//! inline, under a blob URL whose type is that allow-listed one. Everything else (SVG and
//! HTML included) is a card with a download button, saved as `application/octet-stream`.

use natter_core::blob::Root;

/// Images up to this size are fetched as soon as they are seen; larger files and other
/// kinds wait for the user's "Download".
pub const AUTO_FETCH_MAX: u64 = 16 * 1024 * 1024;
/// The largest file sent unless the settings say otherwise (1 GiB).
pub const DEFAULT_MAX_SEND: u64 = 1024 * 1024 * 1024;
/// The type of every thumbnail (the sender makes them as JPEG).
pub const THUMB_TYPE: &str = "image/jpeg";
/// The type a file is saved under when it is not shown inline.
pub const OPAQUE_TYPE: &str = "application/octet-stream";

/// A file a message carries, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileView {
    /// Its root (what commands name it by).
    pub root: Root,
    /// Its name as the sender gave it (text only).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The sender's claimed type (text only).
    pub mime: String,
    /// Shown inline as an image (its type is on the allow-list).
    pub image: bool,
    /// The sender's thumbnail, as a blob URL of type [`THUMB_TYPE`].
    pub thumb_url: Option<String>,
    /// The whole image, as a blob URL of its allow-listed type, once held.
    pub url: Option<String>,
    /// Chunks held and chunks in all, once anything is known.
    pub progress: Option<(u64, u64)>,
    /// Being downloaded now.
    pub fetching: bool,
}

impl FileView {
    /// What the entry says, before anything is known of its bytes here.
    pub fn of(f: &natter_core::log::FileRef) -> FileView {
        FileView {
            root: f.root,
            name: f.name.clone(),
            size: f.size,
            mime: f.mime.clone(),
            image: inline_image_type(&f.mime).is_some(),
            thumb_url: None,
            url: None,
            progress: None,
            fetching: false,
        }
    }

    /// Held whole.
    pub fn complete(&self) -> bool {
        self.progress.is_some_and(|(h, t)| h == t)
    }
}

/// The type an image is shown under, if `mime` names a raster image format browsers
/// decode safely; `None` for everything else (SVG and anything scriptable included).
pub fn inline_image_type(mime: &str) -> Option<&'static str> {
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "image/png" => Some("image/png"),
        "image/jpeg" | "image/jpg" => Some("image/jpeg"),
        "image/gif" => Some("image/gif"),
        "image/webp" => Some("image/webp"),
        "image/avif" => Some("image/avif"),
        _ => None,
    }
}

/// Whether a file seen in a room is fetched without being asked.
pub fn fetch_on_sight(mime: &str, size: u64) -> bool {
    inline_image_type(mime).is_some() && size <= AUTO_FETCH_MAX
}

/// A size in words: "512 bytes", "1.5 KB", "20 MB", "1.1 GB" (powers of 1024).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// Why a file is not sent, in words, or `None` if it may be.
pub fn refuse_to_send(name: &str, size: u64, max: u64) -> Option<String> {
    if size > max {
        return Some(format!(
            "“{name}” is {}; files of up to {} can be sent.",
            size_text(size),
            size_text(max)
        ));
    }
    if size > natter_core::blob::MAX_FILE_LEN {
        return Some(format!("“{name}” is too large to send."));
    }
    None
}

/// The progress of a download in words: "3.0 MB of 12 MB".
pub fn progress_text(have_chunks: u64, total_chunks: u64, size: u64) -> String {
    let have = if have_chunks >= total_chunks {
        size
    } else {
        (have_chunks * natter_core::blob::CHUNK_LEN as u64).min(size)
    };
    format!("{} of {}", size_text(have), size_text(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_show_inline_and_svg_or_html_never_do() {
        assert_eq!(inline_image_type("image/png"), Some("image/png"));
        assert_eq!(inline_image_type("IMAGE/JPEG; q=1"), Some("image/jpeg"));
        for t in [
            "image/svg+xml",
            "text/html",
            "",
            "image/png\u{0}x",
            "application/pdf",
        ] {
            assert_eq!(inline_image_type(t), None, "{t}");
        }
        assert!(fetch_on_sight("image/webp", AUTO_FETCH_MAX));
        assert!(!fetch_on_sight("image/webp", AUTO_FETCH_MAX + 1));
        assert!(!fetch_on_sight("video/mp4", 10));
    }

    #[test]
    fn sizes_read_as_words() {
        assert_eq!(size_text(0), "0 bytes");
        assert_eq!(size_text(1023), "1023 bytes");
        assert_eq!(size_text(1536), "1.5 KB");
        assert_eq!(size_text(20 * 1024 * 1024), "20 MB");
        assert_eq!(size_text(DEFAULT_MAX_SEND), "1.0 GB");
        assert_eq!(progress_text(0, 2, 70_000), "0 bytes of 68 KB");
        assert_eq!(progress_text(1, 2, 70_000), "64 KB of 68 KB");
        assert_eq!(progress_text(2, 2, 70_000), "68 KB of 68 KB");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_in_words() {
        let words =
            refuse_to_send("big.iso", DEFAULT_MAX_SEND + 1, DEFAULT_MAX_SEND).expect("refused");
        assert!(
            words.contains("big.iso") && words.contains("1.0 GB"),
            "{words}"
        );
        assert_eq!(refuse_to_send("ok.png", 10, DEFAULT_MAX_SEND), None);
    }
}
