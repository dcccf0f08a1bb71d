/* DOM helpers, formatting, and the pieces every view shares (cards, errors, images, lists).
 * Text from the API always goes in through text nodes, never innerHTML, so titles and names
 * cannot inject markup. */

import { ApiError, explain } from "./api.js";

/** h("a", {href, class, testid, onclick}, ...children): a tiny element builder. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "testid") el.dataset.testid = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  return append(el, children);
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const nf = new Intl.NumberFormat("en-US");
const money = new Intl.NumberFormat("en-US", {
  style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 1,
});

export const fmtInt = (n) => (n === null || n === undefined ? "—" : nf.format(n));
export const fmtMoney = (n) => (n > 0 ? money.format(n) : "unknown");
export const fmtReturn = (r) => (r > 0 ? `${r.toFixed(2)}×` : "—");
export const fmtFixed = (n, digits = 2) => (n === null || n === undefined ? "—" : n.toFixed(digits));
export const plural = (n, word) => `${fmtInt(n)} ${word}${n === 1 ? "" : "s"}`;

let languages = null;
try {
  languages = new Intl.DisplayNames(["en"], { type: "language" });
} catch {
  /* older engines: codes are shown as they are */
}

/** "en" -> "English"; an unknown code is shown as it is. */
export function languageName(code) {
  if (!code) return "";
  try {
    const name = languages && languages.of(code);
    return name && name.toLowerCase() !== code.toLowerCase() ? name : code.toUpperCase();
  } catch {
    return code.toUpperCase();
  }
}

export const href = {
  movie: (id) => `#/movie/${id}`,
  actor: (id) => `#/actor/${id}`,
  director: (id) => `#/director/${id}`,
  person: (id) => `#/person/${id}`,
  keyword: (id) => `#/keyword/${id}`,
  company: (id) => `#/company/${id}`,
  collection: (id) => `#/collection/${id}`,
  browse: (params) => `#/browse?${new URLSearchParams(params)}`,
  search: (q) => `#/search?${new URLSearchParams({ q })}`,
  like: (q) => `#/like?${new URLSearchParams({ q })}`,
};

export function loading(label = "Loading…") {
  return h("div", { class: "loading", testid: "loading", role: "status", "aria-busy": "true" },
    h("span", { class: "spinner", "aria-hidden": "true" }), label);
}

/** The error card: what happened in words, the API's message and code, and a retry. */
export function errorBox(err, title = "Something went wrong", retry = null) {
  const errors = err instanceof ApiError
    ? err.errors
    : [{ message: String((err && err.message) || err), extensions: { code: "CLIENT_ERROR" } }];
  const first = (errors[0] && errors[0].extensions && errors[0].extensions.code) || "ERROR";
  return h("div", { class: "card error", testid: "error", role: "alert" },
    h("h2", { class: "error-title" }, title),
    h("p", { class: "error-explain", testid: "error-explain" }, explain(first)),
    h("ul", { class: "error-list" }, errors.map((e) => {
      const ext = e.extensions || {};
      const suggestions = Array.isArray(ext.suggestions) ? ext.suggestions : [];
      return h("li", {},
        h("span", { class: "error-message", testid: "error-message" }, e.message),
        suggestions.length
          ? h("span", { class: "muted" }, ` Did you mean ${suggestions.join(", ")}?`)
          : null,
        h("code", { class: "error-code", testid: "error-code", title: "extensions.code" },
          ext.code || "ERROR"));
    })),
    retry
      ? h("button", { class: "button", type: "button", testid: "retry", onclick: retry }, "Try again")
      : null);
}

export function section(title, testid, ...children) {
  return h("section", { class: "card", testid },
    h("h2", { class: "section-title" }, title), ...children);
}

export function stat(label, value, testid) {
  return h("div", { class: "stat", testid },
    h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label));
}

export function chip(text, extra = "", link = null, testid = null) {
  const cls = `chip ${extra}`.trim();
  return link ? h("a", { class: `${cls} chip-link`, href: link, testid }, text)
    : h("span", { class: cls, testid }, text);
}

function hue(text) {
  let hash = 0;
  for (const ch of text) hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return hash;
}

function initials(name) {
  const parts = name.split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

/** An <img> over a placeholder: the placeholder stays (data-state="missing") when there is
 * no URL or the image cannot load, e.g. offline. */
function framed(cls, url, placeholder, testid, name) {
  const frame = h("span", { class: cls, style: `--hue:${hue(name)}`, testid,
    "data-state": url ? "loading" : "missing", "aria-hidden": "true" },
  h("span", { class: "placeholder" }, placeholder));
  if (url) {
    const img = h("img", { src: url, alt: "", loading: "lazy", decoding: "async" });
    img.addEventListener("load", () => { frame.dataset.state = "loaded"; });
    img.addEventListener("error", () => { frame.dataset.state = "missing"; img.remove(); });
    frame.append(img);
  }
  return frame;
}

export function poster(movie, size = "") {
  const label = h("span", { class: "placeholder-title" }, movie.title);
  return framed(`poster ${size}`.trim(), movie.posterUrl, label, "poster", movie.title);
}

export function avatar(person, size = "") {
  return framed(`avatar ${size}`.trim(), person.profileUrl, initials(person.name), "avatar",
    person.name);
}

/** A list with a "Show more" button that fetches the next page with the cursor. */
export function pagedList(connection, renderItem, fetchPage, { testid, tag = "ol", cls = "films",
  label = "Show more" } = {}) {
  const list = h(tag, { class: cls, testid });
  const more = h("div", { class: "more" });
  function add(conn) {
    append(list, conn.nodes.map(renderItem));
    more.replaceChildren();
    if (!conn.pageInfo.hasNextPage) return;
    const button = h("button", { class: "button", type: "button", testid: "load-more",
      onclick: async () => {
        button.disabled = true;
        button.textContent = "Loading…";
        try {
          add(await fetchPage(conn.pageInfo.endCursor));
        } catch (err) {
          more.replaceChildren(errorBox(err, "Could not load more", () => add(conn)));
        }
      } }, label);
    more.append(button);
  }
  add(connection);
  return [list, more];
}

/** Render a card now (loading), fill it when its own request settles; retry on failure. */
export function deferred(make, title) {
  const slot = h("div", { class: "slot" });
  const run = () => {
    slot.replaceChildren(loading());
    make().then(
      (node) => slot.replaceChildren(node),
      (err) => slot.replaceChildren(errorBox(err, title, run)),
    );
  };
  run();
  return slot;
}

/** A grid of movie tiles with posters. */
export function movieTile(m, testid = "movie-tile", extra = null) {
  const meta = [m.releaseYear];
  if (m.voteAverage !== null && m.voteAverage !== undefined && m.voteCount) {
    meta.push(`★ ${fmtFixed(m.voteAverage, 1)}`);
  }
  return h("li", { class: "tile", testid, "data-id": m.tmdbId },
    h("a", { href: href.movie(m.tmdbId), class: "tile-link" },
      poster(m),
      h("span", { class: "tile-title" }, m.title)),
    h("div", { class: "muted small" }, meta.join(" · ")),
    m.genres && m.genres.length
      ? h("div", { class: "chips" }, m.genres.slice(0, 2).map((g) =>
        chip(g.name, "", href.browse({ genre: g.name }))))
      : null,
    extra);
}

export const TILE_FIELDS = "tmdbId title releaseYear voteAverage voteCount posterUrl(size: W185) "
  + "genres { name }";
