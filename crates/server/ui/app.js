// The Trellis web UI: a small client of the JSON API under /api/v1.
//
// Every piece of text that comes from the API or the cluster goes into the
// page as a text node (never parsed as markup), and links are only built
// from hashes this script composes and checks (or, for a repository, from
// an http(s) URL the browser parsed), so names, labels or annotations
// holding markup or script URLs stay inert text.

const API = "/api/v1";
const CSRF_HEADER = "X-Trellis-CSRF";
const SVG_NS = "http://www.w3.org/2000/svg";
const IN_CLUSTER = "https://kubernetes.default.svc";

const session = { user: null, csrf: null };
// What the current page opened (event streams, timers), closed when it goes.
let cleanups = [];
// The list filters survive going to an application and back.
const filters = { search: "", sync: "", health: "", project: "" };
// How diffs are laid out; kept while the page lives.
let diffMode = "unified";
// A message for the next page (after a create or a delete moved us there).
let flash = null;
// Unique ids for labels and controls.
let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

const SYNC_STYLE = {
  Synced: ["st-ok", "\u2713"],
  OutOfSync: ["st-warn", "\u21bb"],
  Missing: ["st-bad", "!"],
  Extra: ["st-warn", "+"],
  Unknown: ["st-neutral", "?"],
};
const HEALTH_STYLE = {
  Healthy: ["st-ok", "\u2665"],
  Progressing: ["st-info", "\u25d4"],
  Degraded: ["st-bad", "\u2715"],
  Suspended: ["st-neutral", "\u275a\u275a"],
  Missing: ["st-warn", "!"],
  Unknown: ["st-neutral", "?"],
};
const PHASE_STYLE = {
  Succeeded: ["st-ok", "\u2713"],
  Running: ["st-info", "\u25d4"],
  Terminating: ["st-info", "\u25d4"],
  Failed: ["st-bad", "\u2715"],
  Error: ["st-bad", "\u2715"],
};
const EVENT_STYLE = {
  Normal: ["st-info", "i"],
  Warning: ["st-warn", "!"],
};

// ---------------------------------------------------------------- DOM helpers

/** An element with attributes and children (strings become text nodes). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "href") {
      el.setAttribute("href", safeHref(value));
    } else if (key === "class") {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** An SVG element, built like `h` (text children become text nodes). */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2).toLowerCase(), value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Replaces an element's children; like `append`, it skips null and
 * undefined (the DOM's own replaceChildren would print them as text). */
function setChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Only relative hashes of this UI are ever used as link targets. */
function safeHref(href) {
  const value = String(href);
  if (value === "/api/openapi.json") return value;
  return /^#\/[A-Za-z0-9._~%!$'()*+,;=:@/?&-]*$/.test(value) ? value : "#/";
}

/** A link to a repository when its URL is http(s); otherwise plain text,
 * so a `javascript:` or `data:` URL never becomes a live link. */
// Annotations (but kubectl's copy of the last applied object) and the
// spec's info items, as summary rows; only http(s) values become links.
function annotationRows(annotations, info) {
  const rows = [];
  const shown = Object.entries(annotations || {})
    .filter(([k]) => k !== "kubectl.kubernetes.io/last-applied-configuration");
  if (shown.length) {
    rows.push(["Annotations", h("ul", { class: "chips" }, shown.map(([k, v]) => h("li", { class: "chip mono" }, `${k}=${v}`))), "wide"]);
  }
  const items = Array.isArray(info) ? info : [];
  if (items.length) {
    rows.push(["Info", h("ul", { class: "plain" }, items.map((i) =>
      h("li", {}, h("span", { class: "muted" }, `${String(i?.name ?? "")}: `), repoLink(i?.value)))), "wide"]);
  }
  return rows;
}

function repoLink(url) {
  const text = String(url || "");
  let parsed = null;
  try {
    parsed = new URL(text);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return h("span", { class: "mono" }, text);
  }
  const link = h("a", { class: "mono", rel: "noopener noreferrer", target: "_blank" }, text);
  link.setAttribute("href", parsed.href);
  return link;
}

function appHash(namespace, name, group) {
  let hash = `#/apps/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
  if (group) hash += `?group=${encodeURIComponent(group)}`;
  return hash;
}

/** A status with its icon; the text alone sits in the element tests and
 * readers see (`testid`), the icon beside it is decoration. */
function badge(styles, status, options = {}) {
  const text = status || "Unknown";
  const [cls, icon] = styles[text] || ["st-neutral", "\u2022"];
  return h("span", { class: `badge ${cls}`, title: options.title || null },
    h("span", { class: "icon", "aria-hidden": "true" }, icon),
    h("span", { "data-testid": options.testid || null }, text));
}

function alertBox(message, kind = "error") {
  return h("div", { class: `alert alert-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

function announce(message) {
  const live = document.getElementById("live");
  live.textContent = "";
  window.setTimeout(() => { live.textContent = message; }, 50);
}

function ago(timestamp) {
  if (!timestamp) return h("span", { class: "muted" }, "never");
  const when = new Date(timestamp);
  if (Number.isNaN(when.getTime())) return String(timestamp);
  const seconds = Math.round((Date.now() - when.getTime()) / 1000);
  let text;
  if (seconds < 60) text = "just now";
  else if (seconds < 3600) text = `${Math.floor(seconds / 60)} min ago`;
  else if (seconds < 86400) text = `${Math.floor(seconds / 3600)} h ago`;
  else text = `${Math.floor(seconds / 86400)} d ago`;
  return h("time", { datetime: when.toISOString(), title: when.toLocaleString() }, text);
}

function shortRevision(revision) {
  if (!revision) return "";
  return /^[0-9a-f]{40,64}$/.test(revision) ? revision.slice(0, 8) : revision;
}

function main() {
  return document.getElementById("main");
}

/** Replaces the page content and moves focus to its heading. */
function show(...children) {
  const el = main();
  setChildren(el);
  append(el, children);
  const heading = el.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

/** Re-renders `container` and gives focus back to the element with the
 * same `data-focus-key` if one had it (live updates must not steal focus). */
function keepingFocus(container, render) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute("data-focus-key") : null;
  render();
  if (key) {
    const again = [...container.querySelectorAll("[data-focus-key]")].find((e) => e.getAttribute("data-focus-key") === key);
    if (again) again.focus({ preventScroll: true });
  }
}

/** A labelled form field; `hint` is tied to the input for screen readers. */
function field(input, label, hint) {
  const hintId = hint ? `${input.id}-hint` : null;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" },
    h("label", { for: input.id }, label, input.required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    input,
    hint ? h("div", { class: "hint", id: hintId }, hint) : null);
}

// ------------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls the API. `body` is sent as JSON, or as is with
 * `options.contentType`; `options.text` returns the answer's text. */
async function api(method, path, body, options = {}) {
  const headers = { Accept: options.text ? "application/yaml, application/json" : "application/json" };
  let payload;
  if (options.contentType) {
    headers["Content-Type"] = options.contentType;
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET" && session.csrf) headers[CSRF_HEADER] = session.csrf;
  let response;
  try {
    response = await fetch(path, { method, headers, credentials: "same-origin", body: payload });
  } catch (e) {
    throw new ApiError(0, `The server cannot be reached: ${e.message}`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && typeof data.error === "string" && data.error) || `${response.status} ${response.statusText}`;
    if (response.status === 401 && !path.endsWith("/session")) signedOut();
    throw new ApiError(response.status, message);
  }
  return options.text ? text : data;
}

function appPath(app) {
  const base = `${API}/applications/${encodeURIComponent(app.namespace)}/${encodeURIComponent(app.name)}`;
  return (suffix = "", query = {}) => {
    const params = new URLSearchParams();
    if (app.group) params.set("group", app.group);
    for (const [k, v] of Object.entries(query)) params.set(k, v);
    const qs = params.toString();
    return `${base}${suffix}${qs ? `?${qs}` : ""}`;
  };
}

/** Opens the live updates; `onEvent` gets each parsed `application` event. */
function openStream(query, onEvent, onResync) {
  const qs = new URLSearchParams(query).toString();
  const source = new EventSource(`${API}/stream${qs ? `?${qs}` : ""}`);
  source.addEventListener("application", (e) => {
    try {
      onEvent(JSON.parse(e.data));
    } catch {
      // A malformed event is skipped; the next resync corrects the view.
    }
  });
  source.addEventListener("resync", () => onResync());
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // The stream ended for good: often an expired session.
      api("GET", `${API}/session`).catch((err) => {
        if (err.status === 401) signedOut();
      });
    }
  });
  cleanups.push(() => source.close());
  return source;
}

