/* The search results view (#/search?q=…): what Enter in the search box opens, shareable. */

import { gql } from "../api.js";
import { avatar, h, href, plural, poster, section } from "../dom.js";

const QUERY = `query Results($q: String!) {
  searchMovies(query: $q, first: 20) {
    score movie { tmdbId title releaseYear voteCount posterUrl(size: W92) }
  }
  searchPeople(query: $q, first: 20) {
    score
    person { tmdbId name profileUrl(size: W45) asActor { filmCount } asDirector { filmCount } }
  }
}`;

const films = (n) => `${n} film${n === 1 ? "" : "s"}`;

function movieRow(hit) {
  const m = hit.movie;
  return h("li", { class: "hit", testid: "results-movie", "data-id": m.tmdbId },
    poster(m, "poster-xs"),
    h("span", { class: "hit-main" },
      h("a", { href: href.movie(m.tmdbId), class: "hit-title" }, m.title),
      h("span", { class: "muted small" }, `${m.releaseYear} · ${plural(m.voteCount, "vote")}`)),
    h("span", { class: "score", title: "match quality 0–100" }, Math.round(hit.score)));
}

function personRow(hit) {
  const p = hit.person;
  const link = p.asActor ? href.actor(p.tmdbId) : p.asDirector ? href.director(p.tmdbId) : href.person(p.tmdbId);
  const roles = [];
  if (p.asActor) roles.push(`actor · ${films(p.asActor.filmCount)}`);
  if (p.asDirector) roles.push(`director · ${films(p.asDirector.filmCount)}`);
  return h("li", { class: "hit", testid: "results-person", "data-id": p.tmdbId },
    avatar(p),
    h("span", { class: "hit-main" },
      h("a", { href: link, class: "hit-title" }, p.name),
      h("span", { class: "muted small" }, roles.join(" · "))),
    h("span", { class: "score", title: "match quality 0–100" }, Math.round(hit.score)));
}

export async function resultsView(_params, query, app) {
  const text = (new URLSearchParams(query).get("q") || "").trim();
  app.search.setText(text);
  document.title = `Search: ${text} · movies-graph`;
  if (!text) {
    return section("Search", "results-view", h("p", { class: "muted" }, "Type a title or a name in the search box."));
  }
  const data = await gql(QUERY, { q: text });
  const movies = data.searchMovies;
  const people = data.searchPeople;
  const head = h("section", { class: "card", testid: "results-view" },
    h("p", { class: "eyebrow" }, "Search"),
    h("h1", { testid: "results-title" }, `“${text}”`),
    h("p", { class: "muted", testid: "results-count" },
      `${movies.length ? `${movies.length} movie${movies.length === 1 ? "" : "s"}` : "no movie"}, `
      + `${people.length ? `${people.length} ${people.length === 1 ? "person" : "people"}` : "no person"}`));
  if (!movies.length && !people.length) {
    return h("div", { class: "stack" }, head,
      h("section", { class: "card empty-state", testid: "results-empty" },
        h("h2", { class: "section-title" }, "No good match"),
        h("p", {}, `No title or name in the loaded data is close enough to “${text}”.`),
        h("ul", { class: "tips" },
          h("li", {}, "Check the spelling, or type fewer words (a title's first words are enough)."),
          h("li", {}, "Looking for a kind of movie rather than a title? ",
            h("a", { href: href.like(text), testid: "results-like-link" }, `Describe it: movies like “${text}” →`)),
          h("li", {}, h("a", { href: href.browse({ sort: "POPULARITY" }) }, "Browse all movies →")))));
  }
  const groups = [
    ["Movies", "results-movies", movies, movieRow],
    ["People", "results-people", people, personRow],
  ].filter(([, , hits]) => hits.length)
    .sort((a, b) => b[2][0].score - a[2][0].score);
  return h("div", { class: "stack" }, head,
    ...groups.map(([title, testid, hits, row]) =>
      section(title, testid, h("ol", { class: "hits" }, hits.map(row)))));
}
