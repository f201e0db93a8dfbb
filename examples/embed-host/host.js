// The sample host page's side of Natter's postMessage API (documented in Natter's
// src/embed.rs and README): it frames Natter in embed mode, sends commands, and lists the
// events Natter posts. Every event is also kept in `window.natterEvents`.
(() => {
  const params = new URLSearchParams(location.search);
  const natter = new URL(params.get("natter") || location.origin);
  const invite = params.get("invite") ? new URL(params.get("invite")) : null;
  const frame = document.getElementById("natter");
  const src = new URL("/", natter);
  src.searchParams.set("embed", "1");
  if (params.get("name")) src.searchParams.set("name", params.get("name"));
  if (params.get("theme")) src.searchParams.set("theme", params.get("theme"));
  // The invite (and its room secret) stays in the fragment.
  src.hash = invite ? invite.hash : "";
  frame.src = src.href;

  window.natterEvents = [];
  const list = document.getElementById("events");
  window.addEventListener("message", (event) => {
    // Only Natter's frame, from Natter's origin.
    if (event.origin !== natter.origin || event.source !== frame.contentWindow) return;
    const data = event.data;
    if (!data || typeof data.type !== "string" || !data.type.startsWith("natter:")) return;
    window.natterEvents.push(data);
    const item = document.createElement("li");
    item.textContent = JSON.stringify(data);
    list.append(item);
  });

  const send = (command) => frame.contentWindow.postMessage(command, natter.origin);
  document.getElementById("send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const field = document.getElementById("send-text");
    send({ type: "natter:send", text: field.value });
    field.value = "";
  });
  document.getElementById("name-form").addEventListener("submit", (e) => {
    e.preventDefault();
    send({ type: "natter:setName", name: document.getElementById("name-text").value });
  });
})();
