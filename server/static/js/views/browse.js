/* Browsing: movies(filter, sort) with a form, a keyword / company / collection's movies,
 * and free-text moviesLike. Every state is in the URL, so each view is shareable. */

import { globalId, gql } from "../api.js";
import { TILE_FIELDS, fmtInt, h, href, languageName, movieTile, pagedList, section } from "../dom.js";
import { recommendation } from "./movie.js";

const PAGE = 24;

const SORTS = [
  ["POPULARITY", "Popularity"], ["VOTE_AVERAGE", "Vote average"], ["VOTE_COUNT", "Vote count"],
  ["RELEASE_DATE", "Release date"], ["REVENUE", "Revenue"], ["TITLE", "Title"],
];

const BROWSE_QUERY = `query Browse($filter: MovieFilter, $sort: MovieSort!, $desc: Boolean!,
    $first: Int!, $after: String) {
  movies(filter: $filter, sort: $sort, descending: $desc, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { ${TILE_FIELDS} }
  }
}`;

const GENRES_QUERY = "query Genres { genres { name } }";

const GROUP_QUERY = `query Group($id: ID!, $first: Int!, $after: String) {
  node(id: $id) {
    ... on Keyword { name movies(first: $first, after: $after) { ...page } }
    ... on Company { name movies(first: $first, after: $after) { ...page } }
    ... on Collection { name movies(first: $first, after: $after) { ...page } }
  }
}
fragment page on MovieConnection {
  totalCount pageInfo { hasNextPage endCursor } nodes { ${TILE_FIELDS} }
}`;

const LIKE_QUERY = `query Like($text: String!) {
  moviesLike(text: $text, n: 20) {
    score reasons { kind names } movie { tmdbId title releaseYear posterUrl(size: W92) }
  }
}`;

/** The free-text form; submitting opens #/like?q=… */
export function likeForm(text) {
  const input = h("input", { type: "search", name: "q", value: text, testid: "like-input",
    placeholder: "e.g. a heist that goes wrong in Los Angeles", "aria-label": "Describe a movie",
    required: true, maxlength: 500 });
  return h("form", { class: "like-form", testid: "like-form", onsubmit: (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q) location.hash = href.like(q);
  } }, input, h("button", { class: "button", type: "submit" }, "Find movies"));
}

function intOrNull(value) {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : null;
}

function readParams(query) {
  const p = new URLSearchParams(query);
  const sort = SORTS.some(([key]) => key === p.get("sort")) ? p.get("sort") : "POPULARITY";
  return {
    genre: p.get("genre") || "",
    from: intOrNull(p.get("from")),
    to: intOrNull(p.get("to")),
    lang: (p.get("lang") || "").trim(),
    votes: intOrNull(p.get("votes")),
    sort,
    order: p.get("order") === "asc" ? "asc" : "desc",
  };
}

function field(label, control) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control);
}

function browseForm(state, genres) {
  const genre = h("select", { name: "genre", testid: "browse-genre" },
    h("option", { value: "" }, "Any genre"),
    genres.map((g) => h("option", { value: g, selected: g === state.genre ? true : null }, g)));
  const number = (name, value, placeholder) => h("input", { type: "number", name, inputmode: "numeric",
    value: value ?? "", placeholder, testid: `browse-${name}`, min: name === "votes" ? 0 : 1870,
    max: name === "votes" ? null : 2100 });
  const sort = h("select", { name: "sort", testid: "browse-sort" },
    SORTS.map(([key, label]) => h("option", { value: key, selected: key === state.sort ? true : null }, label)));
  const order = h("select", { name: "order", testid: "browse-order" },
    h("option", { value: "desc", selected: state.order === "desc" ? true : null }, "high to low"),
    h("option", { value: "asc", selected: state.order === "asc" ? true : null }, "low to high"));
  const form = h("form", { class: "browse-form", testid: "browse-form", onsubmit: (event) => {
    event.preventDefault();
    const params = {};
    for (const [key, value] of new FormData(form)) if (String(value).trim()) params[key] = String(value).trim();
    location.hash = href.browse(params);
  } },
  field("Genre", genre),
  field("From year", number("from", state.from, "1900")),
  field("To year", number("to", state.to, "2020")),
  field("Language", h("input", { name: "lang", value: state.lang, placeholder: "en, fr, ja…",
    maxlength: 3, testid: "browse-lang", title: "ISO 639-1 code of the original language" })),
  field("Min. votes", number("votes", state.votes, "0")),
  field("Sort by", sort),
  field("Order", order),
  h("button", { class: "button primary", type: "submit" }, "Apply"));
  return form;
}

