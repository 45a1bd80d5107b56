// The Trellis web UI: a small client of the JSON API under /api/v1.
//
// Every piece of text that comes from the API or the cluster goes into the
// page as a text node (never parsed as markup), and links are only built
// from hashes this script composes and checks, so names, labels or
// annotations holding markup or script URLs stay inert text.

const API = "/api/v1";
const CSRF_HEADER = "X-Trellis-CSRF";

const session = { user: null, csrf: null };
// What the current page opened (event streams, timers), closed when it goes.
let cleanups = [];
// The list filters survive going to an application and back.
const filters = { search: "", sync: "", health: "", project: "" };

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

/** Replaces an element's children; like `append`, it skips null and
 * undefined (the DOM's own replaceChildren would print them as text). */
function setChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
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

function appHash(namespace, name, group) {
  let hash = `#/apps/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
  if (group) hash += `?group=${encodeURIComponent(group)}`;
  return hash;
}

function badge(styles, status, title) {
  const text = status || "Unknown";
  const [cls, icon] = styles[text] || ["st-neutral", "\u2022"];
  return h("span", { class: `badge ${cls}`, title: title || null },
    h("span", { class: "icon", "aria-hidden": "true" }, icon), text);
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

// ------------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session.csrf) headers[CSRF_HEADER] = session.csrf;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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
  return data;
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
    show(h("h1", {}, "Not found"), alertBox("There is no such page."), h("a", { href: "#/" }, "Back to the applications"));
  }
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
  const where = [source.path || source.chart].filter(Boolean).join("");
  const operation = app.operation || {};
  return h("tr", {},
    h("td", {},
      h("a", { class: "row-link", href: appHash(app.namespace, app.name, app.group) }, app.name),
      h("div", { class: "muted" }, app.namespace)),
    h("td", {}, app.project || "default"),
    h("td", {},
      badge(SYNC_STYLE, app.sync?.status),
      operation.requested || operation.phase === "Running"
        ? h("div", { class: "muted" }, operation.phase || "sync requested")
        : null),
    h("td", {}, badge(HEALTH_STYLE, app.health?.status, app.health?.message)),
    h("td", { class: "truncate", title: repo }, repo, where ? h("div", { class: "muted" }, where) : null),
    h("td", { class: "mono" }, source.targetRevision || "HEAD",
      app.sync?.revision ? h("div", { class: "muted", title: app.sync.revision }, shortRevision(app.sync.revision)) : null),
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
  const error = h("div", {});
  const tbody = h("tbody", {});
  const count = h("span", { class: "count", role: "status" });
  const projectField = h("div", {});

  const renderRows = () => {
    const shown = [...apps.values()].filter(matches)
      .sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
    setChildren(tbody, ...shown.map(appRow));
    if (shown.length === 0) {
      tbody.append(h("tr", {}, h("td", { class: "empty", colspan: 7 },
        apps.size === 0 ? "No applications yet." : "No application matches the filters.")));
    }
    count.textContent = `${shown.length} of ${apps.size} applications`;
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
      h("div", {}, h("h1", {}, "Applications"), h("div", { class: "muted" }, "Live: changes appear as they happen."))),
    error,
    h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "filter-search" }, "Search"), search),
      select("filter-sync", "Sync status", Object.keys(SYNC_STYLE).filter((s) => s !== "Missing" && s !== "Extra"), "sync", renderRows),
      select("filter-health", "Health", Object.keys(HEALTH_STYLE), "health", renderRows),
      projectField,
      count),
    h("div", { class: "table-wrap" },
      h("table", {},
        h("caption", { class: "visually-hidden" }, "Applications"),
        h("thead", {}, h("tr", {},
          ["Name", "Project", "Sync", "Health", "Repository", "Target revision", "Last sync"].map((t) => h("th", { scope: "col" }, t)))),
        tbody)),
  );
  renderProjects([]);
  await load();
  api("GET", `${API}/projects`).then((p) => renderProjects((p.items || []).map((x) => x.name))).catch(() => renderProjects([]));

  // The snapshot first repeats the list, closing any gap since it was read.
  openStream({}, (event) => {
    const a = event.application;
    if (!a) return;
    if (event.type === "DELETED") apps.delete(appKey(a));
    else apps.set(appKey(a), a);
    renderRows();
  }, load);
}

// ------------------------------------------------------------ application page

function summaryList(pairs) {
  return h("dl", { class: "summary" }, pairs.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))));
}

function diffView(text) {
  if (!text) return h("p", { class: "muted" }, "No differences.");
  const lines = text.replace(/\n$/, "").split("\n").map((line) => {
    let cls = "";
    if (line.startsWith("+++") || line.startsWith("---")) cls = "meta";
    else if (line.startsWith("@@")) cls = "hunk";
    else if (line.startsWith("+")) cls = "add";
    else if (line.startsWith("-")) cls = "del";
    return h("span", { class: cls || null }, line || " ");
  });
  return h("pre", { class: "code diff", tabindex: "0", "aria-label": "Diff" }, lines);
}

function jsonView(value, label) {
  if (value === null || value === undefined) return h("p", { class: "muted" }, `No ${label.toLowerCase()} manifest.`);
  return h("pre", { class: "code", tabindex: "0", "aria-label": label }, JSON.stringify(value, null, 2));
}

function tabs(panels) {
  const body = h("div", { role: "tabpanel" });
  const buttons = panels.map(([label, render], i) => h("button", {
    type: "button", role: "tab", "aria-selected": i === 0 ? "true" : "false",
    onclick: (e) => {
      for (const b of buttons) b.setAttribute("aria-selected", "false");
      e.currentTarget.setAttribute("aria-selected", "true");
      setChildren(body, render());
    },
  }, label));
  body.append(panels[0][1]());
  return [h("div", { class: "tabs", role: "tablist" }, buttons), body];
}

async function resourceDetail(app, ref, container) {
  setChildren(container, h("p", { class: "muted" }, `Loading ${ref.kind} ${ref.name}…`));
  try {
    const r = await api("GET", appPath(app)("/resource", {
      resourceGroup: ref.group || "",
      resourceKind: ref.kind,
      resourceNamespace: ref.namespace || "",
      resourceName: ref.name,
    }));
    setChildren(container, 
      h("div", { class: "page-head" },
        h("h2", { tabindex: "-1" }, `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`),
        h("div", { class: "actions" }, badge(SYNC_STYLE, r.status), badge(HEALTH_STYLE, r.health?.status, r.health?.message))),
      r.message ? alertBox(r.message, "info") : null,
      tabs([
        ["Diff", () => diffView(r.diff)],
        ["Live", () => jsonView(r.live, "Live")],
        ["Desired", () => jsonView(r.desired, "Desired")],
      ]));
    container.querySelector("h2").focus();
  } catch (err) {
    setChildren(container, alertBox(`Could not load ${ref.kind} ${ref.name}: ${err.message}`));
  }
}

function syncDialog(app, notice, reload) {
  const revision = h("input", { id: "sync-revision", type: "text", placeholder: "the target revision", autocomplete: "off" });
  const prune = h("input", { id: "sync-prune", type: "checkbox" });
  const dryRun = h("input", { id: "sync-dry-run", type: "checkbox" });
  const error = h("div", {});
  const dialog = h("dialog", { "aria-labelledby": "sync-title" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Synchronize");
  const form = h("form", {
    method: "dialog",
    onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      setChildren(error);
      const body = { prune: prune.checked, dryRun: dryRun.checked };
      if (revision.value.trim()) body.revision = revision.value.trim();
      try {
        await api("POST", appPath(app)("/sync"), body);
        dialog.close();
        notice(alertBox(dryRun.checked ? "Dry-run sync requested." : "Sync requested.", "info"));
        reload();
      } catch (err) {
        setChildren(error, alertBox(`Sync refused: ${err.message}`));
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h2", { id: "sync-title" }, `Synchronize ${app.name}`),
  error,
  h("div", { class: "field" }, h("label", { for: "sync-revision" }, "Revision (empty for the target revision)"), revision),
  h("div", { class: "check" }, prune, h("label", { for: "sync-prune" }, "Prune resources no longer in git")),
  h("div", { class: "check" }, dryRun, h("label", { for: "sync-dry-run" }, "Dry run")),
  h("div", { class: "actions" },
    h("button", { type: "button", class: "btn", onclick: () => dialog.close() }, "Cancel"),
    submit));
  dialog.append(form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  revision.focus();
}

async function appPage(app) {
  document.title = `${app.name} · Trellis`;
  const path = appPath(app);
  const notices = h("div", {});
  const summary = h("section", { class: "panel", "aria-labelledby": "summary-title" });
  const resources = h("section", { class: "panel", "aria-labelledby": "resources-title" });
  const detail = h("section", { class: "panel", "aria-live": "polite" });
  detail.hidden = true;
  const history = h("section", { class: "panel", "aria-labelledby": "history-title" });
  const notice = (el) => setChildren(notices, el);
  let selected = null;
  let object = null;

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
    setChildren(summary, 
      h("h2", { id: "summary-title" }, "Summary"),
      summaryList([
        ["Sync", badge(SYNC_STYLE, status.sync?.status)],
        ["Health", badge(HEALTH_STYLE, status.health?.status, status.health?.message)],
        ["Project", spec.project || "default"],
        ["Repository", source.repoURL || ""],
        ["Path", source.path || source.chart || ""],
        ["Target revision", source.targetRevision || "HEAD"],
        ["Synced revision", h("span", { class: "mono", title: status.sync?.revision || "" }, shortRevision(status.sync?.revision) || "none")],
        ["Destination", `${destination.server || destination.name || ""} ${destination.namespace ? `(${destination.namespace})` : ""}`],
        ["Last reconciled", ago(status.reconciledAt)],
        ["Last operation", op.phase ? [badge(PHASE_STYLE, op.phase), op.message ? h("div", { class: "muted" }, op.message) : null] : "none"],
      ]),
      status.health?.message ? h("p", { class: "muted" }, status.health.message) : null,
      conditions.length
        ? h("ul", { class: "conditions", "aria-label": "Conditions" },
          conditions.map((c) => h("li", {}, h("strong", {}, c.type || "Condition"), c.message || "")))
        : null);
  };

  const renderResources = () => {
    const list = (object.status || {}).resources || [];
    const rows = list.map((r) => {
      const ref = { group: r.group || "", kind: r.kind, namespace: r.namespace || "", name: r.name };
      const isSelected = selected && ["group", "kind", "namespace", "name"].every((k) => selected[k] === ref[k]);
      return h("tr", { class: isSelected ? "selected" : null },
        h("td", {}, r.kind),
        h("td", {}, h("button", {
          type: "button", class: "link-button",
          "aria-label": `Show ${r.kind} ${r.name}`,
          onclick: () => { selected = ref; detail.hidden = false; renderResources(); resourceDetail(app, ref, detail); },
        }, r.name)),
        h("td", {}, r.namespace || h("span", { class: "muted" }, "cluster")),
        h("td", {}, badge(SYNC_STYLE, r.status)),
        h("td", {}, r.health ? badge(HEALTH_STYLE, r.health.status, r.health.message) : h("span", { class: "muted" }, "—")));
    });
    setChildren(resources, 
      h("h2", { id: "resources-title" }, `Resources (${list.length})`),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Kind", "Name", "Namespace", "Sync", "Health"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { class: "empty", colspan: 5 }, "No resources yet."))))));
  };

  const loadHistory = async () => {
    try {
      const data = await api("GET", path("/history"));
      const items = data.items || [];
      setChildren(history, 
        h("h2", { id: "history-title" }, "History"),
        items.length === 0 ? h("p", { class: "muted" }, "No sync has been recorded yet.") : h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["ID", "Revision", "Deployed", "Source", ""].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, items.map((entry, i) => h("tr", {},
            h("td", {}, String(entry.id ?? "")),
            h("td", { class: "mono", title: entry.revision || "" }, shortRevision(entry.revision) || (entry.revisions || []).map(shortRevision).join(", ")),
            h("td", {}, ago(entry.deployedAt)),
            h("td", { class: "truncate" }, entry.source?.repoURL || "", entry.source?.path ? h("div", { class: "muted" }, entry.source.path) : null),
            h("td", {}, i === 0 ? h("span", { class: "muted" }, "current") : h("button", {
              type: "button", class: "btn btn-small btn-danger",
              "aria-label": `Roll back to history entry ${entry.id}`,
              onclick: () => {
                if (window.confirm(`Roll ${app.name} back to revision ${shortRevision(entry.revision)} (history ${entry.id})?`)) {
                  act("Rollback", "POST", "/rollback", { id: entry.id });
                }
              },
            }, "Roll back"))))))));
    } catch (err) {
      setChildren(history, h("h2", { id: "history-title" }, "History"), alertBox(`Could not load the history: ${err.message}`));
    }
  };

  const load = async () => {
    try {
      object = await api("GET", path());
      renderSummary();
      renderResources();
      return true;
    } catch (err) {
      setChildren(summary, alertBox(err.status === 404 ? `Application ${app.namespace}/${app.name} was not found.` : `Could not load the application: ${err.message}`));
      setChildren(resources);
      return false;
    }
  };

  let pending = null;
  const reload = () => {
    // Bursts of changes (a sync) become one reload.
    if (pending) return;
    pending = window.setTimeout(() => { pending = null; load(); loadHistory(); }, 300);
  };
  cleanups.push(() => { if (pending) window.clearTimeout(pending); });

  show(
    h("div", { class: "crumbs" }, h("a", { href: "#/" }, "Applications"), " / ", app.namespace),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, app.name), h("div", { class: "muted" }, `${app.namespace}${app.group ? ` · ${app.group}` : ""}`)),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn", onclick: () => act("Refresh", "POST", "/refresh", { type: "normal" }) }, "Refresh"),
        h("button", { type: "button", class: "btn btn-primary", onclick: () => syncDialog(app, notice, reload) }, "Sync…"))),
    notices, summary, resources, detail, history);

  if (await load()) {
    loadHistory();
    const query = { snapshot: "false", namespace: app.namespace, name: app.name };
    if (app.group) query.group = app.group;
    openStream(query, (event) => {
      if (event.type === "DELETED") {
        notice(alertBox("This application was deleted."));
        return;
      }
      reload();
    }, reload);
  }
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
