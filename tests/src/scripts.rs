//! Scripts the harness installs in every page before the app's own scripts run.
//!
//! They are installed with CDP's `Page.addScriptToEvaluateOnNewDocument`, so they run first
//! in every document the browser opens (after reloads and navigations too) and the app needs
//! no hook of its own:
//!
//! - [`ERROR_RECORDER`] records console errors, uncaught exceptions and CSP violations, so a
//!   test can assert that none happened.
//! - [`NOTIFICATION_RECORDER`] records the desktop notifications the page shows.
//! - [`RTC_RECORDER`] records every `RTCPeerConnection` the page creates (for `getStats()`),
//!   and holds the opt-in *tamper* switch that makes this browser a misbehaving peer.
//!
//! [`WEBSOCKET_RECORDER`] is not installed in every page: a test runs it in a loaded page to
//! record what that page's new WebSockets carry.

/// Records console errors and uncaught exceptions into `window.__natterErrors` (and console
/// warnings into `window.__natterWarnings`) from the first script of every document.
pub const ERROR_RECORDER: &str = r#"
(() => {
  window.__natterErrors = [];
  const push = (kind, args) => {
    try { window.__natterErrors.push(kind + ": " + Array.from(args).map(String).join(" ")); }
    catch (_) { window.__natterErrors.push(kind); }
  };
  const origError = console.error.bind(console);
  console.error = (...args) => { push("console.error", args); origError(...args); };
  // Warnings are kept apart: they are not failures, but they explain one.
  window.__natterWarnings = [];
  const origWarn = console.warn.bind(console);
  console.warn = (...args) => {
    try { window.__natterWarnings.push(Math.round(performance.now()) + " " + Array.from(args).map(String).join(" ")); } catch (_) {}
    origWarn(...args);
  };
  const origInfo = console.info.bind(console);
  console.info = (...args) => {
    try { window.__natterWarnings.push(Math.round(performance.now()) + " info: " + Array.from(args).map(String).join(" ")); } catch (_) {}
    origInfo(...args);
  };
  window.addEventListener("error", (e) => push("uncaught", [e.message]));
  window.addEventListener("unhandledrejection", (e) => push("unhandled rejection", [e.reason]));
  document.addEventListener("securitypolicyviolation",
    (e) => push("CSP violation", [e.violatedDirective, e.blockedURI]));
})();
"#;

/// Wraps `RTCPeerConnection` so every instance lands in `window.__natterPeerConnections`, and
/// wraps `RTCDataChannel.prototype.send` with the tamper switch.
///
/// The constructor is wrapped in a `Proxy`, which forwards everything else (the prototype,
/// `instanceof`, static methods such as `generateCertificate`, the function's name), so the
/// app cannot tell the difference.
///
/// Tampering: while `window.__natterTamper === true`, any binary message whose first byte is
/// the wire version 1 and whose second byte (the frame kind) is 4 (`Entries`) or 5 (`Push`)
/// is sent as a copy with one bit flipped ten bytes before its end. Entries end with their
/// 64-byte Ed25519 signature, so this breaks the signature of the frame's last entry and
/// nothing else. While `window.__natterTamperFiles === true`, every `Chunk` frame (kind 3)
/// sent on the files channel has the last bit of its chunk flipped, so it fails its proof.
/// `window.__natterTampered` counts the frames altered.
pub const RTC_RECORDER: &str = r#"
(() => {
  window.__natterPeerConnections = [];
  window.__natterTampered = 0;
  const Orig = window.RTCPeerConnection;
  if (typeof Orig === "function") {
    const Wrapped = new Proxy(Orig, {
      construct(target, args, newTarget) {
        const pc = Reflect.construct(target, args, newTarget);
        window.__natterPeerConnections.push(pc);
        return pc;
      },
    });
    window.RTCPeerConnection = Wrapped;
  }
  const DC = window.RTCDataChannel;
  if (typeof DC === "function") {
    const origSend = DC.prototype.send;
    DC.prototype.send = function (data) {
      const files = window.__natterTamperFiles === true && this.label === "natter-files";
      if (window.__natterTamper === true || files) {
        let bytes = null;
        if (data instanceof ArrayBuffer) {
          bytes = new Uint8Array(data.slice(0));
        } else if (ArrayBuffer.isView(data)) {
          bytes = new Uint8Array(data.byteLength);
          bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        }
        const entries = window.__natterTamper === true && bytes !== null && bytes.length > 80 &&
          bytes[0] === 1 && (bytes[1] === 4 || bytes[1] === 5);
        const chunk = files && bytes !== null && bytes.length > 80 && bytes[0] === 1 && bytes[1] === 3;
        if (entries || chunk) {
          bytes[bytes.length - (entries ? 10 : 1)] ^= 0x01;
          window.__natterTampered += 1;
          return origSend.call(this, bytes);
        }
      }
      return origSend.apply(this, arguments);
    };
  }
})();
"#;

/// Records every desktop notification the page shows into `window.__natterNotifications`
/// (`{title, body}`), by wrapping the `Notification` constructor in a `Proxy`: the real
/// notification is still created, so the browser's permission rules still apply.
pub const NOTIFICATION_RECORDER: &str = r#"
(() => {
  window.__natterNotifications = [];
  const Orig = window.Notification;
  if (typeof Orig !== "function") return;
  window.Notification = new Proxy(Orig, {
    construct(target, args, newTarget) {
      const n = Reflect.construct(target, args, newTarget);
      try { window.__natterNotifications.push({ title: String(args[0]), body: String((args[1] || {}).body || "") }); } catch (_) {}
      return n;
    },
  });
})();
"#;

/// Records the text of every WebSocket frame the page sends or receives from now on into
/// `window.__frames`, by replacing `window.WebSocket` with a subclass; run with
/// [`crate::browser::Browser::execute`] in a loaded page (not installed in every page), it
/// sees the sockets the app opens afterwards, not the ones already open.
///
/// `instanceof WebSocket` stays true for sockets opened before, so the app's type checks
/// on them keep working. Running it twice changes nothing.
pub const WEBSOCKET_RECORDER: &str = r#"
if (window.__framesRecorder !== true) {
  window.__framesRecorder = true;
  window.__frames = [];
  const Orig = window.WebSocket;
  class Recorded extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => window.__frames.push(String(e.data)));
    }
    send(data) {
      window.__frames.push(String(data));
      return super.send(data);
    }
    static [Symbol.hasInstance](v) {
      return v instanceof Orig;
    }
  }
  window.WebSocket = Recorded;
}
return true;
"#;
