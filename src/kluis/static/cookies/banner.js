/*
 * Kluis cookie banner (R-CONS-4). One tag on a page of a declared site:
 *   <script src="https://kluis.example/cookies/banner.js" data-site="benvitaal-nl" defer></script>
 * Scripts (and iframes) of a category wait until the visitor consents to it:
 *   <script type="text/plain" data-kluis-category="analytics" data-kluis-cookies="_ga" src="..."></script>
 *   <iframe data-kluis-category="marketing" data-kluis-src="..."></iframe>
 * Kluis fills in CONFIG (banner revision, categories and texts from the policy) when it serves this file.
 */
(() => {
  "use strict";
  const CONFIG = /*KLUIS_CONFIG*/ null;
  const me = document.currentScript;
  if (!CONFIG || !me || window.KluisCookies) {
    return;
  }
  const SITE = me.getAttribute("data-site") || "";
  const KLUIS = new URL(me.src, location.href).origin;
  const API = `${KLUIS}/cookies/api/sites/${encodeURIComponent(SITE)}/receipts`;
  const VISITOR = /^[A-Za-z0-9_-]{22}$/;
  const SITE_WIDE = "*";
  const categories = CONFIG.categories;
  const lang = languageOf(document.documentElement.getAttribute("lang"));
  const path = normalisePath(location.pathname);
  const gpc = navigator.globalPrivacyControl === true;
  let state = readState();
  let granted = [];
  let ui = null;

  function languageOf(value) {
    // Dutch unless the page says it is in another language: the policy speaks Dutch and English.
    const tag = (value || "").trim().toLowerCase();
    return tag === "" || tag.startsWith("nl") ? "nl" : "en";
  }

  function normalisePath(value) {
    // The same rule as the server's: no trailing slash, except for the root.
    return value.replace(/\/+$/, "") || "/";
  }

  const text = (key) => CONFIG.texts[key][lang];
  const now = () => Math.floor(Date.now() / 1000);

  // --- the consent cookie: "1|<visitor>|<page or *>:<revision>:<granted+ids>:<seconds, base 36>[:g]|..." ---
  // ":g" marks a choice made while Global Privacy Control was on.

  function readState() {
    for (const pair of document.cookie.split(";")) {
      const at = pair.indexOf("=");
      if (at > 0 && pair.slice(0, at).trim() === CONFIG.cookie.name) {
        return parseState(pair.slice(at + 1).trim());
      }
    }
    return null;
  }

  function parseState(value) {
    const [format, visitor, ...entries] = value.split("|");
    if (format !== "1" || !VISITOR.test(visitor || "")) {
      return null;
    }
    const choices = {};
    for (const entry of entries) {
      const [key, revision, ids, at, flag] = entry.split(":");
      if (at === undefined) {
        continue;
      }
      try {
        choices[key === SITE_WIDE ? key : decodeURIComponent(key)] = {
          revision, granted: ids ? ids.split("+") : [], at: parseInt(at, 36), gpc: flag === "g" };
      } catch (e) {
        // A damaged entry is dropped: that page asks again.
      }
    }
    return { visitor, choices };
  }

  function writeState() {
    const pages = Object.keys(state.choices).filter((k) => k !== SITE_WIDE)
      .sort((a, b) => state.choices[b].at - state.choices[a].at);
    const kept = (state.choices[SITE_WIDE] ? [SITE_WIDE] : []).concat(pages.slice(0, CONFIG.cookie.max_pages));
    const encode = (k) => {
      const c = state.choices[k];
      return [k === SITE_WIDE ? k : encodeURIComponent(k), c.revision, c.granted.join("+"), c.at.toString(36)]
        .concat(c.gpc ? ["g"] : []).join(":");
    };
    let value;
    do {
      value = ["1", state.visitor, ...kept.map(encode)].join("|");
    } while (value.length > 3800 && kept.pop() !== undefined);
    document.cookie = `${CONFIG.cookie.name}=${value}; Path=/; Max-Age=${CONFIG.cookie.max_age}; SameSite=Lax` +
      (location.protocol === "https:" ? "; Secure" : "");
  }

  function currentChoice() {
    // This page's choice, else the site-wide one; only while it is fresh and made on this banner revision. A
    // choice that turned on what GPC covers, made before the browser sent GPC, is older than the signal: the
    // signal's default holds again until the visitor chooses anew (a choice made with GPC on stands).
    const choice = state && (state.choices[path] || state.choices[SITE_WIDE]);
    const fresh = choice && now() - choice.at < CONFIG.cookie.max_age;
    const overtaken = choice && gpc && !choice.gpc && categories.some((c) => c.gpc_refused &&
      choice.granted.includes(c.id));
    return fresh && !overtaken && choice.revision === CONFIG.revision ? choice : null;
  }

  function newVisitor() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // --- gating: nothing of a category runs before consent for it ---

  function allowed(id) {
    const category = categories.find((c) => c.id === id);
    if (!category) {
      return false;
    }
    return category.required || granted.includes(id);
  }

  function activate(root) {
    for (const el of root.querySelectorAll("[data-kluis-category]:not([data-kluis-active])")) {
      if (!allowed(el.getAttribute("data-kluis-category"))) {
        continue;
      }
      if (el.tagName === "SCRIPT") {
        const live = document.createElement("script");
        for (const a of el.attributes) {
          if (a.name !== "type") {
            live.setAttribute(a.name, a.value);
          }
        }
        if (el.hasAttribute("data-kluis-type")) {
          live.setAttribute("type", el.getAttribute("data-kluis-type"));
        }
        live.async = false; // keep the page's order among activated scripts
        live.setAttribute("data-kluis-active", "");
        live.text = el.text;
        el.replaceWith(live);
      } else if (el.hasAttribute("data-kluis-src")) {
        el.setAttribute("data-kluis-active", "");
        el.setAttribute("src", el.getAttribute("data-kluis-src"));
      }
    }
  }

  function forget(withdrawn) {
    // Remove the cookies that gated elements of withdrawn categories declare; true when one of them ran here.
    let ran = false;
    for (const el of document.querySelectorAll("[data-kluis-category]")) {
      if (!withdrawn.includes(el.getAttribute("data-kluis-category"))) {
        continue;
      }
      ran = ran || el.hasAttribute("data-kluis-active");
      for (const name of (el.getAttribute("data-kluis-cookies") || "").split(/[\s,]+/).filter(Boolean)) {
        for (const domain of ["", `; Domain=${location.hostname}`]) {
          document.cookie = `${name}=; Max-Age=0; Path=/${domain}`;
        }
      }
    }
    return ran;
  }

  // --- recording a choice ---

  async function submit(action, wanted, scope) {
    const visitor = state ? state.visitor : newVisitor();
    const body = { visitor, path, scope, action, categories: wanted, revision: CONFIG.revision, language: lang,
      gpc };
    setBusy(true);
    try {
      const response = await fetch(API, { method: "POST", mode: "cors", credentials: "omit", cache: "no-store",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (response.status === 409) {
        location.reload(); // the banner changed since this page loaded: ask again with the new one
        return;
      }
      if (!response.ok) {
        throw new Error(`receipt refused: ${response.status}`);
      }
      remember(visitor, await response.json());
    } catch (e) {
      setBusy(false);
      ui.error.hidden = false;
    }
  }

  function remember(visitor, receipt) {
    const before = granted;
    const choice = { revision: receipt.revision, granted: receipt.granted, at: now(),
      gpc: receipt.gpc_sources.length > 0 };
    state = state && state.visitor === visitor ? state : { visitor, choices: {} };
    if (receipt.scope === "site") {
      state.choices = { [SITE_WIDE]: choice }; // a site-wide choice replaces the page choices
    } else {
      state.choices[path] = choice;
    }
    writeState();
    granted = receipt.granted.slice();
    hide();
    if (forget(before.filter((c) => !granted.includes(c)))) {
      location.reload(); // a withdrawn script already ran on this page: start the page without it
      return;
    }
    activate(document);
    document.dispatchEvent(new CustomEvent("kluis:consent", { detail: { granted: granted.slice(),
      receipt: receipt.id } }));
  }

  // --- the banner ---

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== false) {
        node.setAttribute(k, v === true ? "" : v);
      }
    }
    for (const child of children || []) {
      node.append(child);
    }
    return node;
  }

  function withStyles(then) {
    if (document.querySelector("link[data-kluis-styles]")) {
      then();
      return;
    }
    const link = el("link", { rel: "stylesheet", href: `${KLUIS}/cookies/banner.css?v=${CONFIG.css}`,
      "data-kluis-styles": true });
    link.onload = then;
    link.onerror = then;
    document.head.append(link);
  }

  function build() {
    const choice = currentChoice();
    const siteWide = !!choice && state.choices[path] !== choice;
    const boxes = categories.map((c) => {
      // With GPC and no choice of the visitor's own yet, what GPC covers starts off (no choice: all start off);
      // the visitor may still turn it on: their explicit choice wins.
      const id = `kluis-cookies-${c.id}`;
      const box = el("input", { type: "checkbox", name: c.id, id,
        checked: c.required || (!!choice && choice.granted.includes(c.id)),
        disabled: c.required, "aria-describedby": `${id}-about` });
      return el("div", { class: "kluis-cookies__category" }, [box,
        el("label", { for: id }, [c.name[lang] + (c.required ? ` (${text("always_on")})` : "")]),
        el("p", { id: `${id}-about` }, [c.description[lang]])]);
    });
    const radio = (value, on) => el("div", { class: "kluis-cookies__scope-option" }, [
      el("input", { type: "radio", name: "kluis-cookies-scope", value, id: `kluis-cookies-scope-${value}`,
        checked: on }),
      el("label", { for: `kluis-cookies-scope-${value}` }, [text(`scope_${value}`)])]);
    // One element type and one class for all three: equally easy to see and to press.
    const button = (action) => el("button", { type: "button", class: "kluis-cookies__button",
      "data-kluis-action": action }, [text(action)]);
    const chosen = el("fieldset", { class: "kluis-cookies__categories", hidden: true },
      [el("legend", {}, [text("categories_legend")]), ...boxes]);
    const choose = button("choose");
    const error = el("p", { class: "kluis-cookies__error", role: "alert", hidden: true }, [text("error")]);
    const root = el("section", { class: "kluis-cookies", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "kluis-cookies-title", "aria-describedby": "kluis-cookies-intro", lang,
      tabindex: "-1", "data-kluis-banner": true }, [
      el("h2", { id: "kluis-cookies-title" }, [text("title")]),
      el("p", { id: "kluis-cookies-intro" }, [`${text("intro")} `,
        el("a", { href: `${KLUIS}/privacy?lang=${lang}`, target: "_blank", rel: "noopener" },
          [text("privacy_link")])]),
      ...(gpc ? [el("p", { class: "kluis-cookies__gpc" }, [text("gpc_note")])] : []),
      el("fieldset", { class: "kluis-cookies__scope" }, [el("legend", {}, [text("scope_legend")]),
        radio("page", !siteWide), radio("site", siteWide)]),
      chosen, error,
      el("div", { class: "kluis-cookies__actions" }, [button("accept_all"), button("reject_all"), choose])]);
    root.addEventListener("click", (event) => {
      const target = event.target.closest("[data-kluis-action]");
      if (target && !target.disabled) {
        act(target.getAttribute("data-kluis-action"));
      }
    });
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        escape();
      }
    });
    const settings = el("button", { type: "button", class: "kluis-cookies-settings", lang, hidden: true },
      [text("settings")]);
    settings.addEventListener("click", open);
    document.body.prepend(root); // first in the reading and tab order
    document.body.append(settings);
    return { root, chosen, choose, error, settings };
  }

  function act(action) {
    if (action === "choose" && ui.chosen.hidden) {
      ui.chosen.hidden = false;
      ui.choose.textContent = text("save");
      const first = ui.chosen.querySelector("input:not([disabled])");
      if (first) {
        first.focus();
      }
      return;
    }
    const scope = ui.root.querySelector("input[name=kluis-cookies-scope]:checked").value;
    const wanted = {};
    for (const c of categories) {
      const box = ui.chosen.querySelector(`input[name="${c.id}"]`);
      wanted[c.id] = c.required || action === "accept_all" || (action === "choose" && box.checked);
    }
    submit(action, wanted, scope);
  }

  function escape() {
    // Escape never means yes: it closes the choices, then the banner; nothing is consented to.
    if (!ui.chosen.hidden) {
      ui.chosen.hidden = true;
      ui.choose.textContent = text("choose");
      ui.choose.focus();
      return;
    }
    hide();
    ui.settings.focus();
  }

  function setBusy(busy) {
    for (const b of ui.root.querySelectorAll("button")) {
      b.disabled = busy;
    }
  }

  function show(focus) {
    withStyles(() => {
      ui = ui || build();
      ui.error.hidden = true;
      setBusy(false);
      ui.settings.hidden = true;
      ui.root.hidden = false;
      if (focus) {
        ui.root.focus();
      }
    });
  }

  function hide() {
    if (ui) {
      ui.root.hidden = true;
      ui.settings.hidden = false;
    }
  }

  function open() {
    // Reopened from "cookie settings": rebuilt, so that it shows the choice now in force.
    if (ui) {
      ui.root.remove();
      ui.settings.remove();
      ui = null;
    }
    show(true);
  }

  function start() {
    const choice = currentChoice();
    granted = choice ? choice.granted.slice() : [];
    activate(document);
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const node of change.addedNodes) {
          if (node.nodeType === 1) {
            activate(node.parentNode || document);
          }
        }
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
    document.addEventListener("click", (event) => {
      if (event.target.closest && event.target.closest("[data-kluis-open]")) {
        event.preventDefault();
        open();
      }
    });
    if (choice) {
      withStyles(() => {
        ui = ui || build();
        hide();
      });
    } else {
      show(false);
    }
  }

  window.KluisCookies = {
    revision: CONFIG.revision,
    open,
    consented: allowed,
    receipts: async () => {
      if (!state) {
        return { site: SITE, receipts: [] };
      }
      const response = await fetch(API, { mode: "cors", credentials: "omit", cache: "no-store",
        headers: { "Kluis-Visitor": state.visitor } });
      return response.json();
    },
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
