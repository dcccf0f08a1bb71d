/* One movie: facts, people (cast with "show all", crew by department), keywords, companies,
 * and recommendations with their reasons. */

import { gql } from "../api.js";
import {
  append, avatar, chip, deferred, fmtFixed, fmtInt, fmtMoney, fmtReturn, h, href,
  languageName, poster, section, stat,
} from "../dom.js";

const CAST_PREVIEW = 15;
const PAGE_MAX = 100;

const CREDIT = "character order actor { tmdbId name profileUrl(size: W185) }";
const CREW = "department job person { tmdbId name asDirector { tmdbId } }";

const MOVIE_QUERY = `query MovieView($id: Int!) {
  movie(id: $id) {
    tmdbId title tagline overview releaseDate releaseYear runtime originalLanguage
    popularity voteAverage voteCount budget revenue return hasCredits
    posterUrl(size: W342)
    genres { name }
    collection { tmdbId name }
    keywords { tmdbId name }
    companies { tmdbId name }
    directors { tmdbId name }
    cast(first: ${CAST_PREVIEW}) { totalCount pageInfo { hasNextPage endCursor } nodes { ${CREDIT} } }
    crew(first: ${PAGE_MAX}) { totalCount pageInfo { hasNextPage endCursor } nodes { ${CREW} } }
  }
}`;

const CAST_PAGE = `query CastPage($id: Int!, $after: String) {
  movie(id: $id) { cast(first: ${PAGE_MAX}, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { ${CREDIT} } } }
}`;

const CREW_PAGE = `query CrewPage($id: Int!, $after: String) {
  movie(id: $id) { crew(first: ${PAGE_MAX}, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { ${CREW} } } }
}`;

const SIMILAR_QUERY = `query Similar($id: Int!) {
  movie(id: $id) {
    tmdbId
    similar(n: 8) { score reasons { kind names } movie { tmdbId title releaseYear posterUrl(size: W92) } }
  }
}`;

const REASON_LABEL = {
  COLLECTION: "Collection", DIRECTOR: "Director", GENRE: "Genre", KEYWORD: "Keywords", CAST: "Cast",
};

// Departments in the order a film's credits usually run.
const DEPARTMENTS = ["Directing", "Writing", "Production", "Camera", "Editing", "Sound", "Art",
  "Costume & Make-Up", "Visual Effects", "Crew", "Lighting"];

/** Every remaining page of a connection, fetched in order with the cursor. */
async function rest(fetchPage, pageInfo) {
  const nodes = [];
  let info = pageInfo;
  while (info.hasNextPage) {
    const page = await fetchPage(info.endCursor);
    nodes.push(...page.nodes);
    info = page.pageInfo;
  }
  return nodes;
}

export function recommendation(rec) {
  const m = rec.movie;
  return h("li", { class: "rec", testid: "recommendation", "data-id": m.tmdbId },
    h("div", { class: "rec-head" },
      poster(m, "poster-xs"),
      h("div", { class: "rec-name" },
        h("a", { href: href.movie(m.tmdbId), class: "rec-title", testid: "recommendation-title" }, m.title),
        h("span", { class: "muted" }, ` ${m.releaseYear}`))),
    h("div", { class: "meter", title: "cosine similarity, 0 to 1" },
      h("span", { class: "meter-track" },
        h("span", { class: "meter-fill", style: `width:${Math.min(100, rec.score * 100).toFixed(1)}%` })),
      h("span", { class: "meter-value", testid: "recommendation-score" }, rec.score.toFixed(3))),
    rec.reasons.length
      ? h("ul", { class: "reasons" }, rec.reasons.map((r) =>
        h("li", { testid: "recommendation-reason", "data-kind": r.kind },
          chip(REASON_LABEL[r.kind] || r.kind, `reason-${r.kind.toLowerCase()}`),
          h("span", {}, r.names.join(", ")))))
      : h("div", { class: "muted small" }, "Similar overview text"));
}

async function similarSection(id) {
  const data = await gql(SIMILAR_QUERY, { id });
  const recs = data.movie.similar;
  return section("Recommended", "recommendations",
    recs.length
      ? h("ol", { class: "recs" }, recs.map(recommendation))
      : h("p", { class: "muted" }, "No recommendations for this movie."));
}

function castItem(c) {
  return h("li", { class: "cast-item", testid: "cast-item" },
    avatar(c.actor),
    h("span", { class: "cast-text" },
      h("a", { href: href.actor(c.actor.tmdbId), testid: "cast-actor" }, c.actor.name),
      h("span", { class: "muted character", testid: "cast-character" }, c.character || "—")));
}

function castSection(m) {
  const cast = m.cast;
  const title = h("h2", { class: "section-title", testid: "cast-title" });
  const list = h("ul", { class: "cast", testid: "cast-list" }, cast.nodes.map(castItem));
  const more = h("div", { class: "more" });
  const setTitle = (shown) => title.replaceChildren(shown < cast.totalCount
    ? `Cast (first ${shown} of ${cast.totalCount})` : `Cast (${cast.totalCount})`);
  setTitle(cast.nodes.length);
  if (cast.pageInfo.hasNextPage) {
    const button = h("button", { class: "button", type: "button", testid: "cast-show-all",
      onclick: async () => {
        button.disabled = true;
        button.textContent = "Loading…";
        try {
          const fetchPage = async (after) => (await gql(CAST_PAGE, { id: m.tmdbId, after })).movie.cast;
          const nodes = await rest(fetchPage, cast.pageInfo);
          append(list, nodes.map(castItem));
          setTitle(cast.totalCount);
          more.replaceChildren();
        } catch (err) {
          button.disabled = false;
          button.textContent = `Show all ${cast.totalCount}`;
          more.append(h("p", { class: "muted", role: "alert" }, `Could not load the rest: ${err.message}`));
        }
      } }, `Show all ${cast.totalCount}`);
    more.append(button);
  }
  const body = cast.nodes.length ? [list, more]
    : h("p", { class: "muted" }, "The loaded data lists no cast for this movie.");
  return h("section", { class: "card", testid: "cast" }, title, body);
}

