// The console map: micro-grids and open issues, both read from the API with the session cookie.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const status = document.getElementById("map-status");
  const en = config.lang === "en";
  const say = (zh, english) => (en ? english : zh);

  const map = L.map("map", { zoomSnap: 0.25 });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, {
      attribution: config.tileAttribution,
      subdomains: config.tileSubdomains,
      maxZoom: 18,
    }).addTo(map);
  }

  const styles = {
    district: { color: "#333", weight: 3, fill: false },
    town: { color: "#555", weight: 2.5, fill: false },
    community: { color: "#777", weight: 2, fill: false, dashArray: "6 4" },
    grid: { color: "#3366aa", weight: 1.5, fillOpacity: 0.03 },
    micro_grid: { color: "#6699cc", weight: 1, fillOpacity: 0.08 },
  };

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.message || response.statusText);
    }
    return body;
  }

  function text(value) {
    const span = document.createElement("span");
    span.textContent = value == null ? "" : String(value);
    return span.innerHTML;
  }

  function popup(p) {
    return (
      `<strong>#${p.id} ${text(p.category)}</strong><br>${text(config.states[p.status] || p.status)}` +
      (p.overdue ? ` · <b class="overdue">${say("超期", "overdue")}</b>` : "") +
      (p.located_by === "nearest"
        ? `<br><b class="nearest">${say(`网格外 ${Math.round(p.located_distance_m)} 米，就近归入，待确认`, `${Math.round(p.located_distance_m)} m outside, placed at the nearest grid: to confirm`)}</b>`
        : "") +
      `<br>${text(p.description).slice(0, 120)}<br>` +
      `<a class="issue-link" href="${config.issueUrl}${p.id}">${say("详情与处置", "Details and actions")}</a>`
    );
  }

  async function load() {
    try {
      const areas = await getJSON(config.areasUrl);
      const layer = L.geoJSON(areas, {
        style: (f) => styles[f.properties.level] || styles.micro_grid,
        onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name} (${f.properties.code})`),
      }).addTo(map);
      // The first view is set without animation, so layers added next are placed at their final scale.
      if (areas.features.length) {
        map.fitBounds(layer.getBounds(), { padding: [10, 10], animate: false });
      } else {
        map.setView([35, 105], 4, { animate: false });
      }
      const issues = await getJSON(config.issuesUrl);
      const tbody = document.querySelector("#issue-list tbody");
      L.geoJSON(issues, {
        pointToLayer: (f, latlng) =>
          L.circleMarker(latlng, {
            radius: 7,
            color: f.properties.overdue ? "#d62728" : f.properties.located_by === "nearest" ? "#e67e00" : "#222",
            weight: f.properties.overdue || f.properties.located_by === "nearest" ? 3 : 1,
            dashArray: f.properties.located_by === "nearest" ? "3 3" : null,
            fillColor: config.colours[f.properties.status] || "#999",
            fillOpacity: 0.9,
            className: `issue-marker issue-${f.properties.id}${f.properties.located_by === "nearest" ? " issue-nearest" : ""}`,
          }),
        onEachFeature: (f, l) => {
          l.bindPopup(popup(f.properties));
          const row = tbody.insertRow();
          row.className = f.properties.overdue ? "overdue" : "";
          row.dataset.issue = f.properties.id;
          row.innerHTML =
            `<td><a href="${config.issueUrl}${f.properties.id}">${f.properties.id}</a></td>` +
            `<td>${text(f.properties.category)}</td><td>${text(config.states[f.properties.status] || f.properties.status)}</td>` +
            `<td>${text(f.properties.micro_grid ? f.properties.micro_grid.name : "")}</td>`;
          row.addEventListener("mouseenter", () => l.openPopup());
        },
      }).addTo(map);
      status.textContent = say(
        `微网格 ${areas.features.filter((f) => f.properties.level === "micro_grid").length} 个，事件 ${issues.features.length} 件`,
        `${areas.features.filter((f) => f.properties.level === "micro_grid").length} micro-grids, ${issues.features.length} issues`
      );
      document.body.dataset.mapReady = "1";
    } catch (error) {
      status.textContent = error.message;
      status.className = "flash error";
      document.body.dataset.mapReady = "error";
    }
  }
  load();
})();
