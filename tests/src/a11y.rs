//! Accessibility and layout checks, done the way assistive technology and phones see a page.
//!
//! - [`Browser::assert_accessible`] injects axe-core (installed by `./x test`, found through
//!   `NATTER_AXE`) into the page and fails on any serious or critical violation, naming the
//!   rule and the elements.
//! - [`Browser::tab_to`] moves focus with the Tab key alone until the focused element has the
//!   wanted role and accessible name, as a keyboard user would.
//! - [`Browser::set_viewport`] emulates a phone's or a desktop's screen, and
//!   [`Browser::layout_problems`] lists horizontal overflow and touch targets under 44 px.

use std::path::PathBuf;

use serde_json::{json, Value};
use thirtyfour::prelude::*;

use crate::browser::{role_and_name, Browser};
use crate::{Context, TestResult};

/// The axe-core version `./x` installs (keep in step with `AXE_VERSION` there).
pub const AXE_VERSION: &str = "4.11.0";

/// The smallest touch target allowed, in CSS pixels.
pub const MIN_TARGET_PX: f64 = 44.0;

/// Where axe-core's script is: `NATTER_AXE`, else where `./x` installs it.
pub fn axe_path() -> PathBuf {
    if let Some(p) = std::env::var_os("NATTER_AXE") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache
        .join("natter-tools")
        .join(format!("axe-core-{AXE_VERSION}"))
        .join("node_modules/axe-core/axe.min.js")
}

/// Runs axe in the page and calls back `{ok: [violations]}` with the serious and critical
/// ones, each as `{id, impact, help, targets}`.
const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] }).then(r => {
  done({ ok: r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                 targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary) })) });
}, e => done({ err: String(e) }));
"#;

/// Lists what a phone user would trip over: the page scrolling sideways, and visible
/// controls smaller than the minimum touch target (a checkbox counts with its label).
const LAYOUT_PROBLEMS: &str = r#"
const min = arguments[0];
const out = [];
const doc = document.documentElement;
if (doc.scrollWidth > doc.clientWidth + 1) {
  out.push(`the page is ${doc.scrollWidth}px wide in a ${doc.clientWidth}px viewport`);
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > doc.clientWidth + 1 && r.width > 0) { out.push(`  too wide: <${el.tagName.toLowerCase()} class="${el.className}"> right edge at ${Math.round(r.right)}px`); if (out.length > 8) break; }
  }
}
const controls = document.querySelectorAll('button, a[href], input, textarea, select, [tabindex="0"]');
for (const el of controls) {
  if (el.closest('[hidden], .visually-hidden')) continue;
  let r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (el.type === 'checkbox' || el.type === 'radio') {
    const label = el.id && document.querySelector(`label[for="${el.id}"]`);
    if (label) { const l = label.getBoundingClientRect(); r = { width: r.width + l.width, height: Math.max(r.height, l.height) }; }
  }
  if (r.width + 0.5 < min || r.height + 0.5 < min) {
    const name = el.getAttribute('aria-label') || (el.textContent || '').trim().slice(0, 40) || el.id || el.tagName;
    out.push(`<${el.tagName.toLowerCase()}> "${name}" is ${Math.round(r.width)}×${Math.round(r.height)}px`);
  }
}
return out;
"#;

impl Browser {
    /// Fails when axe-core finds serious or critical violations on the page as it is now;
    /// `view` names the page in the error.
    pub async fn assert_accessible(&self, view: &str) -> TestResult {
        let path = axe_path();
        let source = std::fs::read_to_string(&path).ctx(&format!(
            "reading axe-core from {} (./x test installs it; or set NATTER_AXE)",
            path.display()
        ))?;
        self.execute(&source, vec![]).await?;
        let found = self.execute_async(RUN_AXE, vec![]).await?;
        let violations = found.as_array().cloned().unwrap_or_default();
        if violations.is_empty() {
            return Ok(());
        }
        let text: Vec<String> = violations
            .iter()
            .map(|v| {
                format!(
                    "[{}] {} ({}): {}",
                    v["impact"].as_str().unwrap_or("?"),
                    v["id"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("?"),
                    v["targets"]
                )
            })
            .collect();
        Err(format!(
            "{}: axe-core found serious or critical problems on the {view} view:\n{}",
            self.name,
            text.join("\n")
        ))
    }

    /// The role and accessible name of the focused element.
    pub async fn focused(&self) -> TestResult<(String, String)> {
        let el = self
            .wd()
            .active_element()
            .await
            .ctx("reading the focused element")?;
        role_and_name(&el).await
    }

    /// Sends `keys` (text or [`Key`]s) to the focused element, as typing does.
    pub async fn press(&self, keys: impl Into<TypingData>) -> TestResult {
        let el = self
            .wd()
            .active_element()
            .await
            .ctx("reading the focused element")?;
        el.send_keys(keys)
            .await
            .ctx(&format!("{} typing", self.name))
    }

    /// Presses Tab (at most 80 times) until the element with `role` and `name` has focus.
    /// The error lists where focus went, so an unreachable control is easy to find.
    pub async fn tab_to(&self, role: &str, name: &str) -> TestResult {
        let mut path = Vec::new();
        for _ in 0..80 {
            let (r, n) = self.focused().await?;
            if r == role && n == name {
                return Ok(());
            }
            path.push(format!("{r} {n:?}"));
            self.press(Key::Tab).await?;
        }
        Err(format!(
            "{}: Tab never reached the {role} {name:?}; focus went through: {}",
            self.name,
            path.join(" → ")
        ))
    }

    /// Emulates a screen `width`×`height` CSS pixels; under 600 px wide it is a phone
    /// (touch, mobile viewport, device pixel ratio 2).
    pub async fn set_viewport(&self, width: u32, height: u32) -> TestResult {
        let phone = width < 600;
        let cdp = self.wd().cdp();
        cdp.send_raw(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": if phone { 2 } else { 1 },
                "mobile": phone,
            }),
        )
        .await
        .ctx("emulating the screen size")?;
        cdp.send_raw(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": phone, "maxTouchPoints": if phone { 5 } else { 1 } }),
        )
        .await
        .ctx("emulating touch")?;
        Ok(())
    }

    /// Emulates the system's colour scheme preference (`"light"` or `"dark"`).
    pub async fn prefer_color_scheme(&self, scheme: &str) -> TestResult {
        self.wd()
            .cdp()
            .send_raw(
                "Emulation.setEmulatedMedia",
                json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
            )
            .await
            .ctx("emulating the colour scheme")?;
        Ok(())
    }

    /// Horizontal overflow and too-small touch targets on the page as it is now.
    pub async fn layout_problems(&self) -> TestResult<Vec<String>> {
        let v: Value = self
            .execute(LAYOUT_PROBLEMS, vec![json!(MIN_TARGET_PX)])
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}