// --------------------------------------------------------------- widgets

/**
 * Tabs after the WAI-ARIA pattern: a tablist of buttons (arrow keys, Home
 * and End move between them), each controlling one tabpanel. `panels` are
 * `{ id, label, content }`; `onSelect(id)` runs when one is shown.
 */
function tabs(label, panels, { initial, onSelect } = {}) {
  const base = nextId("tabs");
  const buttons = [];
  const bodies = [];
  let current = -1;
  const select = (i, focus) => {
    current = i;
    buttons.forEach((b, j) => {
      b.setAttribute("aria-selected", String(i === j));
      b.tabIndex = i === j ? 0 : -1;
      bodies[j].hidden = i !== j;
    });
    if (focus) buttons[i].focus();
    if (onSelect) onSelect(panels[i].id);
  };
  const onKey = (e) => {
    const last = buttons.length - 1;
    let next = null;
    if (e.key === "ArrowRight") next = current === last ? 0 : current + 1;
    else if (e.key === "ArrowLeft") next = current === 0 ? last : current - 1;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = last;
    if (next !== null) {
      e.preventDefault();
      select(next, true);
    }
  };
  panels.forEach((p, i) => {
    const tabId = `${base}-tab-${p.id}`;
    const panelId = `${base}-panel-${p.id}`;
    buttons.push(h("button", {
      type: "button", role: "tab", id: tabId, "aria-controls": panelId, "data-tab": p.id,
      onclick: () => select(i, false), onkeydown: onKey,
    }, p.label));
    bodies.push(h("div", { role: "tabpanel", id: panelId, "aria-labelledby": tabId, tabindex: "0", class: "tabpanel" }, p.content));
  });
  const start = Math.max(0, panels.findIndex((p) => p.id === initial));
  const el = h("div", { class: "tabset" }, h("div", { class: "tabs", role: "tablist", "aria-label": label }, buttons), bodies);
  select(start, false);
  return {
    el,
    current: () => panels[current].id,
    show: (id) => select(Math.max(0, panels.findIndex((p) => p.id === id)), false),
  };
}

/**
 * A modal dialog: a <dialog> opened with showModal, named by its heading,
 * closed by Escape or its buttons; focus goes back to what opened it.
 */
function modal(title, { wide = false } = {}) {
  const titleId = nextId("dialog-title");
  const opener = document.activeElement;
  const openerKey = opener ? opener.getAttribute("data-focus-key") : null;
  const dialog = h("dialog", { "aria-labelledby": titleId, class: wide ? "wide" : null });
  const heading = h("h2", { id: titleId }, title);
  dialog.addEventListener("close", () => {
    dialog.remove();
    let target = opener && opener.isConnected ? opener : null;
    if (!target && openerKey) {
      target = [...document.querySelectorAll("[data-focus-key]")].find((e) => e.getAttribute("data-focus-key") === openerKey) || null;
    }
    if (target) target.focus({ preventScroll: true });
  });
  document.body.append(dialog);
  return {
    dialog,
    heading,
    open: () => dialog.showModal(),
    close: () => { if (dialog.open) dialog.close(); },
  };
}

/** A dialog asking to confirm one action; `run` does it and may throw an
 * ApiError, shown in the dialog. */
function confirmDialog({ title, body, confirm, danger = false, run }) {
  const m = modal(title);
  const error = h("div", {});
  const ok = h("button", { type: "submit", class: `btn ${danger ? "btn-danger-solid" : "btn-primary"}` }, confirm);
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      ok.disabled = true;
      setChildren(error);
      try {
        await run(form);
        m.close();
      } catch (err) {
        setChildren(error, alertBox(err.message));
      } finally {
        ok.disabled = false;
      }
    },
  },
  m.heading,
  body,
  error,
  h("div", { class: "actions" },
    h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Cancel"),
    ok));
  m.dialog.append(form);
  m.open();
  ok.focus();
  return m;
}

// --------------------------------------------------------------------- routing

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
  const [path, query = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query: new URLSearchParams(query) };
}

function route() {
  // An in-page anchor (the skip link) is not a page of its own.
  if (location.hash && !location.hash.startsWith("#/")) {
    const target = document.getElementById(location.hash.slice(1));
    if (target) {
      target.focus();
      return;
    }
  }
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
  for (const open of document.querySelectorAll("dialog")) open.close();
  const { parts, query } = parseHash();
  if (!session.user && parts[0] !== "login") {
    navigate("#/login");
    return;
  }
  if (parts[0] === "login") {
    if (session.user) navigate("#/");
    else loginPage();
  } else if (parts[0] === "apps" && parts.length === 3) {
    appPage({ namespace: parts[1], name: parts[2], group: query.get("group") || "" });
  } else if (parts.length === 0) {
    listPage();
  } else {
    document.title = "Not found · Trellis";
    show(h("h1", {}, "Page not found"), alertBox("There is no such page."), h("p", {}, h("a", { href: "#/" }, "Back to the applications")));
  }
}

/** Shows (once) the message left for this page. */
function takeFlash() {
  if (!flash) return null;
  const el = alertBox(flash.text, flash.kind);
  flash = null;
  return el;
}

// ---------------------------------------------------------------- session

function renderUser() {
  const box = document.getElementById("user");
  box.hidden = !session.user;
  document.getElementById("user-name").textContent = session.user ? `Signed in as ${session.user}` : "";
}

/** The session ended (logged out, expired, or the server restarted). */
function signedOut() {
  session.user = null;
  session.csrf = null;
  renderUser();
  navigate("#/login");
}

