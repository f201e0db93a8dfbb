//! QR codes of invite links, drawn as SVG so a phone can join by scanning the screen.
//!
//! The SVG is built here from the code's module matrix: its only inputs are numbers, so it
//! never contains any of the link's text and is safe to insert as markup. Black on white
//! with the standard four-module quiet zone, in both colour schemes, because scanners need
//! that contrast.

use qrcode::{Color, QrCode};

/// Modules of light margin around the code (the standard's minimum).
const QUIET_ZONE: usize = 4;

/// An SVG image of the QR code of `data`, or `None` if `data` is too long for a QR code.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row[x] == Color::Dark {
                let start = x;
                while x < row.len() && row[x] == Color::Dark {
                    x += 1;
                }
                path.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE,
                    x - start,
                    x - start
                ));
            } else {
                x += 1;
            }
        }
    }
    Some(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" "#,
            r#"shape-rendering="crispEdges" aria-hidden="true" focusable="false">"#,
            r##"<rect width="{size}" height="{size}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        size = size,
        path = path
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invite_link_becomes_an_svg_with_a_quiet_zone() {
        let link = "https://natter.example/#/join/AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKKK";
        let svg = qr_svg(link).unwrap_or_default();
        assert!(svg.starts_with("<svg "));
        assert!(svg.ends_with("</svg>"));
        let width = QrCode::new(link.as_bytes()).map(|c| c.width()).unwrap_or(0);
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", width + 8)));
    }

    #[test]
    fn the_svg_never_contains_the_encoded_text() {
        let svg = qr_svg("<script>alert(1)</script>").unwrap_or_default();
        assert!(!svg.is_empty());
        assert!(!svg.contains("script"));
    }

    #[test]
    fn every_dark_module_is_drawn_once() {
        let data = "hello";
        let svg = qr_svg(data).unwrap_or_default();
        let dark = QrCode::new(data.as_bytes())
            .map(|c| c.to_colors().iter().filter(|&&m| m == Color::Dark).count())
            .unwrap_or(0);
        let drawn: usize = svg
            .split('h')
            .skip(1)
            .filter_map(|part| part.split('v').next()?.parse::<usize>().ok())
            .sum();
        assert!(dark > 0);
        assert_eq!(drawn, dark);
    }

    #[test]
    fn data_too_long_for_a_qr_code_gives_none() {
        assert_eq!(qr_svg(&"x".repeat(5000)), None);
    }
}
