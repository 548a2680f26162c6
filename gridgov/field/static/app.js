// The field app's screens: sign-in, today, report, patrol, tasks, market duty.
// Reads and writes go through Field (store.js); this file only draws and collects input.
"use strict";

(() => {
  const TEXT = {
    app: ["网格外勤", "Field app"],
    signin: ["登录", "Sign in"],
    signOut: ["退出", "Sign out"],
    signOutWaiting: [
      "还有 {n} 条上报未发送，退出后要等本人再次登录才会发送。仍要退出吗？",
      "{n} reports are not sent yet; they wait until you sign in again. Sign out anyway?",
    ],
    username: ["用户名", "Username"],
    password: ["密码", "Password"],
    today: ["今日", "Today"],
    report: ["上报", "Report"],
    patrol: ["巡查", "Patrol"],
    tasks: ["任务", "Tasks"],
    market: ["集市", "Market"],
    myIssues: ["我的未办结事件", "My open issues"],
    notices: ["未读通知", "Unread notifications"],
    category: ["类别", "Category"],
    description: ["问题描述", "Description"],
    photos: ["现场照片", "Photos"],
    position: ["位置", "Position"],
    microGrid: ["微网格", "Micro-grid"],
    fixedOnSpot: ["现场已整改", "Fixed on the spot"],
    fixNote: ["整改说明", "What was done"],
    fixPhotos: ["整改后照片", "Photo of the fix"],
    submit: ["提交", "Submit"],
    queue: ["待发送与已发送", "Queued and sent"],
    patrolStart: ["开始巡查", "Start patrol"],
    patrolFinish: ["结束巡查", "Finish patrol"],
    minutes: ["分钟", "Minutes"],
    counted: ["计入", "Counted"],
    online: ["在线", "online"],
    offline: ["离线", "offline"],
    waiting: ["等待发送", "waiting"],
    sent: ["已发送", "sent"],
    refused: ["被退回", "refused"],
    edit: ["修改后重发", "Edit and send again"],
    kept: ["已保存在手机上，有网络时自动发送。", "Kept on the phone; sent as soon as there is a network."],
    resolvedWhenSent: ["发送时确定", "resolved when sent"],
    noFix: ["正在定位…", "Waiting for a GPS fix…"],
    accuracy: ["精度", "accuracy"],
    sessionExpired: [
      "登录已过期。请重新登录，手机上待发送的内容会在登录后发送。",
      "Your session has expired. Sign in again; what is queued on the phone is sent after that.",
    ],
    covered: ["今日已巡", "covered today"],
    notCovered: ["今日未巡", "not covered today"],
    grids: ["微网格", "micro-grids"],
    deadline: ["时限", "deadline"],
    none: ["无", "none"],
    patrolIdle: ["未在巡查。", "No patrol under way."],
    patrolOn: ["巡查中：已记录 {n} 个点，已发送 {s} 批。", "Patrolling: {n} points recorded, {s} batches sent."],
    patrolSending: ["巡查已结束，正在发送…", "Patrol finished, sending…"],
    patrolDone: ["巡查完成。", "Patrol finished."],
    distance: ["里程", "Distance"],
    duration: ["用时", "Time"],
    flagged: ["异常速度点", "Impossible speeds"],
    newPatrol: ["新的巡查", "New patrol"],
    start: ["开始处置", "Start"],
    fix: ["处置完成", "Fixed"],
    verifyPass: ["核查通过", "Verify: pass"],
    verifyFail: ["核查不通过", "Verify: fail"],
    note: ["说明", "Note"],
    noTasks: ["暂无任务。", "No tasks."],
    needsOnline: ["此操作需要网络。", "This needs a network connection."],
    checkin: ["到岗签到", "Check in"],
    checkedIn: ["已签到", "Checked in"],
    inside: ["在集市范围内", "inside the market"],
    outside: ["不在集市范围内", "outside the market"],
    onTime: ["准时", "on time"],
    late: ["迟到", "late"],
    myTeam: ["本队值守", "my team on duty"],
    noMarkets: ["近两周没有集市日。", "No market days in the next two weeks."],
    lastSeen: ["离线显示上次的数据", "offline: showing the last data received"],
  };
  const LANG_KEY = "gridgov-field-lang";
  const $ = (selector, root = document) => root.querySelector(selector);
  const lang = () => Field.lang();
  const t = (key, values = {}) => {
    const pair = TEXT[key] || [key, key];
    return pair[lang() === "en" ? 1 : 0].replace(/\{(\w+)\}/g, (_, k) => values[k]);
  };
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
    return node;
  };
  const localTime = (iso) =>
    iso ? new Date(iso).toLocaleString(lang() === "en" ? "en-GB" : "zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "—";
  const localDate = (offsetDays = 0) =>
    new Date(Field.serverNow() + 8 * 3600e3 + offsetDays * 86400e3).toISOString().slice(0, 10);

  let me = null;
  let categories = [];
  let position = null;

  // ------------------------------------------------------------------ chrome

  function translate() {
    document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    $("#lang-switch").textContent = lang() === "en" ? "中文" : "English";
    showNet();
  }

  function showNet() {
    const net = $("#net");
    net.textContent = navigator.onLine ? t("online") : t("offline");
    net.className = "net " + (navigator.onLine ? "on" : "off");
  }

  function show(screen) {
    for (const node of document.querySelectorAll(".screen")) node.hidden = node.id !== screen;
    for (const button of document.querySelectorAll("#tabs button")) {
      button.classList.toggle("active", button.dataset.screen === screen);
    }
    document.body.dataset.screen = screen;
    const load = { today: loadToday, report: renderQueue, patrol: renderPatrol, tasks: loadTasks, market: loadMarket }[screen];
    if (load) load().catch(fail(screen));
  }

  const fail = (screen) => (error) => {
    if (error instanceof Field.ApiError && error.status === 401) return askSignIn(true);
    const target = { today: "#map-status", tasks: "#tasks-message", market: "#market-message" }[screen];
    if (target) $(target).textContent = error instanceof Field.Offline ? t("needsOnline") : error.message;
  };

  function askSignIn(expired) {
    $("#app").hidden = true;
    $("#sign-out").hidden = true;
    $("#tabs").hidden = true;
    $("#signin").hidden = false;
    $("#signin-note").hidden = !expired;
    $("#signin-note").textContent = t("sessionExpired");
    if (me) $("#signin-form").username.value = me.username;
  }

  function enter(user) {
    me = user;
    $("#who").textContent = user.display_name || user.username;
    $("#signin").hidden = true;
    $("#app").hidden = false;
    $("#sign-out").hidden = false;
    $("#tabs").hidden = false;
    $('#tabs [data-screen="market"]').hidden = !user.roles.some((r) => ["patrol", "admin"].includes(r));
    document.body.dataset.ready = "1";
    loadCategories();
    resumePatrol();
    lastLocated = "";
    locate();
    show(document.body.dataset.screen || "today");
  }

  // ------------------------------------------------------------------ sign-in

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    $("#signin-error").textContent = "";
    try {
      await Field.session();
      const body = await Field.call("POST", "/auth/session", {
        username: form.username.value,
        password: form.password.value,
      });
      form.password.value = "";
      await Field.put("cache", "me", body.user);
      await Field.session(); // the new session's CSRF token
      enter(body.user);
      Field.signedIn();
    } catch (error) {
      $("#signin-error").textContent = error instanceof Field.Offline ? t("needsOnline") : error.message;
    }
  }

  async function boot() {
    translate();
    let user = null;
    try {
      user = await Field.session();
    } catch (error) {
      // Offline: the last signed-in user (not a credential) lets him work; sending asks for sign-in.
      if (error instanceof Field.Offline || error.status >= 500) user = (await Field.get("cache", "me")) || null;
    }
    if (user) {
      enter(user);
      Field.sync();
    } else {
      const cached = await Field.get("cache", "me");
      me = cached || null;
      askSignIn(Boolean(cached));
    }
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(document.body.dataset.sw, { scope: document.body.dataset.scope }).catch(() => {});
    }
  }

  Field.onChange(() => {
    if (Field.signInNeeded()) askSignIn(true);
    if (!$("#report").hidden) renderQueue();
    if (!$("#patrol").hidden) renderPatrol();
  });

  // ------------------------------------------------------------------ today

  let map = null;
  let gridLayer = null;
  let meMarker = null;

  async function loadToday() {
    if (!map) {
      map = L.map("map", { zoomControl: true, attributionControl: false }).setView([33.74, 113.19], 14);
      gridLayer = L.geoJSON(null, { style: () => ({ weight: 2, color: "#1565c0", fillOpacity: 0.15 }) }).addTo(map);
    }
    const status = [];
    const own = me.roles.includes("grid_worker") ? me.own_areas || [] : [];
    const openStates = ["reported", "accepted", "dispatched", "in_progress", "deferred", "fixed"];
    // One round trip for all of it: on slow 3G each trip is seconds.
    const [areas, reports, issues, notices] = await Promise.all([
      Field.cachedGet("/areas?format=geojson&level=micro_grid"),
      Promise.all(
        own.map((area) =>
          Field.cachedGet(`/reports/daily?date=${localDate()}&area=${area}`).catch((error) => {
            if (error instanceof Field.ApiError && error.status === 401) throw error;
            return null;
          })
        )
      ),
      Field.cachedGet("/issues?" + openStates.map((s) => `status=${s}`).join("&") + "&page_size=100"),
      Field.cachedGet("/me/notifications?page_size=20"),
    ]);
    const covered = new Map(
      reports.filter(Boolean).flatMap((report) => report.data.micro_grids.map((row) => [row.code, row]))
    );
    gridLayer.clearLayers();
    gridLayer.addData(areas.data);
    let done = 0;
    gridLayer.eachLayer((layer) => {
      const row = covered.get(layer.feature.properties.code);
      const isCovered = Boolean(row && row.covered);
      done += isCovered ? 1 : 0;
      layer.setStyle({ color: isCovered ? "#2e7d32" : "#ef6c00", fillColor: isCovered ? "#66bb6a" : "#ffb74d" });
      layer.getElement()?.classList.add(isCovered ? "grid-covered" : "grid-open");
      layer.bindTooltip(`${layer.feature.properties.name}：${t(isCovered ? "covered" : "notCovered")}`);
    });
    const count = areas.data.features.length;
    if (count) map.fitBounds(gridLayer.getBounds(), { maxZoom: 17 });
    status.push(`${t("grids")} ${count}`, `${t("covered")} ${done}`, `${t("notCovered")} ${count - done}`);
    if (!areas.fresh) status.push(t("lastSeen"));
    $("#map-status").textContent = status.join(" · ");
    placeMe();

    const mine = issues.data.filter((i) => i.assignee_id === me.id || i.reporter_id === me.id);
    const list = $("#today-issues");
    list.replaceChildren(
      ...(mine.length
        ? mine.map((i) =>
            el("li", { "data-issue": i.id, class: i.overdue ? "overdue" : "" },
              el("strong", {}, `#${i.id} ${i.category}`), " ", i.description,
              el("small", {}, ` ${i.status} · ${t("deadline")} ${localTime(i.deadline)}`)))
        : [el("li", {}, t("none"))])
    );
    const unread = notices.data.filter((n) => !n.read_at);
    $("#today-notices").replaceChildren(
      ...(unread.length ? unread.map((n) => el("li", {}, el("strong", {}, n.title), " ", n.body)) : [el("li", {}, t("none"))])
    );
    document.body.dataset.todayReady = "1";
  }

  function placeMe() {
    if (!map || !position) return;
    const latlng = [position.lat, position.lon];
    if (!meMarker) {
      meMarker = L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: "#d32f2f", fillOpacity: 1, className: "me-marker" }).addTo(map);
    } else {
      meMarker.setLatLng(latlng);
    }
  }

  // ------------------------------------------------------------------ position

  let lastLocated = "";

  function watchPosition() {
    if (!navigator.geolocation) return;
    navigator.geolocation.watchPosition(onPosition, () => {}, { enableHighAccuracy: true, maximumAge: 0 });
  }

  function onPosition(pos) {
    position = { lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy, t: pos.timestamp };
    $("#gps").textContent = `${position.lat.toFixed(6)}, ${position.lon.toFixed(6)} (${t("accuracy")} ±${Math.round(position.accuracy)} m)`;
    placeMe();
    locate();
    recordPatrolPoint(pos);
  }

  async function locate() {
    if (!me || !position) return;
    const key = `${position.lon.toFixed(5)},${position.lat.toFixed(5)}`;
    if (key === lastLocated) return;
    lastLocated = key;
    const grid = $("#grid");
    if (!navigator.onLine) {
      grid.textContent = t("resolvedWhenSent");
      return;
    }
    try {
      const found = await Field.call("GET", `/areas/locate?lon=${position.lon}&lat=${position.lat}`);
      grid.textContent = found.area.name;
      grid.className = "";
    } catch (error) {
      if (error instanceof Field.Offline) {
        grid.textContent = t("resolvedWhenSent");
        lastLocated = "";
      } else {
        grid.textContent = error.message;
        grid.className = "error";
      }
    }
  }

  // ------------------------------------------------------------------ report

  async function loadCategories() {
    try {
      categories = (await Field.cachedGet("/categories")).data;
    } catch (error) {
      categories = [];
    }
    const select = $("#report-form").category;
    const chosen = select.value;
    select.replaceChildren(
      ...categories.map((c) => el("option", { value: c.code }, lang() === "en" ? c.name_en : c.name_zh))
    );
    if (chosen) select.value = chosen;
  }

  let editing = null; // a refused report loaded back into the form

  function previews() {
    const form = $("#report-form");
    const box = $("#photo-previews");
    box.replaceChildren(
      ...[...form.photos.files].map((file) => {
        const img = el("img", { alt: file.name });
        img.src = URL.createObjectURL(file);
        return img;
      })
    );
  }

  async function submitReport(event) {
    event.preventDefault();
    const form = event.target;
    const message = $("#report-message");
    const fields = {
      category: form.category.value,
      description: form.description.value.trim(),
      fixed_on_spot: form.fixed_on_spot.checked,
      fix_note: form.fix_note.value.trim(),
    };
    if (position) Object.assign(fields, { lon: position.lon, lat: position.lat, accuracy: position.accuracy });
    if (!fields.description || fields.lon == null) {
      message.textContent = fields.lon == null ? t("noFix") : t("description");
      return;
    }
    const photos = [...form.photos.files];
    const fixPhotos = [...form.fix_photos.files];
    if (editing) {
      if (photos.length) fields.photos = photos.map((blob) => ({ uuid: crypto.randomUUID(), blob, upload_id: null }));
      if (fixPhotos.length) fields.fix_photos = fixPhotos.map((blob) => ({ uuid: crypto.randomUUID(), blob, upload_id: null }));
      await Field.resubmit(editing, fields);
      editing = null;
    } else {
      await Field.queueReport(me.username, fields, photos, fixPhotos);
    }
    form.reset();
    $("#fix-fields").hidden = true;
    $("#photo-previews").replaceChildren();
    message.textContent = t("kept");
    renderQueue();
  }

  function editReport(report) {
    const form = $("#report-form");
    editing = report;
    form.category.value = report.category;
    form.description.value = report.description;
    form.fixed_on_spot.checked = Boolean(report.fixed_on_spot);
    form.fix_note.value = report.fix_note || "";
    $("#fix-fields").hidden = !report.fixed_on_spot;
    $("#report-message").textContent = report.message;
    form.description.focus();
  }

  async function renderQueue() {
    if (!me) return;
    const rows = await Field.reports(me.username);
    $("#queue").replaceChildren(
      ...rows.reverse().map((r) => {
        const item = el("li", { class: `queued ${r.state}`, "data-uuid": r.client_uuid, "data-state": r.state },
          el("span", { class: "state" }, t(r.state)), " ", el("span", { class: "what" }, `${r.category} ${r.description}`));
        if (r.state === "sent") item.append(el("small", {}, ` #${r.issue_id} ${r.micro_grid}`));
        if (r.state === "waiting") item.append(el("small", {}, ` ${r.photos.length + r.fix_photos.length} 📷`));
        if (r.state === "refused") {
          item.append(el("p", { class: "error server-message" }, r.message));
          item.append(el("button", { type: "button", class: "edit", onclick: () => editReport(r) }, t("edit")));
        }
        return item;
      })
    );
  }

  // ------------------------------------------------------------------ patrol

  let patrolWatch = null;
  let patrolTimer = null;

  async function resumePatrol() {
    const patrol = await Field.currentPatrol(me.username);
    if (patrol && !patrol.ended_at) startRecording();
    renderPatrol();
  }

  function startRecording() {
    if (patrolTimer) return;
    // Every 15 s the points so far become a batch, so little is lost if the phone dies.
    patrolTimer = setInterval(async () => {
      const patrol = await Field.currentPatrol(me.username);
      if (!patrol || patrol.ended_at) return;
      if (patrol.pending.length) {
        Field.cutBatch(patrol);
        await Field.savePatrol(patrol);
        Field.sync();
      }
    }, 15000);
  }

  async function recordPatrolPoint(pos) {
    if (!me || !patrolTimer) return;
    const patrol = await Field.currentPatrol(me.username);
    if (!patrol || patrol.ended_at) return;
    const point = {
      lon: pos.coords.longitude,
      lat: pos.coords.latitude,
      t: new Date(pos.timestamp).toISOString(),
      accuracy: Math.round(pos.coords.accuracy * 10) / 10,
    };
    const last = patrol.last;
    if (last && last.lon === point.lon && last.lat === point.lat && last.t === point.t) return; // one fix, reported twice
    patrol.last = point;
    const before = patrol.batches.length;
    await Field.addPoint(patrol, point);
    if (patrol.batches.length !== before) Field.sync();
    renderPatrol();
  }

  async function renderPatrol() {
    if (!me) return;
    const patrol = await Field.currentPatrol(me.username);
    const state = $("#patrol-state");
    const figures = $("#patrol-figures");
    const table = $("#patrol-grids");
    $("#patrol-start").hidden = Boolean(patrol && !patrol.result && !patrol.refused);
    $("#patrol-finish").hidden = !patrol || Boolean(patrol.ended_at);
    $("#patrol-start").textContent = patrol ? t("newPatrol") : t("patrolStart");
    figures.replaceChildren();
    table.hidden = true;
    if (!patrol) {
      state.textContent = t("patrolIdle");
      document.body.dataset.patrol = "idle";
      return;
    }
    const sent = patrol.batches.filter((b) => b.sent).length;
    document.body.dataset.patrol = patrol.result ? "done" : patrol.ended_at ? "sending" : "on";
    if (patrol.refused) {
      state.textContent = patrol.refused;
      state.className = "error";
      return;
    }
    state.className = "note";
    if (!patrol.ended_at) {
      state.textContent = t("patrolOn", { n: patrol.points, s: sent });
    } else if (!patrol.result) {
      state.textContent = t("patrolSending");
    } else {
      const r = patrol.result;
      state.textContent = t("patrolDone");
      figures.replaceChildren(
        el("dt", {}, t("distance")), el("dd", { id: "patrol-distance" }, `${Math.round(r.distance_m)} m`),
        el("dt", {}, t("duration")), el("dd", { id: "patrol-duration" }, `${Math.round(r.duration_s / 60)} ${t("minutes")}`),
        el("dt", {}, t("flagged")), el("dd", { id: "patrol-flagged" }, r.flagged ? "⚠" : t("none"))
      );
      table.hidden = false;
      table.tBodies[0].replaceChildren(
        ...(r.grids || []).map((g) =>
          el("tr", { "data-code": g.code }, el("td", {}, g.name || g.code), el("td", {}, String(Math.round(g.seconds_inside / 60))),
            el("td", {}, g.counted ? "✓" : "—")))
      );
    }
  }

  async function startPatrol() {
    const current = await Field.currentPatrol(me.username);
    if (current) await Field.clearPatrol(me.username);
    await Field.startPatrol(me.username);
    startRecording();
    if (position) recordPatrolPoint({ coords: { longitude: position.lon, latitude: position.lat, accuracy: position.accuracy }, timestamp: position.t });
    renderPatrol();
  }

  async function finishPatrol() {
    const patrol = await Field.currentPatrol(me.username);
    clearInterval(patrolTimer);
    patrolTimer = null;
    if (patrol) await Field.finishPatrol(patrol);
    renderPatrol();
  }

  // ------------------------------------------------------------------ tasks

  async function loadTasks() {
    const message = $("#tasks-message");
    message.textContent = "";
    const { data } = await Field.cachedGet("/issues?status=dispatched&status=in_progress&status=fixed&page_size=100");
    const verifier = me.roles.some((r) => ["grid_worker", "staff", "admin"].includes(r));
    const tasks = data.filter(
      (i) => (i.assignee_id === me.id && i.status !== "fixed") || (i.status === "fixed" && verifier && i.fixer_id !== me.id)
    );
    const list = $("#task-list");
    if (!tasks.length) {
      list.replaceChildren(el("li", {}, t("noTasks")));
      return;
    }
    list.replaceChildren(...tasks.map(taskItem));
  }

  function taskItem(issue) {
    const note = el("input", { name: "note", placeholder: t("note"), maxlength: "2000" });
    const photo = el("input", { name: "photo", type: "file", accept: "image/*", capture: "environment" });
    const error = el("p", { class: "error task-error", role: "alert" });
    const act = (action, extra) => async () => {
      error.textContent = "";
      try {
        const body = { action, ...extra };
        if (note.value.trim()) body.note = note.value.trim();
        if (action === "fix" && photo.files.length) {
          const form = new FormData();
          form.append("client_uuid", crypto.randomUUID());
          form.append("file", photo.files[0], "fix.jpg");
          body.photos = [(await Field.call("POST", "/uploads", undefined, { form })).id];
        }
        await Field.call("POST", `/issues/${issue.id}/actions`, body);
        await loadTasks();
        $("#tasks-message").textContent = `#${issue.id} ✓`;
      } catch (e) {
        if (e instanceof Field.ApiError && e.status === 401) return askSignIn(true);
        error.textContent = e instanceof Field.Offline ? t("needsOnline") : e.message;
      }
    };
    const buttons = [];
    if (issue.status === "dispatched") buttons.push(el("button", { type: "button", class: "act-start", onclick: act("start") }, t("start")));
    if (issue.status === "dispatched" || issue.status === "in_progress") {
      buttons.push(el("button", { type: "button", class: "act-fix", onclick: act("fix") }, t("fix")));
    }
    if (issue.status === "fixed") {
      buttons.push(el("button", { type: "button", class: "act-pass", onclick: act("verify", { result: "pass" }) }, t("verifyPass")));
      buttons.push(el("button", { type: "button", class: "act-fail", onclick: act("verify", { result: "fail" }) }, t("verifyFail")));
    }
    return el("li", { "data-issue": issue.id, "data-status": issue.status },
      el("strong", {}, `#${issue.id} ${issue.category}`), " ", issue.description,
      el("small", {}, ` ${issue.status} · ${t("deadline")} ${localTime(issue.deadline)}`),
      el("div", { class: "task-inputs" }, note, issue.status === "fixed" ? "" : photo),
      el("div", { class: "task-actions" }, ...buttons), error);
  }

  // ------------------------------------------------------------------ market duty

  async function loadMarket() {
    $("#market-message").textContent = "";
    const [days, teams] = await Promise.all([
      Field.cachedGet(`/market-days?from=${localDate()}&to=${localDate(13)}`),
      Field.cachedGet("/patrol-teams?page_size=100"),
    ]);
    const mine = new Set(teams.data.filter((team) => team.member_ids.includes(me.id)).map((team) => team.id));
    const list = $("#market-list");
    const rows = days.data.filter((d) => d.status !== "cancelled");
    if (!rows.length) {
      list.replaceChildren(el("li", {}, t("noMarkets")));
      return;
    }
    list.replaceChildren(
      ...rows.map((day) => {
        const ours = (day.teams || []).some((team) => mine.has(team.id));
        const item = el("li", { class: ours ? "market mine" : "market", "data-market": day.market_id, "data-date": day.date },
          el("strong", {}, `${day.date} ${day.market_name}`), ` ${day.start}–${day.end} `,
          el("small", {}, (day.teams || []).map((team) => team.name).join("、") + (ours ? ` · ${t("myTeam")}` : "")));
        if (day.date === localDate()) {
          const result = el("span", { class: "checkin-result" });
          item.append(el("button", { type: "button", class: "checkin", onclick: () => checkIn(day.market_id, result) }, t("checkin")), result);
        }
        return item;
      })
    );
  }

  async function checkIn(marketId, result) {
    result.className = "checkin-result";
    if (!position) {
      result.textContent = t("noFix");
      return;
    }
    try {
      const checkin = await Field.call("POST", `/markets/${marketId}/checkins`, {
        lon: position.lon, lat: position.lat, device_at: new Date().toISOString(),
      });
      result.textContent = `${t("checkedIn")} · ${t(checkin.inside ? "inside" : "outside")} · ${t(checkin.on_time ? "onTime" : "late")}`;
    } catch (error) {
      if (error instanceof Field.ApiError && error.status === 401) return askSignIn(true);
      result.className = "checkin-result error";
      result.textContent = error instanceof Field.Offline ? t("needsOnline") : error.message;
    }
  }

  // ------------------------------------------------------------------ wiring

  $("#signin-form").addEventListener("submit", signIn);
  $("#report-form").addEventListener("submit", submitReport);
  $("#report-form").photos.addEventListener("change", previews);
  $("#report-form").fixed_on_spot.addEventListener("change", (e) => ($("#fix-fields").hidden = !e.target.checked));
  $("#sign-out").addEventListener("click", async () => {
    const waiting = (await Field.reports(me.username)).filter((r) => r.state !== "sent").length;
    if (waiting && !confirm(t("signOutWaiting", { n: waiting }))) return;
    try {
      await Field.signOut();
    } catch (error) {
      alert(error instanceof Field.Offline ? t("needsOnline") : error.message);
      return;
    }
    askSignIn(false);
  });
  $("#patrol-start").addEventListener("click", startPatrol);
  $("#patrol-finish").addEventListener("click", finishPatrol);
  for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => show(button.dataset.screen));
  $("#lang-switch").addEventListener("click", () => {
    localStorage.setItem(LANG_KEY, lang() === "en" ? "zh" : "en");
    translate();
    if (me) {
      loadCategories();
      show(document.body.dataset.screen || "today");
    }
  });
  window.addEventListener("online", () => {
    showNet();
    lastLocated = "";
    locate();
  });
  window.addEventListener("offline", () => {
    showNet();
    lastLocated = "";
    locate();
  });
  watchPosition();
  boot();
})();