function loginPage() {
  document.title = "Log in · Trellis";
  const error = h("div", {});
  const username = h("input", { id: "username", name: "username", type: "text", autocomplete: "username", required: true, value: "admin" });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Log in");
  const form = h("form", {
    class: "panel login",
    onsubmit: async (e) => {
      e.preventDefault();
      setChildren(error);
      submit.disabled = true;
      try {
        const data = await api("POST", `${API}/session`, { username: username.value, password: password.value });
        session.user = data.username;
        session.csrf = data.csrfToken;
        renderUser();
        navigate("#/");
      } catch (err) {
        const message = err.status === 401 ? `Login failed: ${err.message}` : err.message;
        setChildren(error, alertBox(message));
        password.select();
        password.focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h1", {}, "Log in to Trellis"),
  error,
  h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
  h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
  submit);
  show(form);
  password.focus();
}

async function logout() {
  try {
    await api("DELETE", `${API}/session`);
  } catch {
    // Logged out either way: the session is forgotten here.
  }
  signedOut();
}

// ------------------------------------------------------------ application list

const appKey = (a) => `${a.group}/${a.namespace}/${a.name}`;

function matches(app) {
  const search = filters.search.trim().toLowerCase();
  if (search && !`${app.namespace}/${app.name}`.toLowerCase().includes(search)) return false;
  if (filters.sync && (app.sync?.status || "Unknown") !== filters.sync) return false;
  if (filters.health && (app.health?.status || "Unknown") !== filters.health) return false;
  if (filters.project && app.project !== filters.project) return false;
  return true;
}

function appRow(app) {
  const source = app.source || {};
  const repo = source.repoURL || "";
  const where = source.path || source.chart || "";
  const operation = app.operation || {};
  return h("tr", { "data-testid": "app-row", "data-app": `${app.namespace}/${app.name}`, "data-group": app.group || null },
    h("td", {},
      h("a", { class: "row-link", href: appHash(app.namespace, app.name, app.group), "data-focus-key": `app:${appKey(app)}` }, app.name),
      h("div", { class: "muted small" }, app.namespace)),
    h("td", {}, app.project || "default"),
    h("td", {},
      badge(SYNC_STYLE, app.sync?.status, { testid: "sync-status" }),
      app.deleting ? h("div", { class: "muted small" }, "deleting") : null,
      operation.requested || operation.phase === "Running"
        ? h("div", { class: "muted small" }, operation.phase || "sync requested")
        : null),
    h("td", {}, badge(HEALTH_STYLE, app.health?.status, { title: app.health?.message, testid: "health-status" })),
    h("td", { class: "truncate", title: repo }, h("span", { class: "mono" }, repo), where ? h("div", { class: "muted small" }, where) : null),
    h("td", { class: "mono" }, source.targetRevision || "HEAD",
      app.sync?.revision ? h("div", { class: "muted small", title: app.sync.revision }, shortRevision(app.sync.revision)) : null),
    h("td", {}, ago(app.reconciledAt)));
}

function select(id, label, values, key, onChange) {
  const el = h("select", { id, onchange: (e) => { filters[key] = e.target.value; onChange(); } },
    h("option", { value: "" }, "All"),
    values.map((v) => h("option", { value: v, selected: filters[key] === v }, v)));
  return h("div", { class: "field" }, h("label", { for: id }, label), el);
}

async function listPage() {
  document.title = "Applications · Trellis";
  const apps = new Map();
  // Rows are kept by application and rebuilt only when it changed, so a
  // live update does not move focus or scroll.
  const rows = new Map();
  const error = h("div", {});
  const tbody = h("tbody", {});
  const count = h("span", { class: "count", role: "status" });
  const projectField = h("div", {});
  const totals = h("div", { class: "totals", "aria-label": "Totals" });

  const renderTotals = () => {
    const all = [...apps.values()];
    const countOf = (pred) => all.filter(pred).length;
    setChildren(totals,
      h("span", { class: "total" }, h("strong", {}, String(all.length)), " applications"),
      h("span", { class: "total" }, badge(SYNC_STYLE, "Synced"), " ", String(countOf((a) => a.sync?.status === "Synced"))),
      h("span", { class: "total" }, badge(SYNC_STYLE, "OutOfSync"), " ", String(countOf((a) => a.sync?.status === "OutOfSync"))),
      h("span", { class: "total" }, badge(HEALTH_STYLE, "Healthy"), " ", String(countOf((a) => a.health?.status === "Healthy"))),
      h("span", { class: "total" }, badge(HEALTH_STYLE, "Degraded"), " ", String(countOf((a) => a.health?.status === "Degraded"))),
      h("span", { class: "total" }, badge(HEALTH_STYLE, "Progressing"), " ", String(countOf((a) => a.health?.status === "Progressing"))));
  };

  const renderRows = () => {
    const shown = [...apps.values()].filter(matches)
      .sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
    keepingFocus(tbody, () => {
      const next = shown.map((a) => {
        const key = appKey(a);
        const signature = JSON.stringify(a);
        const kept = rows.get(key);
        if (kept && kept.signature === signature) return kept.el;
        const el = appRow(a);
        rows.set(key, { signature, el });
        return el;
      });
      for (const key of [...rows.keys()]) if (!apps.has(key)) rows.delete(key);
      if (next.length === 0) {
        next.push(h("tr", {}, h("td", { class: "empty", colspan: 7 },
          apps.size === 0 ? "No applications yet." : "No application matches the filters.")));
      }
      setChildren(tbody, next);
    });
    count.textContent = `${shown.length} of ${apps.size} applications`;
    renderTotals();
  };

  const renderProjects = (names) => {
    const all = new Set(names);
    for (const a of apps.values()) all.add(a.project);
    if (filters.project) all.add(filters.project);
    setChildren(projectField, select("filter-project", "Project", [...all].sort(), "project", renderRows));
  };

  const load = async () => {
    try {
      const list = await api("GET", `${API}/applications`);
      apps.clear();
      for (const a of list.items || []) apps.set(appKey(a), a);
      setChildren(error);
      renderRows();
    } catch (err) {
      setChildren(error, alertBox(`Could not load the applications: ${err.message}`));
    }
  };

  const search = h("input", {
    id: "filter-search", type: "search", placeholder: "Name or namespace", value: filters.search,
    oninput: (e) => { filters.search = e.target.value; renderRows(); },
  });

  show(
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, "Applications"), h("div", { class: "muted" }, "Live: changes appear as they happen.")),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn btn-primary", onclick: () => createDialog() }, h("span", { "aria-hidden": "true", class: "plus" }, "+"), "New application"))),
    takeFlash(),
    error,
    totals,
    h("form", { class: "filters", role: "search", "aria-label": "Filter applications", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "filter-search" }, "Search"), search),
      select("filter-sync", "Sync status", Object.keys(SYNC_STYLE).filter((s) => s !== "Missing" && s !== "Extra"), "sync", renderRows),
      select("filter-health", "Health", Object.keys(HEALTH_STYLE), "health", renderRows),
      projectField,
      count),
    h("div", { class: "table-wrap" },
      h("table", { class: "apps" },
        h("caption", { class: "visually-hidden" }, "Applications"),
        h("thead", {}, h("tr", {},
          ["Name", "Project", "Sync", "Health", "Repository", "Target revision", "Last sync"].map((t) => h("th", { scope: "col" }, t)))),
        tbody)),
  );
  renderProjects([]);
  await load();
  api("GET", `${API}/projects`).then((p) => renderProjects((p.items || []).map((x) => x.name))).catch(() => renderProjects([]));

  // The snapshot first repeats the list, closing any gap since it was read.
  // Events arrive in bursts (a snapshot is one per application): they are
  // applied at once and the table redrawn once per frame, not per event.
  let redraw = 0;
  openStream({}, (event) => {
    const a = event.application;
    if (!a) return;
    if (event.type === "DELETED") apps.delete(appKey(a));
    else apps.set(appKey(a), a);
    if (!redraw) {
      redraw = requestAnimationFrame(() => {
        redraw = 0;
        renderRows();
      });
    }
  }, load);
  cleanups.push(() => cancelAnimationFrame(redraw));
}

// ------------------------------------------------------- create, edit, delete

const EXAMPLE_YAML = `apiVersion: trellis.dev/v1alpha1
kind: Application
metadata:
  name: my-app
spec:
  project: default
  source:
    repoURL: https://git.example.com/team/repo.git
    targetRevision: HEAD
    path: deploy
  destination:
    server: ${IN_CLUSTER}
    namespace: my-app
`;

/** A YAML editor: a monospace textarea that keeps Tab for focus moves. */
function yamlEditor(id, value) {
  return h("textarea", {
    id, class: "editor", rows: 18, spellcheck: "false", autocomplete: "off", autocapitalize: "off", wrap: "off",
  }, value);
}

