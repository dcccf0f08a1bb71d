/* Actor, director and person views. A person id opened under the wrong role (#/actor/ID of
 * someone who only directed) goes to the role they have instead of an error. */

import { ApiError, globalId, gql } from "../api.js";
import { avatar, fmtFixed, fmtInt, fmtMoney, fmtReturn, h, href, pagedList, section, stat } from "../dom.js";

const PAGE = 50;

const ACTOR_QUERY = `query ActorView($id: Int!, $first: Int!, $after: String) {
  actor(id: $id) {
    tmdbId name filmCount totalReturn averageReturn sentence profileUrl(size: W185)
    asDirector { tmdbId filmCount }
    credits(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { character movie { tmdbId title releaseYear return } }
    }
  }
}`;

const DIRECTOR_QUERY = `query DirectorView($id: Int!, $first: Int!, $after: String) {
  director(id: $id) {
    tmdbId name filmCount totalReturn averageReturn sentence profileUrl(size: W185)
    asActor { tmdbId filmCount }
    movies(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { tmdbId title releaseYear releaseDate budget revenue return profit }
    }
  }
}`;

const PERSON_QUERY = `query PersonView($node: ID!, $first: Int!, $after: String) {
  node(id: $node) {
    ... on Person {
      tmdbId name profileUrl(size: W185)
      asActor { tmdbId filmCount }
      asDirector { tmdbId filmCount }
      crewCredits(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { job department movie { tmdbId title releaseYear } }
      }
    }
  }
}`;

const films = (n) => `${n} film${n === 1 ? "" : "s"}`;

function personHeader(kind, p, ...extra) {
  const eyebrow = { actor: "Actor", director: "Director", person: "Crew" }[kind];
  return h("article", { class: "card person", testid: `${kind}-view` },
    h("div", { class: "person-head" },
      avatar(p, "avatar-lg"),
      h("div", {},
        h("p", { class: "eyebrow" }, eyebrow),
        h("h1", { testid: `${kind}-name` }, p.name))),
    ...extra);
}

function roleLink(label, link, count) {
  return h("p", { class: "other-role" }, label,
    h("a", { href: link, testid: "other-role-link" }, `${films(count)} →`));
}

/** When the id is a person without this role, replace the URL with the role they have. */
async function redirectRole(id, err) {
  if (!(err instanceof ApiError && err.notFound)) throw err;
  let node;
  try {
    ({ node } = await gql(PERSON_QUERY, { node: globalId("Person", id), first: 1 }));
  } catch {
    throw err;
  }
  const target = node.asDirector ? href.director(id) : node.asActor ? href.actor(id) : href.person(id);
  if (target === location.hash) throw err;
  location.replace(target);
  return null; // the hashchange renders the target view
}

function mergeCharacters(nodes) {
  // An actor may play several characters in one film: one row per film.
  const rows = [];
  for (const c of nodes) {
    const last = rows[rows.length - 1];
    if (last && last.movie.tmdbId === c.movie.tmdbId) {
      if (c.character) last.characters.push(c.character);
    } else {
      rows.push({ movie: c.movie, characters: c.character ? [c.character] : [] });
    }
  }
  return rows;
}

function stats(kind, p) {
  return h("div", { class: "stats" },
    stat(kind === "actor" ? "Films acted in" : "Films directed", fmtInt(p.filmCount), `${kind}-film-count`),
    stat("Total return", fmtFixed(p.totalReturn), `${kind}-total-return`),
    stat("Average return", fmtFixed(p.averageReturn), `${kind}-average-return`));
}

