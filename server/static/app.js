/* movies-graph demo client: plain JavaScript ES modules, no build step, only the public
 * GraphQL API. Views are chosen by the location hash (#/, #/movie/862, #/actor/31,
 * #/browse?genre=Drama, #/search?q=heat, …) so every view is linkable and the back button
 * works. */

import { gql, problem } from "./js/api.js";
import { errorBox, fmtInt, h, loading } from "./js/dom.js";
import { initSearch } from "./js/search.js";
import { browseView, groupView, likeView } from "./js/views/browse.js";
import { homeView } from "./js/views/home.js";
import { movieView } from "./js/views/movie.js";
import { actorView, directorView, personView } from "./js/views/people.js";
import { resultsView } from "./js/views/results.js";

const ROUTES = [
  [/^\/?$/, homeView],
  [/^\/movie\/(?<id>\d+)$/, movieView],
  [/^\/actor\/(?<id>\d+)$/, actorView],
  [/^\/director\/(?<id>\d+)$/, directorView],
  [/^\/person\/(?<id>\d+)$/, personView],
  [/^\/keyword\/(?<id>\d+)$/, groupView("keyword")],
  [/^\/company\/(?<id>\d+)$/, groupView("company")],
  [/^\/collection\/(?<id>\d+)$/, groupView("collection")],
  [/^\/browse$/, browseView],
  [/^\/search$/, resultsView],
  [/^\/like$/, likeView],
];

const view = document.getElementById("view");
const app = { search: initSearch() };
let renderSeq = 0;

function route(hash) {
  const raw = hash.replace(/^#/, "");
  const at = raw.indexOf("?");
  // Throws URIError on a malformed escape (#/%E0): the caller shows it as a page error.
  const path = decodeURIComponent(at < 0 ? raw : raw.slice(0, at)) || "/";
  const query = at < 0 ? "" : raw.slice(at + 1);
  for (const [pattern, handler] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { handler, params: match.groups || {}, query };
  }
  throw problem("NOT_FOUND", `No page at “#${path}”`);
}

async function render() {
  const seq = ++renderSeq;
  app.search.hide();
  view.setAttribute("aria-busy", "true");
  view.replaceChildren(loading());
  let content;
  let found = null;
  try {
    try {
      found = route(location.hash);
    } catch (err) {
      if (err instanceof URIError) throw problem("NOT_FOUND", `No page at “${location.hash}”: the address is not valid`);
      throw err;
    }
    content = await found.handler(found.params, found.query, app);
  } catch (err) {
    // Retrying helps a failed request, never an address that matches no page.
    content = h("div", { class: "stack" }, errorBox(err, "Could not show this page", found && render),
      h("p", {}, h("a", { href: "#/" }, "← Back to the start page")));
  }
  if (seq !== renderSeq || content === null) return; // a newer navigation won, or redirected
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