/** The "New application" dialog: a form, or pasted YAML. */
async function createDialog() {
  const m = modal("New application", { wide: true });
  const error = h("div", {});
  const input = (id, attrs = {}) => h("input", { id, type: "text", autocomplete: "off", ...attrs });
  const name = input("new-name", { required: true, pattern: "[a-z0-9]([-a-z0-9.]*[a-z0-9])?", maxlength: 253 });
  const project = h("select", { id: "new-project" }, h("option", { value: "default" }, "default"));
  const repo = input("new-repo", { type: "url", required: true, placeholder: "https://git.example.com/team/repo.git" });
  const revision = input("new-revision", { value: "HEAD" });
  const path = input("new-path", { value: ".", required: true });
  const server = input("new-server", { value: IN_CLUSTER, required: true });
  const namespace = input("new-namespace", { required: true });
  const automated = h("input", { id: "new-automated", type: "checkbox" });
  const yaml = yamlEditor("new-yaml", EXAMPLE_YAML);
  api("GET", `${API}/projects`).then((p) => {
    const names = (p.items || []).map((x) => x.name).filter(Boolean).sort();
    if (names.length) setChildren(project, names.map((n) => h("option", { value: n, selected: n === "default" }, n)));
  }).catch(() => {});

  const form = h("div", { class: "form-grid" },
    field(name, "Name", "Lowercase letters, digits and dashes."),
    field(project, "Project"),
    h("div", { class: "span2" }, field(repo, "Repository URL")),
    field(revision, "Revision", "A branch, tag or commit."),
    field(path, "Path", "The directory in the repository."),
    field(server, "Destination server"),
    field(namespace, "Destination namespace"),
    h("div", { class: "check span2" }, automated, h("label", { for: "new-automated" }, "Automated sync (apply every change in git)")));
  const tabset = tabs("How to describe the application", [
    { id: "form", label: "Form", content: form },
    { id: "yaml", label: "YAML", content: field(yaml, "Application manifest (YAML)", "One Application document; it is checked before anything is stored.") },
  ]);
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Create");
  m.dialog.append(h("form", {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      setChildren(error);
      let body;
      let options = {};
      if (tabset.current() === "form") {
        const missing = [[name, "Name"], [repo, "Repository URL"], [path, "Path"], [server, "Destination server"], [namespace, "Destination namespace"]]
          .filter(([el]) => !el.value.trim()).map(([, label]) => label);
        if (missing.length) {
          setChildren(error, alertBox(`Please fill in: ${missing.join(", ")}.`));
          return;
        }
        if (!name.checkValidity()) {
          setChildren(error, alertBox("Name: use lowercase letters, digits, dots and dashes, starting and ending with a letter or digit."));
          name.focus();
          return;
        }
        const spec = {
          project: project.value || "default",
          source: { repoURL: repo.value.trim(), targetRevision: revision.value.trim() || "HEAD", path: path.value.trim() },
          destination: { server: server.value.trim(), namespace: namespace.value.trim() },
        };
        if (automated.checked) spec.syncPolicy = { automated: { prune: false, selfHeal: false } };
        body = { apiVersion: "trellis.dev/v1alpha1", kind: "Application", metadata: { name: name.value.trim() }, spec };
      } else {
        body = yaml.value;
        options = { contentType: "application/yaml" };
      }
      submit.disabled = true;
      try {
        const created = await api("POST", `${API}/applications`, body, options);
        const meta = created.application?.metadata || {};
        const group = String(created.application?.apiVersion || "").split("/")[0];
        const warnings = created.warnings || [];
        flash = {
          kind: "info",
          text: `Application ${meta.name} created.${warnings.length ? ` Warnings: ${warnings.join("; ")}` : ""}`,
        };
        m.close();
        navigate(appHash(meta.namespace, meta.name, group === "trellis.dev" ? "" : group));
      } catch (err) {
        setChildren(error, alertBox(`Not created: ${err.message}`));
        error.scrollIntoView({ block: "nearest" });
      } finally {
        submit.disabled = false;
      }
    },
  },
  m.heading,
  error,
  tabset.el,
  h("div", { class: "actions" },
    h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Cancel"),
    submit)));
  m.open();
  name.focus();
}

/** The "Edit" dialog: the application's spec as YAML, saved only if
 * nobody changed it meanwhile. */
async function editDialog(app, onSaved) {
  const path = appPath(app);
  const m = modal(`Edit ${app.name}`, { wide: true });
  const error = h("div", {});
  const editor = yamlEditor("edit-yaml", "");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Save");
  const reloadButton = h("button", { type: "button", class: "btn", onclick: () => fetchYaml() }, "Reload latest");
  const fetchYaml = async () => {
    setChildren(error);
    editor.disabled = true;
    try {
      editor.value = await api("GET", path("", { format: "yaml" }), undefined, { text: true });
      editor.disabled = false;
      editor.focus();
      editor.setSelectionRange(0, 0);
      editor.scrollTop = 0;
    } catch (err) {
      setChildren(error, alertBox(`Could not read the application: ${err.message}`));
    }
  };
  m.dialog.append(h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      setChildren(error);
      submit.disabled = true;
      try {
        const saved = await api("PUT", path(), editor.value, { contentType: "application/yaml" });
        const warnings = saved.warnings || [];
        m.close();
        onSaved(`Saved ${app.name}.${warnings.length ? ` Warnings: ${warnings.join("; ")}` : ""}`);
      } catch (err) {
        if (err.status === 409) {
          setChildren(error, h("div", { class: "alert alert-error", role: "alert" },
            h("strong", {}, "Not saved: the application was changed by someone else since you opened it. "),
            err.message,
            h("div", { class: "alert-actions" }, "Copy your edits if you need them, then ", reloadButton, " to edit the current version.")));
        } else {
          setChildren(error, alertBox(`Not saved: ${err.message}`));
        }
      } finally {
        submit.disabled = false;
      }
    },
  },
  m.heading,
  h("p", { class: "muted" }, "The spec, labels and annotations can be changed. The resourceVersion tells the server which version you edited."),
  error,
  field(editor, "Application (YAML)"),
  h("div", { class: "actions" },
    h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Cancel"),
    submit)));
  m.open();
  await fetchYaml();
}

/** The "Delete" dialog: with or without the application's resources. */
function deleteDialog(app) {
  const cascade = h("input", { type: "radio", name: "cascade", id: "delete-cascade", value: "true", checked: true });
  const keep = h("input", { type: "radio", name: "cascade", id: "delete-keep", value: "false" });
  confirmDialog({
    title: `Delete ${app.name}?`,
    danger: true,
    confirm: "Delete",
    body: [
      h("p", {}, "The application ", h("strong", {}, `${app.namespace}/${app.name}`), " will be deleted."),
      h("fieldset", { class: "choices" },
        h("legend", {}, "Its resources in the cluster"),
        h("div", { class: "check" }, cascade, h("label", { for: "delete-cascade" }, "Delete them too (cascade)")),
        h("div", { class: "check" }, keep, h("label", { for: "delete-keep" }, "Keep them running (delete only the application)"))),
    ],
    run: async () => {
      await api("DELETE", appPath(app)("", { cascade: cascade.checked ? "true" : "false" }));
      flash = { kind: "info", text: `Application ${app.name} is being deleted${cascade.checked ? " with its resources" : ""}.` };
      navigate("#/");
    },
  });
}

// ------------------------------------------------------------ application page

function summaryList(pairs) {
  return h("dl", { class: "summary" }, pairs.map(([label, value, cls]) => h("div", { class: cls || null }, h("dt", {}, label), h("dd", {}, value))));
}

/** The hunks of a unified diff, with line numbers on both sides. */
function parseUnified(text) {
  const hunks = [];
  let hunk = null;
  let oldLine = 0;
  let newLine = 0;
  for (const line of text.replace(/\n$/, "").split("\n")) {
    const header = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (header) {
      oldLine = Number(header[1]);
      newLine = Number(header[2]);
      hunk = { header: line, lines: [] };
      hunks.push(hunk);
    } else if (hunk && !line.startsWith("\\")) {
      const tag = line[0] || " ";
      const body = line.slice(1);
      if (tag === "+") hunk.lines.push({ tag, text: body, newNo: newLine++ });
      else if (tag === "-") hunk.lines.push({ tag, text: body, oldNo: oldLine++ });
      else hunk.lines.push({ tag: " ", text: body, oldNo: oldLine++, newNo: newLine++ });
    }
  }
  return hunks;
}

