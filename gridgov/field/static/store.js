// The field app's memory and its line to the server.
// IndexedDB keeps what the worker made (reports with their photos, patrols with their points)
// until the server has acknowledged it; `Field.sync()` sends it, in order, whenever it can.
// The API is called with the console's session cookie and CSRF token: no token is stored here.
"use strict";

const Field = (() => {
  const API = document.body.dataset.api;
  const DB_NAME = "gridgov-field";
  const STORES = ["reports", "patrols", "cache"];
  let dbPromise = null;
  let csrf = null;
  let syncing = null;
  let retryTimer = null;
  let retryDelay = 2000;
  const listeners = new Set();

  // ------------------------------------------------------------------ IndexedDB

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          for (const name of STORES) {
            if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
          }
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return dbPromise;
  }

  async function tx(store, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode);
      const result = work(transaction.objectStore(store));
      transaction.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }

  const put = (store, key, value) => tx(store, "readwrite", (s) => s.put(value, key));
  const get = (store, key) => tx(store, "readonly", (s) => s.get(key));
  const del = (store, key) => tx(store, "readwrite", (s) => s.delete(key));
  const all = (store) => tx(store, "readonly", (s) => s.getAll());

  // ------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }
  class Offline extends Error {}

  const lang = () => localStorage.getItem("gridgov-field-lang") || "zh";

  async function session() {
    const body = await call("GET", "/auth/session");
    csrf = body.csrf_token;
    if (body.user) await put("cache", "me", body.user);
    return body.user;
  }

  // The server's clock decides what "today" is (market days, today's coverage), not the phone's,
  // which may be off: every answer's Date header says how far apart they are, kept for offline use.
  const SKEW_KEY = "gridgov-field-clock-skew";
  function learnServerClock(response) {
    const served = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(served)) localStorage.setItem(SKEW_KEY, String(served - Date.now()));
  }
  const serverNow = () => Date.now() + (Number(localStorage.getItem(SKEW_KEY)) || 0);

  async function call(method, path, body, { form, retried } = {}) {
    const headers = { "Accept-Language": lang(), Accept: "application/json" };
    let payload;
    if (method !== "GET") {
      if (!csrf && path !== "/auth/session") await session();
      headers["X-CSRFToken"] = csrf || "";
    }
    if (form) payload = form;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API + path, { method, headers, body: payload, credentials: "same-origin" });
    } catch (error) {
      throw new Offline(String(error));
    }
    learnServerClock(response);
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
    }
    if (response.ok) return data;
    // A 403 on a write may be a CSRF token the server no longer knows (signed in elsewhere):
    // fetch the session's token once and try again.
    if (response.status === 403 && method !== "GET" && !retried) {
      csrf = null;
      await session();
      return call(method, path, body, { form, retried: true });
    }
    throw new ApiError(response.status, data);
  }

  /** A GET whose last answer is kept, so screens still show something offline. */
  async function cachedGet(path) {
    try {
      const data = await call("GET", path);
      await put("cache", path, data);
      return { data, fresh: true };
    } catch (error) {
      if (!(error instanceof Offline) && !(error.status >= 500)) throw error;
      const data = await get("cache", path);
      if (data === undefined) throw error;
      return { data, fresh: false };
    }
  }

  // ------------------------------------------------------------------ reports

  const uuid = () => crypto.randomUUID();

  /** Keep a report (with its photo blobs) on the phone; it is sent by sync(). Always succeeds. */
  async function queueReport(owner, fields, photos, fixPhotos) {
    const report = {
      ...fields,
      owner,
      client_uuid: fields.client_uuid || uuid(),
      created: fields.created || Date.now(),
      reported_at: fields.reported_at || new Date().toISOString(),
      photos: photos.map((blob) => ({ uuid: uuid(), blob, upload_id: null })),
      fix_photos: fixPhotos.map((blob) => ({ uuid: uuid(), blob, upload_id: null })),
      state: "waiting",
      message: "",
    };
    await put("reports", report.client_uuid, report);
    changed();
    sync();
    return report;
  }

  /** A refused report, edited: a new client_uuid (the server stored nothing under the old one). */
  async function resubmit(report, fields) {
    await del("reports", report.client_uuid);
    const next = { ...report, ...fields, client_uuid: uuid(), state: "waiting", message: "", errors: null };
    await put("reports", next.client_uuid, next);
    changed();
    sync();
    return next;
  }

  async function reports(owner) {
    const rows = (await all("reports")).filter((r) => r.owner === owner);
    return rows.sort((a, b) => a.created - b.created);
  }

  async function uploadPhotos(report, key) {
    for (const photo of report[key]) {
      if (photo.upload_id) continue;
      const form = new FormData();
      form.append("client_uuid", photo.uuid);
      form.append("file", photo.blob, "photo.jpg");
      const upload = await call("POST", "/uploads", undefined, { form });
      photo.upload_id = upload.id;
      await put("reports", report.client_uuid, report);
    }
  }

  async function sendReport(report) {
    await uploadPhotos(report, "photos");
    await uploadPhotos(report, "fix_photos");
    const body = {
      client_uuid: report.client_uuid,
      category: report.category,
      description: report.description,
      location: { type: "Point", coordinates: [report.lon, report.lat] },
      reported_at: report.reported_at,
      photos: report.photos.map((p) => p.upload_id),
    };
    if (report.accuracy != null) body.accuracy = Math.round(report.accuracy * 10) / 10;
    if (report.fixed_on_spot) {
      body.fixed_on_spot = true;
      body.fix_note = report.fix_note;
      body.fix_photos = report.fix_photos.map((p) => p.upload_id);
    }
    const issue = await call("POST", "/issues", body);
    // Acknowledged: the photos and the draft leave the phone; a receipt stays to show "sent".
    const receipt = {
      owner: report.owner,
      client_uuid: report.client_uuid,
      created: report.created,
      category: report.category,
      description: report.description,
      state: "sent",
      issue_id: issue.id,
      micro_grid: issue.micro_grid ? issue.micro_grid.name : "",
      photos: [],
      fix_photos: [],
    };
    await put("reports", report.client_uuid, receipt);
  }

  // ------------------------------------------------------------------ patrols

  const BATCH_POINTS = 5;

  /** The worker's patrol under way (or finished but not yet acknowledged), if any. */
  // One object in memory for the screen and for sync(), so neither writes back a stale copy.
  let patrolObject = null;

  async function currentPatrol(owner) {
    if (!patrolObject || patrolObject.owner !== owner) {
      patrolObject = (await get("patrols", `current:${owner}`)) || null;
    }
    return patrolObject;
  }

  function savePatrol(patrol) {
    patrolObject = patrol;
    return put("patrols", `current:${patrol.owner}`, patrol);
  }

  async function clearPatrol(owner) {
    patrolObject = null;
    await del("patrols", `current:${owner}`);
  }

  async function startPatrol(owner) {
    const patrol = {
      owner,
      client_uuid: uuid(),
      started_at: new Date().toISOString(),
      id: null,
      next_seq: 1,
      pending: [],
      batches: [],
      points: 0,
      ended_at: null,
      result: null,
    };
    await savePatrol(patrol);
    sync();
    return patrol;
  }

  /** Cut the pending points into a numbered batch; the number is its seq on the server. */
  function cutBatch(patrol) {
    if (!patrol.pending.length) return;
    patrol.batches.push({ seq: patrol.next_seq, points: patrol.pending, sent: false });
    patrol.next_seq += 1;
    patrol.pending = [];
  }

  async function addPoint(patrol, point) {
    patrol.pending.push(point);
    patrol.points += 1;
    if (patrol.pending.length >= BATCH_POINTS) cutBatch(patrol);
    await savePatrol(patrol);
  }

  async function finishPatrol(patrol) {
    cutBatch(patrol);
    patrol.ended_at = new Date().toISOString();
    await savePatrol(patrol);
    sync();
  }

  async function sendPatrol(patrol) {
    if (!patrol.id) {
      const made = await call("POST", "/patrols", {
        client_uuid: patrol.client_uuid,
        started_at: patrol.started_at,
      });
      patrol.id = made.id;
      await savePatrol(patrol);
    }
    for (const batch of patrol.batches) {
      if (batch.sent) continue;
      await call("POST", `/patrols/${patrol.id}/points`, { seq: batch.seq, points: batch.points });
      batch.sent = true;
      batch.points = []; // acknowledged (a repeat of this seq would change nothing anyway)
      await savePatrol(patrol);
    }
    if (patrol.ended_at && !patrol.result) {
      patrol.result = await call("POST", `/patrols/${patrol.id}/finish`, { ended_at: patrol.ended_at });
      await savePatrol(patrol);
    }
  }

  // ------------------------------------------------------------------ sending

  const REFUSED = (status) => status >= 400 && status < 500 && ![401, 408, 425, 429].includes(status);

  function retryLater() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(sync, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  /** Send everything waiting, oldest first; stops at the first item the network or sign-in blocks. */
  let again = false;

  function sync() {
    if (syncing) {
      again = true; // something was queued while a round was under way: one more round after it
      return syncing;
    }
    syncing = run().finally(() => {
      syncing = null;
      changed();
      if (again) {
        again = false;
        sync();
      }
    });
    return syncing;
  }

  /** Sign out: the session ends on the server; what the screens cached leaves the phone. */
  async function signOut() {
    await call("DELETE", "/auth/session");
    csrf = null;
    await tx("cache", "readwrite", (s) => s.clear());
  }

  let needsSignIn = false;
  const signInNeeded = () => needsSignIn;

  async function run() {
    const me = await get("cache", "me");
    if (!me || needsSignIn) return;
    try {
      for (const report of await reports(me.username)) {
        if (report.state !== "waiting") continue;
        try {
          await sendReport(report);
        } catch (error) {
          if (!(error instanceof ApiError) || !REFUSED(error.status)) throw error;
          report.state = "refused";
          report.message = error.message;
          report.errors = (error.body && error.body.errors) || null;
          await put("reports", report.client_uuid, report);
        }
        changed();
      }
      const patrol = await currentPatrol(me.username);
      if (patrol && !patrol.refused) {
        try {
          await sendPatrol(patrol);
        } catch (error) {
          if (!(error instanceof ApiError) || !REFUSED(error.status)) throw error;
          patrol.refused = error.message;
          await savePatrol(patrol);
        }
      }
      retryDelay = 2000;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        needsSignIn = true; // the session ended: the queue waits for the next sign-in
      } else {
        retryLater();
      }
    }
  }

  function signedIn() {
    needsSignIn = false;
    retryDelay = 2000;
    return sync();
  }

  function changed() {
    for (const listener of listeners) listener();
  }

  window.addEventListener("online", () => {
    retryDelay = 2000;
    sync();
  });

  return {
    ApiError,
    Offline,
    call,
    cachedGet,
    serverNow,
    session,
    get,
    put,
    del,
    lang,
    queueReport,
    resubmit,
    reports,
    currentPatrol,
    savePatrol,
    clearPatrol,
    startPatrol,
    addPoint,
    cutBatch,
    finishPatrol,
    sync,
    signedIn,
    signOut,
    signInNeeded,
    onChange: (listener) => listeners.add(listener),
  };
})();
