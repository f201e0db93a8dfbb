//! How files are shown and what is fetched on its own: pure rules, tested natively.
//!
//! A file's name and type come from a peer and are never trusted: the name is shown as
//! text, and only raster image types on [`inline_image_type`]'s allow-list are shown
//! inline, under a blob URL whose type is that allow-listed one. Everything else (SVG and
//! HTML included) is a card with a download button, saved as `application/octet-stream`.
//!
//! Speed and time left come from [`Rate`], which is handed the time (as the signaling
//! policy is), so it is tested natively.

use std::collections::VecDeque;

use natter_core::blob::Root;

/// Images up to this size are fetched as soon as they are seen; larger files and other
/// kinds wait for the user's "Download".
pub const AUTO_FETCH_MAX: u64 = 16 * 1024 * 1024;
/// The largest file sent unless the settings say otherwise (1 GiB).
pub const DEFAULT_MAX_SEND: u64 = 1024 * 1024 * 1024;
/// The size limits the settings offer (the default among them).
pub const MAX_SEND_CHOICES: [u64; 7] = [
    25 << 20,
    100 << 20,
    500 << 20,
    DEFAULT_MAX_SEND,
    4 << 30,
    16 << 30,
    natter_core::blob::MAX_FILE_LEN,
];
/// How far back [`Rate`] looks, in milliseconds.
pub const RATE_WINDOW_MS: f64 = 5_000.0;
/// Samples [`Rate`] keeps at most.
const RATE_SAMPLES: usize = 64;
/// A download's progress is drawn again at most this often, in milliseconds
/// ([`Rate::due`]).
pub const DRAW_EVERY_MS: f64 = 250.0;
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
    /// Bytes per second lately, while downloading.
    pub rate: Option<u64>,
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
            rate: None,
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

/// Bytes held of a file of `size` bytes when `have_chunks` of its `total_chunks` are.
pub fn held_bytes(have_chunks: u64, total_chunks: u64, size: u64) -> u64 {
    if have_chunks >= total_chunks {
        size
    } else {
        (have_chunks * natter_core::blob::CHUNK_LEN as u64).min(size)
    }
}

/// The progress of a download in words: "3.0 MB of 12 MB", and with a rate
/// "3.0 MB of 12 MB · 1.5 MB/s · 6 s left".
pub fn progress_text(have_chunks: u64, total_chunks: u64, size: u64, rate: Option<u64>) -> String {
    let have = held_bytes(have_chunks, total_chunks, size);
    let mut text = format!("{} of {}", size_text(have), size_text(size));
    if let Some(rate) = rate.filter(|r| *r > 0 && have < size) {
        let secs = (size - have).div_ceil(rate);
        text.push_str(&format!(
            " · {}/s · {} left",
            size_text(rate),
            duration_text(secs)
        ));
    }
    text
}

/// A duration in words: "45 s", "3 min", "2 h 5 min".
pub fn duration_text(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// Why a file of `size` bytes does not fit in what the browser grants this site, in words,
/// or `None` if it fits (`usage` and `quota` as `navigator.storage.estimate()` gives them).
pub fn no_room_for(name: &str, size: u64, usage: u64, quota: u64) -> Option<String> {
    let free = quota.saturating_sub(usage);
    (size > free).then(|| {
        format!(
            "There is not enough space on this device for “{name}”: it needs {}, and {} is free. \
             Remove files under “Files on this device” in a room to make room.",
            size_text(size),
            size_text(free)
        )
    })
}

/// A download's speed over the last [`RATE_WINDOW_MS`], from the bytes held at times given
/// by the caller.
#[derive(Debug, Clone, Default)]
pub struct Rate {
    samples: VecDeque<(f64, u64)>,
    /// When the progress was last drawn.
    drawn: Option<f64>,
}

impl Rate {
    /// `bytes` were held at `now_ms`.
    pub fn record(&mut self, now_ms: f64, bytes: u64) {
        // Samples closer than the window's share of one move the newest instead, so that a
        // burst of progress cannot crowd the window out of the samples kept.
        let spacing = RATE_WINDOW_MS / RATE_SAMPLES as f64;
        let mut newest = self.samples.iter().rev();
        if let (Some(_), Some((t, _))) = (newest.next(), newest.next()) {
            if now_ms - t < spacing {
                self.samples.pop_back();
            }
        }
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now_ms - t > RATE_WINDOW_MS)
            || self.samples.len() >= RATE_SAMPLES
        {
            self.samples.pop_front();
        }
        self.samples.push_back((now_ms, bytes));
    }

    /// Whether the progress should be drawn again at `now_ms`: at once the first time,
    /// then at most every [`DRAW_EVERY_MS`]. Chunks are stored hundreds of times a second,
    /// and redrawing the bar for each took a share of the page's time that the download
    /// needed, while the eye sees no more than a few steps a second.
    pub fn due(&mut self, now_ms: f64) -> bool {
        let due = self.drawn.is_none_or(|t| now_ms - t >= DRAW_EVERY_MS);
        if due {
            self.drawn = Some(now_ms);
        }
        due
    }

    /// Bytes per second over the samples kept, once they span at least half a second.
    pub fn per_sec(&self) -> Option<u64> {
        let (&(t0, b0), &(t1, b1)) = (self.samples.front()?, self.samples.back()?);
        let span = t1 - t0;
        (span >= 500.0 && b1 >= b0).then(|| ((b1 - b0) as f64 * 1000.0 / span) as u64)
    }
}