function unifiedTable(hunks) {
  const rows = [];
  for (const hunk of hunks) {
    rows.push(h("tr", { class: "hunk" }, h("td", { colspan: 4 }, hunk.header)));
    for (const l of hunk.lines) {
      const cls = l.tag === "+" ? "add" : l.tag === "-" ? "del" : "ctx";
      rows.push(h("tr", { class: cls },
        h("td", { class: "ln" }, l.oldNo ?? ""),
        h("td", { class: "ln" }, l.newNo ?? ""),
        h("td", { class: "sign" }, l.tag === " " ? "" : l.tag),
        h("td", { class: "text" }, l.text)));
    }
  }
  return h("table", { class: "difftable unified" },
    h("caption", { class: "visually-hidden" }, "Unified diff: lines starting with - are only in the live manifest, with + only in the desired one"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", class: "ln" }, "Live"),
      h("th", { scope: "col", class: "ln" }, "Desired"),
      h("th", { scope: "col", class: "sign" }, h("span", { class: "visually-hidden" }, "Change")),
      h("th", { scope: "col" }, "Line"))),
    h("tbody", {}, rows));
}

function splitTable(hunks) {
  const rows = [];
  const side = (l, cls) => l
    ? [h("td", { class: `ln ${cls}` }, cls === "add" ? l.newNo : l.oldNo), h("td", { class: `text ${cls}` }, l.text)]
    : [h("td", { class: "ln blank" }, ""), h("td", { class: "text blank" }, "")];
  for (const hunk of hunks) {
    rows.push(h("tr", { class: "hunk" }, h("td", { colspan: 4 }, hunk.header)));
    const lines = hunk.lines;
    let i = 0;
    while (i < lines.length) {
      if (lines[i].tag === " ") {
        const l = lines[i++];
        rows.push(h("tr", { class: "ctx" },
          h("td", { class: "ln" }, l.oldNo), h("td", { class: "text" }, l.text),
          h("td", { class: "ln" }, l.newNo), h("td", { class: "text" }, l.text)));
        continue;
      }
      const dels = [];
      const adds = [];
      while (i < lines.length && lines[i].tag === "-") dels.push(lines[i++]);
      while (i < lines.length && lines[i].tag === "+") adds.push(lines[i++]);
      for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
        rows.push(h("tr", {}, side(dels[k], "del"), side(adds[k], "add")));
      }
    }
  }
  return h("table", { class: "difftable split" },
    h("caption", { class: "visually-hidden" }, "Side-by-side diff: the live manifest on the left, the desired one on the right"),
    h("colgroup", {}, h("col", { class: "c-ln" }), h("col", {}), h("col", { class: "c-ln" }), h("col", {})),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", class: "ln" }, h("span", { class: "visually-hidden" }, "Live line")),
      h("th", { scope: "col" }, "Live"),
      h("th", { scope: "col", class: "ln" }, h("span", { class: "visually-hidden" }, "Desired line")),
      h("th", { scope: "col" }, "Desired"))),
    h("tbody", {}, rows));
}

/** A diff, colored, with line numbers, unified or side by side. */
function diffView(text, { testid = "diff", label = "Differences" } = {}) {
  const container = h("div", { class: "diff", "data-testid": testid });
  if (!text) {
    append(container, h("p", { class: "muted" }, "No differences: the live manifest matches the desired one."));
    return container;
  }
  const hunks = parseUnified(text);
  const added = hunks.reduce((n, hk) => n + hk.lines.filter((l) => l.tag === "+").length, 0);
  const removed = hunks.reduce((n, hk) => n + hk.lines.filter((l) => l.tag === "-").length, 0);
  const body = h("div", { class: "diff-body", tabindex: "0", role: "region", "aria-label": label });
  const buttons = [];
  const render = () => {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.mode === diffMode));
    container.setAttribute("data-mode", diffMode);
    setChildren(body, diffMode === "split" ? splitTable(hunks) : unifiedTable(hunks));
  };
  for (const [mode, label] of [["unified", "Unified"], ["split", "Side by side"]]) {
    buttons.push(h("button", {
      type: "button", class: "btn btn-small seg", "data-mode": mode,
      onclick: () => { diffMode = mode; render(); },
    }, label));
  }
  append(container, [
    h("div", { class: "diff-tools" },
      h("div", { class: "segmented", role: "group", "aria-label": "Diff layout" }, buttons),
      h("span", { class: "diff-stat" },
        h("span", { class: "stat-add" }, `+${added}`), " ", h("span", { class: "stat-del" }, `\u2212${removed}`),
        " lines (live \u2192 desired)")),
    body]);
  render();
  return container;
}

/** A manifest's YAML with line numbers (drawn by the style sheet). */
function yamlView(text, label) {
  if (!text) return h("p", { class: "muted" }, `No ${label.toLowerCase()}.`);
  const lines = text.replace(/\n$/, "").split("\n").map((line) => h("span", { class: "line" }, line || " "));
  return h("pre", { class: "code numbered", tabindex: "0", "aria-label": label, "data-testid": "manifest" }, lines);
}

