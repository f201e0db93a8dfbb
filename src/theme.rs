//! Applies the chosen colour theme to the page.
//!
//! The stylesheet follows the system's light or dark preference by default; a `data-theme`
//! attribute on the root element overrides it (see `style/main.css`). "Same as the system"
//! removes the attribute, so a change of the system setting applies at once.

use crate::state::Theme;

/// The `data-theme` value for `theme`; `None` means "follow the system".
pub fn attribute(theme: Theme) -> Option<&'static str> {
    match theme {
        Theme::System => None,
        Theme::Light | Theme::Dark => Some(theme.key()),
    }
}

/// Sets (or removes) the root element's `data-theme`. Does nothing outside a browser.
pub fn apply(theme: Theme) {
    #[cfg(target_arch = "wasm32")]
    {
        let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        else {
            return;
        };
        // Setting an attribute on our own root element cannot fail in practice; if it ever
        // does, the page keeps the system's theme, which is a safe fallback.
        let _ = match attribute(theme) {
            Some(value) => root.set_attribute("data-theme", value),
            None => root.remove_attribute("data-theme"),
        };
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = theme;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_choice_sets_the_attribute() {
        assert_eq!(attribute(Theme::System), None);
        assert_eq!(attribute(Theme::Light), Some("light"));
        assert_eq!(attribute(Theme::Dark), Some("dark"));
        for t in Theme::ALL {
            assert_eq!(Theme::from_key(t.key()), t);
        }
        assert_eq!(Theme::from_key("purple"), Theme::System);
    }
}
