/* The search box: a combobox (input) over a listbox of options, with the active option in
 * aria-activedescendant, so focus stays in the input while the arrows move through results.
 * Enter opens the active option, or the results view for the text when none is active, even
 * before the live results have arrived. */

import { gql } from "./api.js";
import { errorBox, h, href, loading } from "./dom.js";

const DEBOUNCE_MS = 200;

const QUERY = `query Search($q: String!) {
  searchMovies(query: $q, first: 8) { score movie { tmdbId title releaseYear } }
  searchPeople(query: $q, first: 6) {
    score
    person { tmdbId name asActor { tmdbId filmCount } asDirector { tmdbId filmCount } }
  }
}`;

const films = (n) => `${n} film${n === 1 ? "" : "s"}`;

export function initSearch() {
  const input = document.getElementById("search-input");
  const box = document.getElementById("search-results");
  let timer = 0;
  let seq = 0;
  let abort = null;
  let optionSeq = 0;

  const options = () => [...box.querySelectorAll('[role="option"]')];

  function setActive(option) {
    for (const o of options()) o.setAttribute("aria-selected", String(o === option));
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function show(...children) {
    box.replaceChildren(...children);
    box.hidden = false;
    input.setAttribute("aria-expanded", "true");
    setActive(null);
  }

  function hide() {
    box.hidden = true;
    input.setAttribute("aria-expanded", "false");
    setActive(null);
  }

  function cancel() {
    clearTimeout(timer);
    seq++;
    if (abort) abort.abort();
  }

  function option(link, kind, id, ...children) {
    return h("li", { class: "result-link", role: "option", id: `search-option-${++optionSeq}`,
      "aria-selected": "false", testid: "search-result", "data-href": link, "data-kind": kind,
      "data-id": id }, ...children);
  }

  function movieOption(hit) {
    const m = hit.movie;
    return option(href.movie(m.tmdbId), "movie", m.tmdbId,
      h("span", { class: "result-main inline" },
        h("span", { class: "result-title" }, m.title),
        h("span", { class: "muted" }, ` ${m.releaseYear}`)),
      h("span", { class: "score", title: "match quality 0–100" }, Math.round(hit.score)));
  }

  function personOptions(hit) {
    const p = hit.person;
    const roles = [];
    if (p.asActor) roles.push(`actor · ${films(p.asActor.filmCount)}`);
    if (p.asDirector) roles.push(`director · ${films(p.asDirector.filmCount)}`);
    const main = option(p.asActor ? href.actor(p.tmdbId) : href.director(p.tmdbId),
      p.asActor ? "actor" : "director", p.tmdbId,
      h("span", { class: "result-main" },
        h("span", { class: "result-title" }, p.name),
        h("span", { class: "muted result-roles" }, roles.join(" · "))),
      h("span", { class: "score", title: "match quality 0–100" }, Math.round(hit.score)));
    if (!(p.asActor && p.asDirector)) return [main];
    const alt = option(href.director(p.tmdbId), "director", p.tmdbId,
      h("span", { class: "result-alt" }, `${p.name} as director →`));
    return [main, alt];
  }

  function group(title, testid, items) {
    const id = `search-group-${testid}`;
    return h("div", { class: "result-group", role: "group", "aria-labelledby": id,
      testid: `search-group-${testid}` },
    h("div", { class: "result-heading", id, role: "presentation" }, title),
    h("ul", { role: "none" }, items));
  }

  async function run(text) {
    const mine = ++seq;
    if (abort) abort.abort();
    abort = new AbortController();
    show(h("div", { role: "presentation" }, loading("Searching…")));
    try {
      const data = await gql(QUERY, { q: text }, abort.signal);
      if (mine !== seq) return;
      const groups = [
        ["Movies", "movies", data.searchMovies, (hit) => [movieOption(hit)]],
        ["People", "people", data.searchPeople, personOptions],
      ]
        .filter(([, , hits]) => hits.length)
        // The group with the better best match comes first ("chaplin": people first).
        .sort((a, b) => b[2][0].score - a[2][0].score)
        .map(([title, testid, hits, render]) => group(title, testid, hits.flatMap(render)));
      const all = option(href.search(text), "all", "",
        h("span", { class: "result-all" }, `All results for “${text}” →`));
      if (!groups.length) {
        show(h("div", { class: "result-empty", role: "presentation" },
          `No good match for “${text}”.`), h("ul", { role: "none" }, all));
      } else {
        show(...groups, h("ul", { role: "none", class: "result-footer" }, all));
      }
    } catch (err) {
      if (err && err.name === "AbortError") return;
      if (mine === seq) show(h("div", { role: "presentation" }, errorBox(err, "Search failed")));
    }
  }

  function open(link) {
    cancel();
    hide();
    if (location.hash === link) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = link;
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < 2) {
      cancel();
      hide();
      return;
    }
    timer = setTimeout(() => run(text), DEBOUNCE_MS);
  });

  input.addEventListener("focus", () => {
    if (input.value.trim().length >= 2 && box.childElementCount) {
      box.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
  });

  input.addEventListener("keydown", (event) => {
    const all = options();
    const active = all.findIndex((o) => o.id === input.getAttribute("aria-activedescendant"));
    if (event.key === "Escape") {
      cancel();
      hide();
    } else if (event.key === "ArrowDown" && !box.hidden && all.length) {
      event.preventDefault();
      setActive(all[Math.min(active + 1, all.length - 1)]);
    } else if (event.key === "ArrowUp" && !box.hidden && all.length) {
      event.preventDefault();
      setActive(active <= 0 ? null : all[active - 1]);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const text = input.value.trim();
      if (active >= 0 && !box.hidden) open(all[active].dataset.href);
      else if (text) open(href.search(text));
    }
  });

  box.addEventListener("mousedown", (event) => event.preventDefault()); // keep input focus
  box.addEventListener("click", (event) => {
    const picked = event.target.closest('[role="option"]');
    if (picked) open(picked.dataset.href);
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".search")) hide();
  });

  return { hide, setText: (text) => { input.value = text; } };
}