function eventsTable(items, emptyText) {
  if (!items.length) return h("p", { class: "muted" }, emptyText);
  return h("div", { class: "table-wrap" }, h("table", { class: "events" },
    h("caption", { class: "visually-hidden" }, "Events, newest first"),
    h("thead", {}, h("tr", {}, ["Type", "Reason", "Message", "Count", "Last seen", "Source"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map((e) => h("tr", { "data-testid": "event-row" },
      h("td", {}, badge(EVENT_STYLE, e.type || "Normal")),
      h("td", {}, e.reason || ""),
      h("td", { class: "message" }, e.message || ""),
      h("td", {}, e.count == null ? "" : String(e.count)),
      h("td", {}, ago(e.lastTimestamp)),
      h("td", {}, e.source || ""))))));
}

/** A resource, in a dialog: live and desired manifests, diff, events. */
async function resourceDialog(app, ref) {
  const title = `${ref.kind} ${ref.name}`;
  const m = modal(title, { wide: true });
  const content = h("div", { class: "resource-view", "aria-busy": "true" }, h("p", { class: "muted" }, `Loading ${title}\u2026`));
  m.dialog.setAttribute("data-testid", "resource-dialog");
  m.dialog.append(
    h("div", { class: "dialog-head" },
      h("div", {}, m.heading, h("div", { class: "muted" }, [ref.group, ref.namespace ? `namespace ${ref.namespace}` : "cluster-scoped"].filter(Boolean).join(" \u00b7 "))),
      h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Close")),
    content);
  m.open();
  try {
    const query = {
      resourceGroup: ref.group || "", resourceKind: ref.kind, resourceNamespace: ref.namespace || "", resourceName: ref.name, format: "yaml",
    };
    const r = await api("GET", appPath(app)("/resource", query));
    const events = h("div", {}, h("p", { class: "muted" }, "Loading events\u2026"));
    let eventsLoaded = false;
    const loadEvents = async () => {
      eventsLoaded = true;
      try {
        const q = { resourceKind: ref.kind, resourceName: ref.name, resourceNamespace: ref.namespace || "" };
        const data = await api("GET", appPath(app)("/events", q));
        setChildren(events, eventsTable(data.items || [], "No events about this resource."));
      } catch (err) {
        setChildren(events, alertBox(`Could not load the events: ${err.message}`));
      }
    };
    const panels = [
      { id: "live", label: "Live manifest", content: yamlView(r.liveYaml, "Live manifest") },
      {
        id: "desired", label: "Desired manifest",
        content: r.managed ? yamlView(r.desiredYaml, "Desired manifest") : h("p", { class: "muted" }, "Not in git: this resource is created by the cluster, not by the application."),
      },
      { id: "diff", label: "Diff", content: r.managed ? diffView(r.diff, { label: `Differences in ${title}` }) : h("p", { class: "muted" }, "No diff: this resource is not described in git.") },
    ];
    if (r.managed) panels.push({ id: "events", label: "Events", content: events });
    const tabset = tabs(`${title} details`, panels, {
      initial: r.managed && r.diff ? "diff" : "live",
      onSelect: (id) => { if (id === "events" && !eventsLoaded) loadEvents(); },
    });
    content.removeAttribute("aria-busy");
    setChildren(content,
      h("div", { class: "statuses" },
        r.status ? [h("span", { class: "status-label" }, "Sync"), badge(SYNC_STYLE, r.status, { testid: "resource-sync-status" })] : null,
        h("span", { class: "status-label" }, "Health"),
        badge(HEALTH_STYLE, r.health?.status, { title: r.health?.message, testid: "resource-health-status" }),
        r.health?.message ? h("span", { class: "muted" }, r.health.message) : null),
      r.message ? alertBox(r.message, "info") : null,
      tabset.el);
  } catch (err) {
    content.removeAttribute("aria-busy");
    setChildren(content, alertBox(`Could not load ${title}: ${err.message}`));
  }
}

// ------------------------------------------------------------ resource tree

const NODE_W = 260;
const NODE_H = 58;
const COL_GAP = 40;
const ROW_GAP = 14;
const PAD = 12;
const HEALTH_COLOR = {
  Healthy: "#1b7f3b",
  Progressing: "#1f5fa8",
  Degraded: "#b3261e",
  Suspended: "#4a5563",
  Missing: "#8a5a00",
  Unknown: "#4a5563",
};
const SYNC_COLOR = { Synced: "#1b7f3b", OutOfSync: "#8a5a00", Missing: "#b3261e", Extra: "#8a5a00", Unknown: "#4a5563" };

const refId = (r) => `${r.group || ""}/${r.kind}/${r.namespace || ""}/${r.name}`;

/** Lays out the tree: one column per depth, leaves one per row, a parent
 * centred on its children. */
function layoutTree(app, nodes) {
  const byId = new Map(nodes.map((n) => [refId(n), { ...n, children: [] }]));
  const root = { kind: "Application", name: app.name, root: true, children: [], health: app.health, status: app.sync };
  for (const n of byId.values()) {
    const parent = n.parent ? byId.get(refId(n.parent)) : null;
    (parent || root).children.push(n);
  }
  for (const n of byId.values()) {
    n.children.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }
  let row = 0;
  let depthMax = 0;
  const place = (n, depth) => {
    n.depth = depth;
    depthMax = Math.max(depthMax, depth);
    if (n.children.length === 0) {
      n.row = row++;
    } else {
      for (const c of n.children) place(c, depth + 1);
      n.row = (n.children[0].row + n.children[n.children.length - 1].row) / 2;
    }
  };
  place(root, 0);
  return { root, rows: Math.max(row, 1), columns: depthMax + 1 };
}

function treeNode(n, x, y, onOpen, clipId) {
  const health = n.health?.status || "Unknown";
  const sync = n.root ? n.status?.status : n.status;
  const [, healthIcon] = HEALTH_STYLE[health] || HEALTH_STYLE.Unknown;
  // The accessible name starts with the visible text, in its order.
  const label = `${n.kind} ${n.name}, ${health}${sync ? `, ${sync}` : ""}${n.namespace ? `, namespace ${n.namespace}` : ""}`;
  const attrs = {
    class: `node health-${health}${n.root ? " root" : ""}${sync === "OutOfSync" ? " out-of-sync" : ""}`,
    transform: `translate(${x} ${y})`,
  };
  if (n.root) {
    attrs["data-testid"] = "tree-root";
  } else {
    Object.assign(attrs, {
      "data-testid": "tree-node", "data-kind": n.kind, "data-name": n.name, "data-namespace": n.namespace || "",
      "data-health": health, "data-sync": sync || "", "data-focus-key": `node:${refId(n)}`,
      tabindex: "0", role: "button", "aria-label": label,
      onclick: () => onOpen(n),
      onkeydown: (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          onOpen(n);
        }
      },
    });
  }
  const color = HEALTH_COLOR[health] || HEALTH_COLOR.Unknown;
  const status = svg("text", { class: "status", x: 50, y: 49 },
    svg("tspan", { fill: color }, health));
  if (sync) {
    // The sync icon is drawn, not written, so what is read is the words.
    status.append(svg("tspan", { class: "sep" }, "  \u00b7  "), svg("tspan", { fill: SYNC_COLOR[sync] || SYNC_COLOR.Unknown }, sync));
  }
  // The health icon is drawn in a layer above the nodes (letting clicks
  // through), so a node's own text is only its words.
  const icon = svg("text", { class: "badge-icon", x: x + 28, y: y + NODE_H / 2 + 5, "text-anchor": "middle" }, healthIcon);
  return [svg("g", attrs,
    n.root ? svg("title", {}, label) : null,
    svg("rect", { class: "frame", width: NODE_W, height: NODE_H, rx: 8, ry: 8 }),
    svg("rect", { class: "stripe", width: 5, height: NODE_H - 2, x: 1, y: 1, rx: 3, fill: color }),
    svg("circle", { class: "badge-circle", cx: 28, cy: NODE_H / 2, r: 14, fill: color }),
    sync ? syncMark(sync) : null,
    // The trailing spaces keep the words apart in the node's text.
    svg("text", { class: "kind", x: 50, y: 17, "clip-path": `url(#${clipId})` }, `${n.kind} `),
    svg("text", { class: "name", x: 50, y: 33, "clip-path": `url(#${clipId})` }, `${n.name} `),
    svg("text", { class: "more", x: NODE_W - 8, y: 33, "text-anchor": "end", "aria-hidden": "true", visibility: "hidden" }, "\u2026"),
    status), icon];
}

/** The sync status as a drawn mark in a node's corner: a tick when
 * synced, an exclamation mark otherwise. */
function syncMark(sync) {
  const color = SYNC_COLOR[sync] || SYNC_COLOR.Unknown;
  const mark = sync === "Synced"
    ? svg("path", { d: "M-3.5 0.5 L-1 3 L3.5 -2.5", class: "mark" })
    : svg("path", { d: "M0 -4 L0 1 M0 3.2 L0 3.6", class: "mark" });
  return svg("g", { class: "sync-mark", transform: `translate(${NODE_W - 16} 15)`, "aria-hidden": "true" },
    svg("circle", { r: 8, fill: color }), mark);
}

/** The resource tree as an SVG graph (text only, built node by node). */
function treeGraph(app, nodes, onOpen) {
  const { root, rows, columns } = layoutTree(app, nodes);
  const width = PAD * 2 + columns * NODE_W + (columns - 1) * COL_GAP;
  const height = PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP;
  const pos = (n) => ({ x: PAD + n.depth * (NODE_W + COL_GAP), y: PAD + n.row * (NODE_H + ROW_GAP) });
  // Long names are cut by a clip path, not shortened, so the text read
  // out and searched is the whole name (shown whole in the tooltip).
  const clipId = nextId("tree-clip");
  const defs = svg("defs", {}, svg("clipPath", { id: clipId, clipPathUnits: "userSpaceOnUse" },
    svg("rect", { x: 0, y: 0, width: NODE_W - 22, height: NODE_H })));
  const edges = svg("g", { class: "edges", "aria-hidden": "true" });
  const boxes = svg("g", { class: "nodes" });
  const icons = svg("g", { class: "icons", "aria-hidden": "true" });
  const walk = (n) => {
    const p = pos(n);
    const [box, icon] = treeNode(n, p.x, p.y, onOpen, clipId);
    boxes.append(box);
    icons.append(icon);
    for (const c of n.children) {
      const q = pos(c);
      const x1 = p.x + NODE_W;
      const y1 = p.y + NODE_H / 2;
      const x2 = q.x;
      const y2 = q.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      edges.append(svg("path", { d: `M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}` }));
      walk(c);
    }
  };
  walk(root);
  return svg("svg", {
    class: "tree", "data-testid": "resource-tree", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "group", "aria-label": `Resource tree of ${app.name}: ${nodes.length} resources`,
  }, defs, edges, boxes, icons);
}

// ------------------------------------------------------------ application page

function syncDialog(app, object, notice, reload) {
  const m = modal(`Synchronize ${app.name}`, { wide: true });
  const revision = h("input", { id: "sync-revision", type: "text", placeholder: "the target revision", autocomplete: "off" });
  const prune = h("input", { id: "sync-prune", type: "checkbox" });
  const dryRun = h("input", { id: "sync-dry-run", type: "checkbox" });
  const error = h("div", {});
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Synchronize");
  const resources = (object.status || {}).resources || [];
  const boxes = resources.map((r, i) => {
    const id = `sync-resource-${i}`;
    const box = h("input", { type: "checkbox", id, checked: true });
    box.resource = { group: r.group || "", kind: r.kind, name: r.name, namespace: r.namespace || "" };
    return { box, row: h("div", { class: "check" }, box, h("label", { for: id }, h("span", { class: "muted" }, r.kind), " ", r.name, " ", badge(SYNC_STYLE, r.status))) };
  });
  const setAll = (value) => { for (const { box } of boxes) box.checked = value; };
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      setChildren(error);
      const body = { prune: prune.checked, dryRun: dryRun.checked };
      if (revision.value.trim()) body.revision = revision.value.trim();
      const chosen = boxes.filter(({ box }) => box.checked).map(({ box }) => box.resource);
      if (boxes.length && chosen.length === 0) {
        setChildren(error, alertBox("Select at least one resource to synchronize."));
        return;
      }
      if (chosen.length < boxes.length) body.resources = chosen;
      submit.disabled = true;
      try {
        await api("POST", appPath(app)("/sync"), body);
        m.close();
        notice(alertBox(dryRun.checked ? "Dry-run sync requested." : "Sync requested.", "info"));
        announce("Sync requested");
        reload();
      } catch (err) {
        setChildren(error, alertBox(`Sync refused: ${err.message}`));
      } finally {
        submit.disabled = false;
      }
    },
  },
  m.heading,
  error,
  field(revision, "Revision", "Empty for the application's target revision."),
  h("div", { class: "check" }, prune, h("label", { for: "sync-prune" }, "Prune resources no longer in git")),
  h("div", { class: "check" }, dryRun, h("label", { for: "sync-dry-run" }, "Dry run (change nothing)")),
  boxes.length ? h("fieldset", { class: "choices resources-choice" },
    h("legend", {}, `Resources (${boxes.length})`),
    h("div", { class: "actions left" },
      h("button", { type: "button", class: "btn btn-small", onclick: () => setAll(true) }, "Select all"),
      h("button", { type: "button", class: "btn btn-small", onclick: () => setAll(false) }, "Select none")),
    h("div", { class: "resource-checks" }, boxes.map((b) => b.row))) : null,
  h("div", { class: "actions" },
    h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Cancel"),
    submit));
  m.dialog.append(form);
  m.open();
  revision.focus();
}

