// Natter's service worker: keeps the app shell of one build so the app opens offline.
//
// tools/sw.py fills in VERSION and SHELL for each build (Trunk's post-build hook), so every
// deploy changes this file's bytes: the browser then installs the new worker beside the old
// one, and the page offers "A new version is available — reload". Only the shell is
// cached; the signaling socket, /config and /healthz always go to the network, so the app
// sees honestly when the server is down. Rooms and history live in IndexedDB, not here.

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `natter-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("natter-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// The page asks a waiting worker to take over when the user chooses to reload.
self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
  if (event.data === "version" && event.ports[0]) event.ports[0].postMessage(VERSION);
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Page loads get the cached shell of this version (the route is in the fragment).
  const path = request.mode === "navigate" ? "/" : url.pathname;
  if (!SHELL.includes(path)) return;
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(path).then((hit) => hit || fetch(request)),
    ),
  );
});