function crewGroups(nodes) {
  const groups = new Map();
  for (const c of nodes) {
    if (!groups.has(c.department)) groups.set(c.department, []);
    groups.get(c.department).push(c);
  }
  const rank = (d) => (DEPARTMENTS.includes(d) ? DEPARTMENTS.indexOf(d) : DEPARTMENTS.length);
  return [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
}

function crewSection(m) {
  const body = h("div", { class: "crew" });
  const more = h("div", { class: "more" });
  const draw = (nodes) => body.replaceChildren(...crewGroups(nodes).map(([dept, credits], i) =>
    h("details", { class: "crew-dept", testid: "crew-department", "data-department": dept,
      open: i < 2 ? true : null },
    h("summary", {}, h("span", { class: "crew-dept-name" }, dept),
      h("span", { class: "muted small" }, ` ${credits.length}`)),
    h("ul", { class: "crew-list" }, credits.map((c) => h("li", { testid: "crew-item" },
      h("a", { href: c.person.asDirector ? href.director(c.person.tmdbId) : href.person(c.person.tmdbId) },
        c.person.name),
      h("span", { class: "muted" }, ` · ${c.job}`)))))));
  let nodes = m.crew.nodes;
  draw(nodes);
  if (m.crew.pageInfo.hasNextPage) {
    const button = h("button", { class: "button", type: "button", testid: "crew-show-all",
      onclick: async () => {
        button.disabled = true;
        const fetchPage = async (after) => (await gql(CREW_PAGE, { id: m.tmdbId, after })).movie.crew;
        nodes = nodes.concat(await rest(fetchPage, m.crew.pageInfo));
        draw(nodes);
        more.replaceChildren();
      } }, `Show all ${m.crew.totalCount}`);
    more.append(button);
  }
  return section(`Crew (${m.crew.totalCount})`, "crew", body, more);
}

function linkedChips(items, make, testid, cls = "") {
  return h("div", { class: "chips" }, items.map((x) => chip(x.name, cls, make(x), testid)));
}

export async function movieView({ id }) {
  const { movie: m } = await gql(MOVIE_QUERY, { id: Number(id) });
  document.title = `${m.title} (${m.releaseYear}) · movies-graph`;
  const meta = [String(m.releaseYear)];
  if (m.runtime) meta.push(`${Math.round(m.runtime)} min`);
  if (m.originalLanguage) meta.push(languageName(m.originalLanguage));
  const people = m.hasCredits
    ? [castSection(m), m.crew.totalCount ? crewSection(m) : null]
    : [h("section", { class: "card notice", testid: "no-credits" },
      h("h2", { class: "section-title" }, "Cast and crew"),
      h("p", {}, "The loaded data has no cast or crew credits for this movie "
        + "(the data, not the film: its credits row is not in the files this server was built from)."))];
  return h("div", { class: "stack" },
    h("article", { class: "card movie", testid: "movie-view" },
      h("div", { class: "movie-head" },
        poster(m, "poster-lg"),
        h("div", { class: "movie-facts" },
          h("p", { class: "eyebrow" }, "Movie"),
          h("h1", { testid: "movie-title" }, m.title),
          h("p", { class: "meta", testid: "movie-meta" }, meta.join(" · "),
            m.collection ? [" · ", h("a", { href: href.collection(m.collection.tmdbId),
              testid: "collection-link" }, m.collection.name)] : null),
          m.genres.length
            ? h("div", { class: "chips", testid: "movie-genres" }, m.genres.map((g) =>
              chip(g.name, "", href.browse({ genre: g.name }), "genre-chip")))
            : null,
          m.tagline ? h("p", { class: "tagline" }, m.tagline) : null,
          m.overview ? h("p", { class: "overview" }, m.overview) : null,
          h("p", { class: "directors", testid: "movie-directors" },
            m.directors.length ? "Directed by "
              : (m.hasCredits ? "No director in the loaded credits" : "No credits in the loaded data"),
            m.directors.map((d, i) => [i ? ", " : "",
              h("a", { href: href.director(d.tmdbId), testid: "director-link" }, d.name)])))),
      h("div", { class: "stats" },
        stat("Score (popularity)", fmtFixed(m.popularity, 1), "movie-popularity"),
        stat(`Votes (${fmtInt(m.voteCount)})`, `★ ${fmtFixed(m.voteAverage, 1)}`, "movie-votes"),
        stat("Budget", fmtMoney(m.budget), "movie-budget"),
        stat("Revenue", fmtMoney(m.revenue), "movie-revenue"),
        stat("Return", fmtReturn(m.return), "movie-return"))),
    ...people,
    m.keywords.length || m.companies.length
      ? h("section", { class: "card", testid: "movie-tags" },
        m.keywords.length ? [h("h2", { class: "section-title" }, `Keywords (${m.keywords.length})`),
          linkedChips(m.keywords, (k) => href.keyword(k.tmdbId), "keyword-chip", "chip-quiet")] : null,
        m.companies.length ? [h("h2", { class: "section-title spaced" },
          `Production companies (${m.companies.length})`),
        linkedChips(m.companies, (c) => href.company(c.tmdbId), "company-chip", "chip-quiet")] : null)
      : null,
    deferred(() => similarSection(m.tmdbId), "Could not load recommendations"));
}