function notFoundPage(app, message) {
  document.title = "Application not found · Trellis";
  show(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Applications"), " / ", app.namespace),
    h("div", { class: "empty-state", "data-testid": "not-found" },
      h("h1", {}, "Application not found"),
      alertBox(message || `There is no application ${app.namespace}/${app.name}, or you may not see it.`),
      h("p", {}, h("a", { href: "#/" }, "Back to the applications"))));
}

async function appPage(app) {
  document.title = `${app.name} · Trellis`;
  const path = appPath(app);
  show(h("p", { class: "muted", role: "status" }, `Loading ${app.name}\u2026`));
  let object;
  try {
    object = await api("GET", path());
  } catch (err) {
    if (err.status === 404) notFoundPage(app);
    else {
      show(h("h1", {}, app.name), alertBox(`Could not load the application: ${err.message}`),
        h("p", {}, h("button", { type: "button", class: "btn", onclick: () => route() }, "Try again"), " ", h("a", { href: "#/" }, "Back to the applications")));
    }
    return;
  }

  const notices = h("div", { class: "notices" });
  const headStatus = h("div", { class: "statuses" });
  const summary = h("section", { class: "panel", "aria-labelledby": "summary-title" });
  const treeBox = h("div", { class: "tree-wrap" }, h("p", { class: "muted" }, "Loading the resource tree\u2026"));
  const listBox = h("div", {});
  const eventsBox = h("div", {}, h("p", { class: "muted" }, "Loading events\u2026"));
  const historyBox = h("div", {}, h("p", { class: "muted" }, "Loading history\u2026"));
  const diffBox = h("div", {}, h("p", { class: "muted" }, "Comparing with git\u2026"));
  const notice = (el) => setChildren(notices, el);
  let treeNodes = [];
  let deleted = false;
  const visited = new Set();

  const open = (ref) => resourceDialog(app, { group: ref.group || "", kind: ref.kind, namespace: ref.namespace || "", name: ref.name });

  const act = async (label, method, suffix, body) => {
    try {
      await api(method, path(suffix), body);
      notice(alertBox(`${label} requested.`, "info"));
      announce(`${label} requested`);
      reload();
    } catch (err) {
      notice(alertBox(`${label} refused: ${err.message}`));
    }
  };

  const renderSummary = () => {
    const status = object.status || {};
    const spec = object.spec || {};
    const source = spec.source || (spec.sources || [])[0] || {};
    const destination = spec.destination || {};
    const op = status.operationState || {};
    const conditions = status.conditions || [];
    const automated = spec.syncPolicy?.automated;
    setChildren(headStatus,
      badge(SYNC_STYLE, status.sync?.status, { testid: "app-sync-status" }),
      badge(HEALTH_STYLE, status.health?.status, { title: status.health?.message, testid: "app-health-status" }),
      op.phase === "Running" ? badge(PHASE_STYLE, "Running") : null,
      object.metadata?.deletionTimestamp ? h("span", { class: "badge st-bad" }, "Deleting") : null);
    setChildren(summary,
      h("h2", { id: "summary-title", class: "visually-hidden" }, "Summary"),
      summaryList([
        ["Project", spec.project || "default"],
        ["Repository", repoLink(source.repoURL)],
        ["Path", h("span", { class: "mono" }, source.path || source.chart || "")],
        ["Target revision", h("span", { class: "mono" }, source.targetRevision || "HEAD")],
        ["Compared with", h("span", { class: "mono", title: `the commit the live state was last compared with: ${status.sync?.revision || "none"}` }, shortRevision(status.sync?.revision) || "none")],
        ["Destination", `${destination.server || destination.name || ""}${destination.namespace ? ` (${destination.namespace})` : ""}`],
        ["Sync policy", automated ? `Automated${automated.prune ? ", prune" : ""}${automated.selfHeal ? ", self-heal" : ""}` : "Manual"],
        ["Last reconciled", ago(status.reconciledAt)],
        ["Last operation", op.phase ? [badge(PHASE_STYLE, op.phase), op.message ? h("div", { class: "muted small" }, op.message) : null] : "none"],
        ["Labels", Object.keys(object.metadata?.labels || {}).length
          ? h("ul", { class: "chips" }, Object.entries(object.metadata.labels).map(([k, v]) => h("li", { class: "chip mono" }, `${k}=${v}`)))
          : h("span", { class: "muted" }, "none"), "wide"],
        ...annotationRows(object.metadata?.annotations, spec.info),
      ]),
      status.health?.message ? h("p", { class: "muted" }, status.health.message) : null,
      conditions.length
        ? h("ul", { class: "conditions", "aria-label": "Conditions" },
          conditions.map((c) => h("li", {}, h("strong", {}, c.type || "Condition"), c.message || "")))
        : null);
  };

  const renderTree = () => {
    keepingFocus(treeBox, () => setChildren(treeBox, treeGraph({ name: app.name, health: object.status?.health, sync: object.status?.sync }, treeNodes, open)));
    // Names cut by the clip path get an ellipsis (text is measured once
    // it is in the page).
    for (const name of treeBox.querySelectorAll("text.name")) {
      if (name.getComputedTextLength() > NODE_W - 72) name.parentNode.querySelector("text.more")?.setAttribute("visibility", "visible");
    }
  };

  const renderList = () => {
    const list = (object.status || {}).resources || [];
    const rows = list.map((r) => h("tr", { "data-testid": "resource-row" },
      h("td", {}, r.kind),
      h("td", {}, h("button", {
        type: "button", class: "link-button", "data-focus-key": `row:${refId(r)}`,
        "aria-label": `Open ${r.kind} ${r.name}`, onclick: () => open(r),
      }, r.name)),
      h("td", {}, r.namespace || h("span", { class: "muted" }, "cluster")),
      h("td", {}, badge(SYNC_STYLE, r.status)),
      h("td", {}, r.health ? badge(HEALTH_STYLE, r.health.status, { title: r.health.message }) : h("span", { class: "muted" }, "\u2014"))));
    keepingFocus(listBox, () => setChildren(listBox, h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, `Managed resources (${list.length})`),
      h("thead", {}, h("tr", {}, ["Kind", "Name", "Namespace", "Sync", "Health"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colspan: 5 }, "No resources yet.")))))));
  };

  const loadTree = async () => {
    try {
      const data = await api("GET", path("/tree"));
      treeNodes = data.nodes || [];
      renderTree();
    } catch (err) {
      setChildren(treeBox, alertBox(`Could not load the resource tree: ${err.message}`));
    }
  };

  const loadEvents = async () => {
    try {
      const data = await api("GET", path("/events"));
      setChildren(eventsBox, eventsTable(data.items || [], "No events recorded for this application."));
    } catch (err) {
      setChildren(eventsBox, alertBox(`Could not load the events: ${err.message}`));
    }
  };

  // Every resource that differs from git, each diff on its own (marked
  // "app-diff", so a resource's own diff stays the page's only "diff").
  const loadDiff = async () => {
    try {
      const data = await api("GET", path("/diff"));
      const changed = (data.resources || []).filter((r) => r.diff);
      setChildren(diffBox,
        data.renderError ? alertBox(`Rendering the manifests failed: ${data.renderError}`) : null,
        changed.length === 0
          ? h("p", { class: "muted" }, "No differences: every resource matches git.")
          : changed.map((r) => h("section", { class: "diff-section", "aria-label": `${r.kind} ${r.name}` },
            h("h3", {}, h("span", { class: "muted" }, r.kind), " ", r.namespace ? `${r.namespace}/${r.name}` : r.name, " ", badge(SYNC_STYLE, r.status)),
            diffView(r.diff, { testid: "app-diff", label: `Differences in ${r.kind} ${r.name}` }))));
    } catch (err) {
      setChildren(diffBox, alertBox(`Could not compare with git: ${err.message}`));
    }
  };

  const rollback = (entry) => confirmDialog({
    title: `Roll back ${app.name}?`,
    confirm: "Roll back",
    body: h("p", {}, "Deploy revision ", h("span", { class: "mono" }, shortRevision(entry.revision) || "?"),
      ` again (history entry ${entry.id}, deployed `, ago(entry.deployedAt), ")."),
    run: async () => {
      await api("POST", path("/rollback"), { id: entry.id });
      notice(alertBox("Rollback requested.", "info"));
      announce("Rollback requested");
      reload();
    },
  });

  const loadHistory = async () => {
    try {
      const data = await api("GET", path("/history"));
      const items = data.items || [];
      keepingFocus(historyBox, () => setChildren(historyBox,
        items.length === 0 ? h("p", { class: "muted" }, "No sync has been recorded yet.") : h("div", { class: "table-wrap" }, h("table", {},
          h("caption", { class: "visually-hidden" }, "Sync history, newest first"),
          h("thead", {}, h("tr", {}, ["ID", "Revision", "Deployed", "Source", "Action"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, items.map((entry, i) => h("tr", { "data-testid": "history-row", "data-id": String(entry.id ?? "") },
            h("td", {}, String(entry.id ?? "")),
            h("td", { class: "mono", title: entry.revision || "" }, shortRevision(entry.revision) || (entry.revisions || []).map(shortRevision).join(", ")),
            h("td", {}, ago(entry.deployedAt)),
            h("td", { class: "truncate" }, entry.source?.repoURL || "", entry.source?.path ? h("div", { class: "muted small" }, entry.source.path) : null),
            h("td", {}, i === 0 ? h("span", { class: "muted" }, "current") : h("button", {
              type: "button", class: "btn btn-small btn-danger", "data-focus-key": `rollback:${entry.id}`,
              "aria-label": `Roll back to history entry ${entry.id}`,
              onclick: () => rollback(entry),
            }, "Roll back")))))))));
    } catch (err) {
      setChildren(historyBox, alertBox(`Could not load the history: ${err.message}`));
    }
  };

  const load = async () => {
    try {
      object = await api("GET", path());
      renderSummary();
      renderList();
    } catch (err) {
      if (err.status === 404) {
        deleted = true;
        notice(alertBox(`Application ${app.namespace}/${app.name} no longer exists.`));
      } else {
        notice(alertBox(`Could not reload the application: ${err.message}`));
      }
      return;
    }
    loadTree();
    if (visited.has("history")) loadHistory();
    if (visited.has("events")) loadEvents();
    if (visited.has("diff")) loadDiff();
  };

  let pending = null;
  const reload = () => {
    // Bursts of changes (a sync) become one reload.
    if (pending || deleted) return;
    pending = window.setTimeout(() => { pending = null; load(); }, 300);
  };
  cleanups.push(() => { if (pending) window.clearTimeout(pending); });

  const tabset = tabs("Application details", [
    { id: "tree", label: "Resource tree", content: [h("p", { class: "muted small hint-line" }, "Select a resource (click, or Enter) to see its manifests, diff and events."), treeBox] },
    { id: "list", label: "Resource list", content: listBox },
    { id: "diff", label: "Changes", content: diffBox },
    { id: "events", label: "Events", content: eventsBox },
    { id: "history", label: "History", content: historyBox },
  ], {
    onSelect: (id) => {
      if (visited.has(id)) return;
      visited.add(id);
      if (id === "events") loadEvents();
      if (id === "history") loadHistory();
      if (id === "diff") loadDiff();
    },
  });

  show(
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Applications"), " / ", app.namespace),
    h("div", { class: "page-head" },
      h("div", { class: "title-block" },
        h("h1", {}, app.name),
        h("div", { class: "subtitle" }, h("span", { class: "muted" }, `${app.namespace} \u00b7 ${object.apiVersion || ""}`), headStatus)),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn", onclick: () => act("Refresh", "POST", "/refresh", { type: "normal" }) }, "Refresh"),
        h("button", { type: "button", class: "btn btn-primary", onclick: () => syncDialog(app, object, notice, reload) }, "Sync"),
        h("button", { type: "button", class: "btn", onclick: () => editDialog(app, (text) => { notice(alertBox(text, "info")); announce(text); reload(); }) }, "Edit"),
        h("button", { type: "button", class: "btn btn-danger", onclick: () => deleteDialog(app) }, "Delete"))),
    takeFlash(),
    notices,
    summary,
    h("section", { class: "panel", "aria-labelledby": "details-title" },
      h("h2", { id: "details-title", class: "visually-hidden" }, "Details"),
      tabset.el));
  renderSummary();
  renderList();
  loadTree();

  const query = { snapshot: "false", namespace: app.namespace, name: app.name };
  if (app.group) query.group = app.group;
  openStream(query, (event) => {
    if (event.type === "DELETED") {
      deleted = true;
      notice(alertBox(`Application ${app.namespace}/${app.name} was deleted.`));
      return;
    }
    reload();
  }, reload);
}

// ------------------------------------------------------------------------ boot

async function boot() {
  document.getElementById("logout").addEventListener("click", logout);
  try {
    const me = await api("GET", `${API}/session`);
    session.user = me.username;
    session.csrf = me.csrfToken;
  } catch {
    session.user = null;
  }
  renderUser();
  if (!location.hash.startsWith("#/")) history.replaceState(null, "", "#/");
  window.addEventListener("hashchange", route);
  route();
}

boot();