#[cfg(test)]
mod tests {
    // `expect` here states what the test takes as given: a panic is the test failing.
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
        assert_eq!(progress_text(0, 2, 70_000, None), "0 bytes of 68 KB");
        assert_eq!(progress_text(1, 2, 70_000, None), "64 KB of 68 KB");
        assert_eq!(progress_text(2, 2, 70_000, Some(10)), "68 KB of 68 KB");
        let mb = 1 << 20;
        assert_eq!(
            progress_text(48, 192, 12 * mb, Some(mb + mb / 2)),
            "3.0 MB of 12 MB · 1.5 MB/s · 6 s left"
        );
        assert_eq!(duration_text(59), "59 s");
        assert_eq!(duration_text(61), "2 min");
        assert_eq!(duration_text(3600 * 2 + 300), "2 h 5 min");
    }

    #[test]
    fn the_rate_holds_when_progress_comes_in_bursts() {
        // 64 KiB chunks stored every millisecond for two seconds: 64 MiB/s.
        let mut r = Rate::default();
        for ms in 0..2_000u64 {
            r.record(ms as f64, ms * 65_536);
        }
        let rate = r.per_sec().unwrap_or(0);
        assert!((65_000_000..66_000_000).contains(&rate), "{rate}");
    }

    #[test]
    fn progress_is_drawn_at_once_then_a_few_times_a_second() {
        let mut r = Rate::default();
        assert!(r.due(1_000.0));
        assert!(!r.due(1_001.0));
        assert!(!r.due(1_000.0 + DRAW_EVERY_MS - 1.0));
        assert!(r.due(1_000.0 + DRAW_EVERY_MS));
        assert!(!r.due(1_000.0 + DRAW_EVERY_MS + 1.0));
    }

    #[test]
    fn the_rate_is_measured_over_the_last_seconds_only() {
        let mut r = Rate::default();
        r.record(0.0, 0);
        assert_eq!(r.per_sec(), None, "one sample");
        r.record(400.0, 1000);
        assert_eq!(r.per_sec(), None, "too short a span");
        r.record(1000.0, 1_000_000);
        assert_eq!(r.per_sec(), Some(1_000_000));
        // A fast start long ago no longer counts.
        r.record(10_000.0, 2_000_000);
        r.record(11_000.0, 2_100_000);
        assert_eq!(r.per_sec(), Some(100_000));
    }

    #[test]
    fn a_file_that_does_not_fit_is_refused_in_words() {
        let mb = 1 << 20;
        assert_eq!(no_room_for("a.bin", 10 * mb, 50 * mb, 100 * mb), None);
        let words = no_room_for("a.bin", 60 * mb, 50 * mb, 100 * mb).expect("refused");
        assert!(
            words.contains("a.bin") && words.contains("60 MB") && words.contains("50 MB"),
            "{words}"
        );
        assert!(
            no_room_for("a.bin", 1, 200, 100).is_some(),
            "over quota already"
        );
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
