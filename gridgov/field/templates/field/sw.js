// The field app's service worker: the shell from its cache, so the app starts with no network.
// API requests are not touched: they go to the network, and the app's queue handles failures.
const CACHE = "gridgov-field-{{ version }}";
const SHELL = {{ urls | tojson }};
const HOME = SHELL[0];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("gridgov-field-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const key = request.mode === "navigate" && url.pathname === HOME ? HOME : url.pathname;
  if (!SHELL.includes(key)) return;
  // Cache first: a new release is a new worker (its hash changes) that fetches the new shell.
  event.respondWith(caches.match(key, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
});