function describe(state) {
  const parts = [];
  if (state.genre) parts.push(state.genre);
  if (state.lang) parts.push(`in ${languageName(state.lang)}`);
  if (state.from !== null && state.to !== null) parts.push(`from ${state.from} to ${state.to}`);
  else if (state.from !== null) parts.push(`from ${state.from}`);
  else if (state.to !== null) parts.push(`up to ${state.to}`);
  if (state.votes) parts.push(`with ${fmtInt(state.votes)}+ votes`);
  const sort = SORTS.find(([key]) => key === state.sort)[1].toLowerCase();
  return `${parts.length ? parts.join(" ") : "All"} movies, by ${sort}`;
}

function tiles(connection, fetchPage, testid) {
  return connection.totalCount
    ? pagedList(connection, (m) => movieTile(m, "browse-movie"), fetchPage,
      { testid, tag: "ul", cls: "tiles", label: `Show more (${fmtInt(connection.totalCount)} in all)` })
    : h("p", { class: "muted empty", testid: "browse-empty" }, "No movie in the loaded data matches.");
}

export async function browseView(_params, query) {
  const state = readParams(query);
  const filter = {};
  if (state.genre) filter.genre = state.genre;
  if (state.from !== null) filter.yearFrom = state.from;
  if (state.to !== null) filter.yearTo = state.to;
  if (state.lang) filter.language = state.lang;
  if (state.votes !== null) filter.minVotes = state.votes;
  const vars = { filter, sort: state.sort, desc: state.order === "desc", first: PAGE };
  const [{ genres }, { movies }] = await Promise.all([gql(GENRES_QUERY), gql(BROWSE_QUERY, vars)]);
  const title = describe(state);
  document.title = `${title} · movies-graph`;
  const fetchPage = async (after) => (await gql(BROWSE_QUERY, { ...vars, after })).movies;
  return h("div", { class: "stack" },
    h("section", { class: "card", testid: "browse-view" },
      h("p", { class: "eyebrow" }, "Browse"),
      h("h1", { testid: "browse-title" }, title),
      h("p", { class: "muted", testid: "browse-count" }, `${fmtInt(movies.totalCount)} movies`),
      browseForm(state, genres.map((g) => g.name).sort())),
    section("Movies", "browse-results", tiles(movies, fetchPage, "browse-list")),
    section("Or describe a movie", "like-card", likeForm("")));
}

const GROUP_KIND = { keyword: "Keyword", company: "Company", collection: "Collection" };

export function groupView(kind) {
  return async ({ id }) => {
    const type = GROUP_KIND[kind];
    const vars = { id: globalId(type, Number(id)), first: PAGE };
    const { node } = await gql(GROUP_QUERY, vars);
    document.title = `${node.name} · ${kind} · movies-graph`;
    const fetchPage = async (after) => (await gql(GROUP_QUERY, { ...vars, after })).node.movies;
    const order = kind === "collection" ? "in release order" : "most popular first";
    return h("div", { class: "stack" },
      h("section", { class: "card", testid: "browse-view" },
        h("p", { class: "eyebrow" }, type),
        h("h1", { testid: "browse-title" }, node.name),
        h("p", { class: "muted", testid: "browse-count" },
          `${fmtInt(node.movies.totalCount)} movies, ${order}`)),
      section("Movies", "browse-results", tiles(node.movies, fetchPage, "browse-list")));
  };
}

export async function likeView(_params, query) {
  const text = (new URLSearchParams(query).get("q") || "").trim();
  const form = section("Describe a movie", "like-card",
    h("p", { class: "muted small section-note" },
      "Free text, matched against every overview, tagline, genre and keyword (moviesLike)."),
    likeForm(text));
  document.title = text ? `“${text}” · movies-graph` : "Describe a movie · movies-graph";
  if (!text) return h("div", { class: "stack" }, form);
  const { moviesLike: recs } = await gql(LIKE_QUERY, { text });
  return h("div", { class: "stack" }, form,
    section(`Movies like “${text}”`, "like-results",
      recs.length
        ? h("ol", { class: "recs" }, recs.map(recommendation))
        : h("p", { class: "muted", testid: "like-empty" },
          "No movie's text shares a word with that description.")));
}