export async function actorView({ id }) {
  const vars = { id: Number(id), first: PAGE };
  let a;
  try {
    ({ actor: a } = await gql(ACTOR_QUERY, vars));
  } catch (err) {
    return redirectRole(Number(id), err);
  }
  document.title = `${a.name} · actor · movies-graph`;
  const film = (row) => h("li", { class: "film", testid: "film-item" },
    h("span", { class: "film-year" }, row.movie.releaseYear),
    h("span", { class: "film-main" },
      h("a", { href: href.movie(row.movie.tmdbId), testid: "film-link" }, row.movie.title),
      row.characters.length
        ? h("span", { class: "muted character" }, ` as ${row.characters.join(" / ")}`)
        : null),
    h("span", { class: "film-extra muted", title: "return" }, fmtReturn(row.movie.return)));
  const fetchPage = async (after) => {
    const data = await gql(ACTOR_QUERY, { ...vars, after });
    return { ...data.actor.credits, nodes: mergeCharacters(data.actor.credits.nodes) };
  };
  const first = { ...a.credits, nodes: mergeCharacters(a.credits.nodes) };
  return h("div", { class: "stack" },
    personHeader("actor", a, stats("actor", a),
      h("blockquote", { class: "sentence", lang: "es", testid: "actor-sentence" }, a.sentence),
      a.asDirector ? roleLink("Also directed ", href.director(a.tmdbId), a.asDirector.filmCount) : null),
    section("Films", "actor-films", pagedList(first, film, fetchPage, { testid: "film-list" })));
}

export async function directorView({ id }) {
  const vars = { id: Number(id), first: PAGE };
  let d;
  try {
    ({ director: d } = await gql(DIRECTOR_QUERY, vars));
  } catch (err) {
    return redirectRole(Number(id), err);
  }
  document.title = `${d.name} · director · movies-graph`;
  const film = (m) => h("li", { class: "film", testid: "film-item" },
    h("span", { class: "film-year" }, m.releaseYear),
    h("span", { class: "film-main" },
      h("a", { href: href.movie(m.tmdbId), testid: "film-link" }, m.title),
      h("span", { class: "film-money muted" },
        `budget ${fmtMoney(m.budget)} · revenue ${fmtMoney(m.revenue)}`
        + (m.budget > 0 && m.revenue > 0 ? ` · profit ${fmtMoney(m.profit)}` : ""))),
    h("span", { class: "film-extra muted", title: "return" }, fmtReturn(m.return)));
  const fetchPage = async (after) => (await gql(DIRECTOR_QUERY, { ...vars, after })).director.movies;
  return h("div", { class: "stack" },
    personHeader("director", d, stats("director", d),
      h("blockquote", { class: "sentence", lang: "es", testid: "director-sentence" }, d.sentence),
      d.asActor ? roleLink("Also acted in ", href.actor(d.tmdbId), d.asActor.filmCount) : null),
    section("Films directed", "director-films", pagedList(d.movies, film, fetchPage, { testid: "film-list" })));
}

export async function personView({ id }) {
  const vars = { node: globalId("Person", Number(id)), first: PAGE };
  const { node: p } = await gql(PERSON_QUERY, vars);
  document.title = `${p.name} · movies-graph`;
  const credit = (c) => h("li", { class: "film", testid: "film-item" },
    h("span", { class: "film-year" }, c.movie.releaseYear),
    h("span", { class: "film-main" },
      h("a", { href: href.movie(c.movie.tmdbId), testid: "film-link" }, c.movie.title),
      h("span", { class: "muted character" }, ` · ${c.job} (${c.department})`)));
  const fetchPage = async (after) => (await gql(PERSON_QUERY, { ...vars, after })).node.crewCredits;
  return h("div", { class: "stack" },
    personHeader("person", p,
      p.asActor ? roleLink("Acted in ", href.actor(p.tmdbId), p.asActor.filmCount) : null,
      p.asDirector ? roleLink("Directed ", href.director(p.tmdbId), p.asDirector.filmCount) : null),
    section(`Crew credits (${fmtInt(p.crewCredits.totalCount)})`, "person-credits",
      p.crewCredits.totalCount
        ? pagedList(p.crewCredits, credit, fetchPage, { testid: "film-list" })
        : h("p", { class: "muted" }, "No crew credits in the loaded data.")));
}
