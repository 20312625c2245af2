// toolgate console: live search, Render and Call, and a live health page. No dependencies.
// The admin key typed into a tool page is kept in sessionStorage (this tab only) and sent as
// `Authorization: Bearer`; no cookie is ever set.
"use strict";

(function () {
  const KEY_SLOT = "toolgate-admin-key";

  function liveSearch() {
    const box = document.getElementById("q");
    const rows = document.getElementById("tool-rows");
    const count = document.getElementById("tool-count");
    if (!box || !rows) return;
    box.addEventListener("input", function () {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const row of rows.rows) {
        const text = row.dataset.search || "";
        const hit = words.every(function (w) { return text.includes(w); });
        row.hidden = !hit;
        if (hit) shown += 1;
      }
      if (count) count.textContent = shown + " shown";
    });
  }

  function setPath(target, path, value) {
    let node = target;
    for (let i = 0; i < path.length - 1; i += 1) {
      if (typeof node[path[i]] !== "object" || node[path[i]] === null) node[path[i]] = {};
      node = node[path[i]];
    }
    node[path[path.length - 1]] = value;
  }

  // The arguments from the form's controls; throws an Error naming a bad field.
  function collect(form) {
    const args = {};
    for (const el of form.querySelectorAll("[data-path]")) {
      const path = JSON.parse(el.dataset.path);
      const name = path.join(".");
      const kind = el.dataset.kind;
      if (kind === "boolean") {
        if (el.checked) setPath(args, path, true);
        else if (el.hasAttribute("data-required")) setPath(args, path, false);
        continue;
      }
      const raw = el.value.trim();
      if (raw === "") continue;
      if (kind === "integer" || kind === "number") {
        const n = Number(raw);
        if (!Number.isFinite(n)) throw new Error(name + ": not a number");
        setPath(args, path, n);
      } else if (kind === "json") {
        try { setPath(args, path, JSON.parse(raw)); } catch (e) {
          throw new Error(name + ": not valid JSON (" + e.message + ")");
        }
      } else {
        setPath(args, path, el.value);
      }
    }
    // Required nested objects are sent even when left empty.
    for (const set of form.querySelectorAll("fieldset[data-object][data-required]")) {
      const path = JSON.parse(set.dataset.object);
      let node = args;
      let present = true;
      for (const part of path) {
        if (node && typeof node === "object" && part in node) node = node[part]; else { present = false; break; }
      }
      if (!present) setPath(args, path, {});
    }
    return args;
  }

  function show(kind, meta, body, failed) {
    const section = document.getElementById("result");
    section.hidden = false;
    section.classList.toggle("error", !!failed);
    document.getElementById("result-title").textContent = kind;
    document.getElementById("result-meta").textContent = meta;
    document.getElementById("result-body").textContent = body;
  }

  async function act(form, action) {
    const keyBox = document.getElementById("admin-key");
    const key = keyBox.value.trim();
    if (!key) { keyBox.focus(); show("Admin key needed", "", "Type the admin key first.", true); return; }
    sessionStorage.setItem(KEY_SLOT, key);
    let args;
    try { args = collect(form); } catch (e) { show("Invalid arguments", "", e.message, true); return; }
    const caller = document.getElementById("as-caller").value || null;
    const url = "/admin/api/tools/" + encodeURIComponent(form.dataset.tool) + "/" + action;
    const label = action === "render" ? "Rendered request (nothing sent)" : "Call result";
    show(label, "working…", "", false);
    let reply;
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "omit",
        headers: { "Authorization": "Bearer " + key, "Content-Type": "application/json" },
        body: JSON.stringify({ arguments: args, caller: caller }),
      });
      reply = await response.json().catch(function () { return { ok: false, error: { code: "http_" + response.status, message: response.statusText } }; });
      if (!response.ok && reply.ok === undefined) reply.ok = false;
    } catch (e) {
      show(label, "", "The console could not reach the gateway: " + e.message, true);
      return;
    }
    const timing = reply.elapsed_ms !== undefined ? " · " + reply.elapsed_ms + " ms" : "";
    if (reply.ok) {
      if (action === "render") show(label, "ok" + timing, reply.request, false);
      else show(label, "ok" + timing + (reply.truncated ? " · truncated" : ""), JSON.stringify(reply.result, null, 2), false);
    } else {
      const error = reply.error || {};
      show(label, "error " + (error.code || "unknown") + timing, JSON.stringify(error, null, 2), true);
    }
  }

  function toolForm() {
    const form = document.getElementById("tool-form");
    if (!form) return;
    const keyBox = document.getElementById("admin-key");
    keyBox.value = sessionStorage.getItem(KEY_SLOT) || "";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.reportValidity()) act(form, "render");
    });
    form.querySelector("[data-action=call]").addEventListener("click", function () {
      if (form.reportValidity()) act(form, "call");
    });
  }

  // The health page refreshes itself every second while visible.
  function liveHealth() {
    const main = document.querySelector("main[data-live]");
    if (!main) return;
    const mark = function () {
      const note = document.getElementById("live-note");
      if (note) note.textContent = "· updates every second";
    };
    mark();
    setInterval(async function () {
      if (document.hidden) return;
      try {
        const response = await fetch(location.pathname, { credentials: "same-origin" });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        const next = fresh.querySelector("main[data-live]");
        if (next) { main.innerHTML = next.innerHTML; mark(); }
      } catch (e) { /* try again next second */ }
    }, 1000);
  }

  liveSearch();
  toolForm();
  liveHealth();
})();
