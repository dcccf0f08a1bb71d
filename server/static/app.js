/* movies-graph demo client: plain JavaScript, no build step, only the public GraphQL API.
 *
 * Views are chosen by the location hash (#/, #/movie/862, #/actor/31, #/director/7879) so
 * every view is linkable and the back button works. All text from the API is put into the
 * page with textContent (never innerHTML), so titles and names cannot inject markup.
 */
"use strict";

(() => {
  const ENDPOINT = "/graphql";
  const SEARCH_DEBOUNCE_MS = 200;
  const PAGE = 50;

  // ---------------------------------------------------------------- GraphQL over fetch

  class ApiError extends Error {
    constructor(errors, status) {
      super(errors.map((e) => e.message).join("; "));
      this.name = "ApiError";
      this.errors = errors;
      this.status = status;
    }
  }

  function problem(code, message) {
    return new ApiError([{ message, extensions: { code } }]);
  }

  /** POST one operation; resolves to `data`, rejects with ApiError on any GraphQL error. */
  async function gql(query, variables = {}, signal = undefined) {
    let response;
    try {
      response = await fetch(ENDPOINT, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query, variables }),
        signal,
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw problem("NETWORK_ERROR", `Could not reach the API: ${err && err.message}`);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw problem(`HTTP_${response.status}`, `The API answered ${response.status} without JSON`);
    }
    if (Array.isArray(body && body.errors) && body.errors.length) {
      throw new ApiError(body.errors, response.status);
    }
    if (!response.ok || !body || !body.data) {
      throw problem(`HTTP_${response.status}`, `The API answered ${response.status}`);
    }
    return body.data;
  }

  // ---------------------------------------------------------------- DOM helpers

  /** h("a", {href, class, testid, onclick}, ...children): a tiny element builder. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "testid") el.dataset.testid = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
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

  const fmtInt = (n) => (n === null || n === undefined ? "—" : nf.format(n));
  const fmtMoney = (n) => (n > 0 ? money.format(n) : "unknown");
  const fmtReturn = (r) => (r > 0 ? `${r.toFixed(2)}×` : "—");
  const fmtFixed = (n, digits = 2) => (n === null || n === undefined ? "—" : n.toFixed(digits));

  const movieHref = (id) => `#/movie/${id}`;
  const actorHref = (id) => `#/actor/${id}`;
  const directorHref = (id) => `#/director/${id}`;

  function loading(label = "Loading…") {
    return h("div", { class: "loading", testid: "loading", role: "status", "aria-busy": "true" },
      h("span", { class: "spinner", "aria-hidden": "true" }), label);
  }

  /** The error card: one line per GraphQL error with its extensions.code. */
  function errorBox(err, title = "Something went wrong") {
    const errors = err instanceof ApiError
      ? err.errors
      : [{ message: String((err && err.message) || err), extensions: { code: "CLIENT_ERROR" } }];
    return h("div", { class: "card error", testid: "error", role: "alert" },
      h("h2", { class: "error-title" }, title),
      h("ul", { class: "error-list" }, errors.map((e) => {
        const ext = e.extensions || {};
        const suggestions = Array.isArray(ext.suggestions) ? ext.suggestions : [];
        return h("li", {},
          h("code", { class: "error-code", testid: "error-code" }, ext.code || "ERROR"),
          h("span", { class: "error-message", testid: "error-message" }, e.message),
          suggestions.length
            ? h("span", { class: "muted" }, ` — did you mean ${suggestions.join(", ")}?`)
            : null);
      })));
  }

  function section(title, testid, ...children) {
    return h("section", { class: "card", testid },
      h("h2", { class: "section-title" }, title), ...children);
  }

  function stat(label, value, testid) {
    return h("div", { class: "stat", testid },
      h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label));
  }

  function initials(name) {
    const parts = name.split(/\s+/).filter(Boolean);
    const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : name.slice(0, 2);
    return letters.toUpperCase();
  }

  function avatar(name) {
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) % 360;
    return h("span", { class: "avatar", style: `--hue:${hash}`, "aria-hidden": "true" },
      initials(name));
  }

  function chip(text, extra = "") {
    return h("span", { class: `chip ${extra}`.trim() }, text);
  }

  // ---------------------------------------------------------------- search

  const SEARCH_QUERY = `query Search($q: String!) {
    searchMovies(query: $q, first: 8) { score movie { tmdbId title releaseYear } }
    searchPeople(query: $q, first: 6) {
      score
      person { tmdbId name asActor { tmdbId filmCount } asDirector { tmdbId filmCount } }
    }
  }`;

  const input = document.getElementById("search-input");
  const results = document.getElementById("search-results");
  let searchTimer = 0;
  let searchSeq = 0;
  let searchAbort = null;

  function showResults(...children) {
    results.replaceChildren(...children);
    results.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function hideResults() {
    results.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function movieResult(hit) {
    const m = hit.movie;
    return h("li", { class: "result" },
      h("a", { href: movieHref(m.tmdbId), class: "result-link", role: "option",
        testid: "search-result", "data-kind": "movie", "data-id": m.tmdbId },
      h("span", { class: "result-main inline" },
        h("span", { class: "result-title" }, m.title),
        h("span", { class: "muted" }, ` ${m.releaseYear}`)),
      h("span", { class: "score", title: "match quality 0–100" }, Math.round(hit.score))));
  }

  function personResult(hit) {
    const p = hit.person;
    const roles = [];
    if (p.asActor) roles.push(`actor · ${p.asActor.filmCount} film${p.asActor.filmCount === 1 ? "" : "s"}`);
    if (p.asDirector) roles.push(`director · ${p.asDirector.filmCount} film${p.asDirector.filmCount === 1 ? "" : "s"}`);
    const href = p.asActor ? actorHref(p.tmdbId) : directorHref(p.tmdbId);
    return h("li", { class: "result" },
      h("a", { href, class: "result-link", role: "option", testid: "search-result",
        "data-kind": p.asActor ? "actor" : "director", "data-id": p.tmdbId },
      h("span", { class: "result-main" },
        h("span", { class: "result-title" }, p.name),
        h("span", { class: "muted result-roles" }, roles.join(" · "))),
      h("span", { class: "score", title: "match quality 0–100" }, Math.round(hit.score))),
      p.asActor && p.asDirector
        ? h("a", { href: directorHref(p.tmdbId), class: "result-alt", role: "option",
          testid: "search-result", "data-kind": "director", "data-id": p.tmdbId },
        "as director →")
        : null);
  }

  async function runSearch(text) {
    const seq = ++searchSeq;
    if (searchAbort) searchAbort.abort();
    searchAbort = new AbortController();
    showResults(loading("Searching…"));
    try {
      const data = await gql(SEARCH_QUERY, { q: text }, searchAbort.signal);
      if (seq !== searchSeq) return;
      const groups = [
        ["Movies", "search-group-movies", data.searchMovies, movieResult],
        ["People", "search-group-people", data.searchPeople, personResult],
      ]
        .filter(([, , hits]) => hits.length)
        // The group with the better best match comes first ("chaplin" → people first).
        .sort((a, b) => b[2][0].score - a[2][0].score)
        .map(([title, testid, hits, render]) => h("div", { class: "result-group", testid },
          h("div", { class: "result-heading" }, title), h("ul", {}, hits.map(render))));
      if (!groups.length) groups.push(h("div", { class: "result-empty" }, `No match for “${text}”`));
      showResults(...groups);
    } catch (err) {
      if (err && err.name === "AbortError") return;
      if (seq === searchSeq) showResults(errorBox(err, "Search failed"));
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    const text = input.value.trim();
    if (text.length < 2) {
      searchSeq++;
      if (searchAbort) searchAbort.abort();
      hideResults();
      return;
    }
    searchTimer = setTimeout(() => runSearch(text), SEARCH_DEBOUNCE_MS);
  });

  input.addEventListener("focus", () => {
    if (input.value.trim().length >= 2 && results.childElementCount) {
      results.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
  });

  function resultLinks() {
    return [...results.querySelectorAll("a")];
  }

  function onSearchKey(event) {
    const links = resultLinks();
    const at = links.indexOf(document.activeElement);
    if (event.key === "Escape") {
      hideResults();
      input.focus();
    } else if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(at + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && links.length) {
      event.preventDefault();
      if (at <= 0) input.focus();
      else links[at - 1].focus();
    } else if (event.key === "Enter" && document.activeElement === input && links.length) {
      event.preventDefault();
      links[0].click();
    }
  }

  // Picking the view already shown changes no hash, so close the list here too.
  results.addEventListener("click", (event) => {
    if (event.target.closest("a")) hideResults();
  });
  input.addEventListener("keydown", onSearchKey);
  results.addEventListener("keydown", onSearchKey);
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".search")) hideResults();
  });

  // ---------------------------------------------------------------- home: chart + popular

  const MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);
  const WEEKDAYS = Array.from({ length: 7 }, (_, i) => i + 1);
  const CHART_QUERY = `query ReleaseChart {
${MONTHS.map((m) => `    m${m}: releasesInMonth(month: "${m}") { number name count }`).join("\n")}
${WEEKDAYS.map((d) => `    d${d}: releasesOnWeekday(day: "${d}") { number name count }`).join("\n")}
  }`;

  const HOME_QUERY = `query Home {
    movies(first: 12, sort: POPULARITY) {
      nodes { tmdbId title releaseYear popularity voteAverage genres { name } }
    }
  }`;

  function bars(title, rows, testid, barTestid) {
    const max = Math.max(1, ...rows.map((r) => r.count));
    const total = rows.reduce((sum, r) => sum + r.count, 0);
    return h("figure", { class: "chart", testid },
      h("figcaption", {}, h("span", {}, title), h("span", { class: "muted" }, `${fmtInt(total)} movies`)),
      h("ol", { class: "bars", style: `--n:${rows.length}` }, rows.map((r) => {
        const label = `${r.name}: ${fmtInt(r.count)} movies`;
        return h("li", { class: "bar", testid: barTestid, title: label, "aria-label": label,
          "data-count": r.count },
        h("span", { class: "bar-value" }, fmtInt(r.count)),
        h("span", { class: "bar-track" },
          h("span", { class: "bar-fill", style: `height:${((r.count / max) * 100).toFixed(1)}%` })),
        h("span", { class: "bar-label" }, r.name.slice(0, 3)));
      })));
  }

  async function chartCard() {
    const data = await gql(CHART_QUERY);
    const months = MONTHS.map((m) => data[`m${m}`]);
    const days = WEEKDAYS.map((d) => data[`d${d}`]);
    return h("section", { class: "card", testid: "release-chart" },
      h("h2", { class: "section-title" }, "When movies are released"),
      h("div", { class: "charts" },
        bars("By month", months, "month-chart", "month-bar"),
        bars("By weekday", days, "weekday-chart", "weekday-bar")));
  }

  function movieCard(m) {
    return h("li", { class: "tile", testid: "popular-movie" },
      h("a", { href: movieHref(m.tmdbId), class: "tile-title" }, m.title),
      h("div", { class: "muted" }, `${m.releaseYear} · ★ ${fmtFixed(m.voteAverage, 1)}`),
      h("div", { class: "chips" }, m.genres.slice(0, 3).map((g) => chip(g.name))));
  }

  /** Render a card now (loading), fill it when its own request settles. */
  function deferred(promise, title) {
    const slot = h("div", { class: "slot" }, loading());
    promise.then(
      (node) => slot.replaceChildren(node),
      (err) => slot.replaceChildren(errorBox(err, title)),
    );
    return slot;
  }

  async function homeView() {
    document.title = "movies-graph";
    const popular = gql(HOME_QUERY).then((data) =>
      section("Most popular", "popular", h("ul", { class: "tiles" }, data.movies.nodes.map(movieCard))));
    return h("div", { class: "stack" },
      h("div", { class: "hero" },
        h("h1", {}, "Explore The Movies Dataset"),
        h("p", { class: "muted" },
          "Search a title or a person above. Every name and title is a link: walk from a movie "
          + "to its cast, from an actor to their films, and on to similar movies.")),
      deferred(chartCard(), "Could not load the release chart"),
      deferred(popular, "Could not load popular movies"));
  }

  // ---------------------------------------------------------------- movie view

  const MOVIE_QUERY = `query MovieView($id: Int!) {
    movie(id: $id) {
      tmdbId title tagline overview releaseDate releaseYear runtime originalLanguage
      popularity voteAverage voteCount budget revenue return
      genres { name }
      collection { name }
      directors { tmdbId name }
      cast(first: 15) { totalCount nodes { character order actor { tmdbId name } } }
    }
  }`;

  const SIMILAR_QUERY = `query Similar($id: Int!) {
    movie(id: $id) {
      tmdbId
      similar(n: 8) { score reasons { kind names } movie { tmdbId title releaseYear } }
    }
  }`;

  const REASON_LABEL = {
    COLLECTION: "Collection", DIRECTOR: "Director", GENRE: "Genre", KEYWORD: "Keywords", CAST: "Cast",
  };

  function recommendation(rec) {
    const m = rec.movie;
    return h("li", { class: "rec", testid: "recommendation", "data-id": m.tmdbId },
      h("div", { class: "rec-head" },
        h("a", { href: movieHref(m.tmdbId), class: "rec-title", testid: "recommendation-title" }, m.title),
        h("span", { class: "muted" }, m.releaseYear)),
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

  async function movieView({ id }) {
    const { movie: m } = await gql(MOVIE_QUERY, { id: Number(id) });
    document.title = `${m.title} (${m.releaseYear}) · movies-graph`;
    const meta = [String(m.releaseYear)];
    if (m.runtime) meta.push(`${Math.round(m.runtime)} min`);
    if (m.originalLanguage) meta.push(m.originalLanguage.toUpperCase());
    const cast = m.cast.nodes;
    return h("div", { class: "stack" },
      h("article", { class: "card movie", testid: "movie-view" },
        h("p", { class: "eyebrow" }, "Movie"),
        h("h1", { testid: "movie-title" }, m.title),
        h("p", { class: "meta", testid: "movie-meta" }, meta.join(" · "),
          m.collection ? h("span", { class: "muted" }, ` · ${m.collection.name}`) : null),
        m.genres.length
          ? h("div", { class: "chips", testid: "movie-genres" }, m.genres.map((g) => chip(g.name)))
          : null,
        m.tagline ? h("p", { class: "tagline" }, m.tagline) : null,
        m.overview ? h("p", { class: "overview" }, m.overview) : null,
        h("p", { class: "directors", testid: "movie-directors" },
          m.directors.length ? "Directed by " : "Director unknown",
          m.directors.map((d, i) => [i ? ", " : "",
            h("a", { href: directorHref(d.tmdbId), testid: "director-link" }, d.name)])),
        h("div", { class: "stats" },
          stat("Score (popularity)", fmtFixed(m.popularity, 1), "movie-popularity"),
          stat(`Votes (${fmtInt(m.voteCount)})`, `★ ${fmtFixed(m.voteAverage, 1)}`, "movie-votes"),
          stat("Budget", fmtMoney(m.budget), "movie-budget"),
          stat("Revenue", fmtMoney(m.revenue), "movie-revenue"),
          stat("Return", fmtReturn(m.return), "movie-return"))),
      section(`Cast${m.cast.totalCount > cast.length ? ` (first ${cast.length} of ${m.cast.totalCount})` : ""}`,
        "cast",
        cast.length
          ? h("ul", { class: "cast" }, cast.map((c) =>
            h("li", { class: "cast-item", testid: "cast-item" },
              avatar(c.actor.name),
              h("span", { class: "cast-text" },
                h("a", { href: actorHref(c.actor.tmdbId), testid: "cast-actor" }, c.actor.name),
                h("span", { class: "muted character", testid: "cast-character" },
                  c.character || "—")))))
          : h("p", { class: "muted" }, "No cast credits in the data.")),
      deferred(similarSection(m.tmdbId), "Could not load recommendations"));
  }

  // ---------------------------------------------------------------- actor / director views

  const ACTOR_QUERY = `query ActorView($id: Int!, $first: Int!, $after: String) {
    actor(id: $id) {
      tmdbId name filmCount totalReturn averageReturn sentence
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
      tmdbId name filmCount totalReturn averageReturn sentence
      asActor { tmdbId filmCount }
      movies(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { tmdbId title releaseYear releaseDate budget revenue return profit }
      }
    }
  }`;

  function personHeader(kind, p, other) {
    return h("article", { class: "card person", testid: `${kind}-view` },
      h("div", { class: "person-head" },
        avatar(p.name),
        h("div", {},
          h("p", { class: "eyebrow" }, kind === "actor" ? "Actor" : "Director"),
          h("h1", { testid: `${kind}-name` }, p.name))),
      h("div", { class: "stats" },
        stat(kind === "actor" ? "Films acted in" : "Films directed", fmtInt(p.filmCount),
          `${kind}-film-count`),
        stat("Total return", fmtFixed(p.totalReturn), `${kind}-total-return`),
        stat("Average return", fmtFixed(p.averageReturn), `${kind}-average-return`)),
      h("blockquote", { class: "sentence", lang: "es", testid: `${kind}-sentence` }, p.sentence),
      other);
  }

  /** A film list whose "Show more" button fetches the next page with the cursor. */
  function pagedList(connection, renderItem, fetchPage, testid) {
    const list = h("ol", { class: "films", testid });
    const more = h("div", { class: "more" });
    function add(conn) {
      append(list, conn.nodes.map(renderItem));
      more.replaceChildren();
      if (conn.pageInfo.hasNextPage) {
        const button = h("button", { class: "button", type: "button", testid: "load-more",
          onclick: async () => {
            button.disabled = true;
            button.textContent = "Loading…";
            try {
              add(await fetchPage(conn.pageInfo.endCursor));
            } catch (err) {
              more.replaceChildren(errorBox(err, "Could not load more"));
            }
          } }, "Show more");
        more.append(button);
      }
    }
    add(connection);
    return [list, more];
  }

  async function actorView({ id }) {
    const vars = { id: Number(id), first: PAGE };
    const { actor: a } = await gql(ACTOR_QUERY, vars);
    document.title = `${a.name} · actor · movies-graph`;
    // An actor may play several characters in one film: one row per film.
    const merge = (nodes) => {
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
    };
    const film = (row) => h("li", { class: "film", testid: "film-item" },
      h("span", { class: "film-year" }, row.movie.releaseYear),
      h("span", { class: "film-main" },
        h("a", { href: movieHref(row.movie.tmdbId), testid: "film-link" }, row.movie.title),
        row.characters.length
          ? h("span", { class: "muted character" }, ` as ${row.characters.join(" / ")}`)
          : null),
      h("span", { class: "film-extra muted", title: "return" }, fmtReturn(row.movie.return)));
    const fetchPage = async (after) => {
      const data = await gql(ACTOR_QUERY, { ...vars, after });
      return { ...data.actor.credits, nodes: merge(data.actor.credits.nodes) };
    };
    const first = { ...a.credits, nodes: merge(a.credits.nodes) };
    const other = a.asDirector
      ? h("p", { class: "other-role" }, "Also directed ",
        h("a", { href: directorHref(a.tmdbId), testid: "other-role-link" },
          `${a.asDirector.filmCount} film${a.asDirector.filmCount === 1 ? "" : "s"} →`))
      : null;
    return h("div", { class: "stack" },
      personHeader("actor", a, other),
      section("Films", "actor-films", pagedList(first, film, fetchPage, "film-list")));
  }

  async function directorView({ id }) {
    const vars = { id: Number(id), first: PAGE };
    const { director: d } = await gql(DIRECTOR_QUERY, vars);
    document.title = `${d.name} · director · movies-graph`;
    const film = (m) => h("li", { class: "film", testid: "film-item" },
      h("span", { class: "film-year" }, m.releaseYear),
      h("span", { class: "film-main" },
        h("a", { href: movieHref(m.tmdbId), testid: "film-link" }, m.title),
        h("span", { class: "film-money muted" },
          `budget ${fmtMoney(m.budget)} · revenue ${fmtMoney(m.revenue)}`
          + (m.budget > 0 && m.revenue > 0 ? ` · profit ${fmtMoney(m.profit)}` : ""))),
      h("span", { class: "film-extra muted", title: "return" }, fmtReturn(m.return)));
    const fetchPage = async (after) => (await gql(DIRECTOR_QUERY, { ...vars, after })).director.movies;
    const other = d.asActor
      ? h("p", { class: "other-role" }, "Also acted in ",
        h("a", { href: actorHref(d.tmdbId), testid: "other-role-link" },
          `${d.asActor.filmCount} film${d.asActor.filmCount === 1 ? "" : "s"} →`))
      : null;
    return h("div", { class: "stack" },
      personHeader("director", d, other),
      section("Films directed", "director-films", pagedList(d.movies, film, fetchPage, "film-list")));
  }

  // ---------------------------------------------------------------- router

  const ROUTES = [
    [/^\/?$/, homeView],
    [/^\/movie\/(?<id>\d+)$/, movieView],
    [/^\/actor\/(?<id>\d+)$/, actorView],
    [/^\/director\/(?<id>\d+)$/, directorView],
  ];

  const view = document.getElementById("view");
  let renderSeq = 0;

  async function render() {
    const seq = ++renderSeq;
    const path = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
    hideResults();
    let handler = null;
    let params = {};
    for (const [pattern, fn] of ROUTES) {
      const match = pattern.exec(path);
      if (match) {
        handler = fn;
        params = match.groups || {};
        break;
      }
    }
    view.setAttribute("aria-busy", "true");
    view.replaceChildren(loading());
    let content;
    try {
      if (!handler) throw problem("NOT_FOUND", `No page at “${path}”`);
      content = await handler(params);
    } catch (err) {
      content = h("div", { class: "stack" }, errorBox(err),
        h("p", {}, h("a", { href: "#/" }, "← Back to the start page")));
    }
    if (seq !== renderSeq) return; // a newer navigation won
    view.replaceChildren(content);
    view.removeAttribute("aria-busy");
    window.scrollTo(0, 0);
  }

  async function buildInfo() {
    try {
      const { buildInfo: b } = await gql("query Build { buildInfo { movies people builtAt } }");
      document.getElementById("build-info").textContent =
        ` Serving ${fmtInt(b.movies)} movies and ${fmtInt(b.people)} people, built ${b.builtAt.slice(0, 10)}.`;
    } catch {
      /* the footer is decoration; the views show their own errors */
    }
  }

  window.addEventListener("hashchange", render);
  render();
  buildInfo();
})();
