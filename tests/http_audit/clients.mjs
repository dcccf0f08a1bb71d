// Real GraphQL clients against a running server, as a frontend would use them (no browser):
//   node clients.mjs http://127.0.0.1:8000/graphql
// 1. Apollo Client (core) with its persisted-queries link and useGETForHashedQueries: the
//    first request registers the query, the next ones are hashed GETs. Its fetch keeps an
//    HTTP cache that revalidates with If-None-Match, as a browser's does, so the third
//    request is answered 304 and Apollo still gets the data.
// 2. graphql-request: a nested actor -> movies -> cast query with variables.
// Prints one JSON object (what each client sent, got and saw on the wire); the pytest test
// tests/test_http_clients.py asserts on it. Exits 1 if a client failed.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLClient } from "graphql-request";

const url = process.argv[2] ?? process.env.MOVIES_GRAPHQL_URL ?? "http://127.0.0.1:8000/graphql";

const wire = [];
const httpCache = new Map(); // GET url -> { etag, body, headers }

async function revalidatingFetch(input, init = {}) {
  const target = typeof input === "string" ? input : input.url;
  const method = (init.method ?? "GET").toUpperCase();
  const headers = new Headers(init.headers);
  const stored = method === "GET" ? httpCache.get(target) : undefined;
  if (stored) headers.set("if-none-match", stored.etag);
  const response = await fetch(input, { ...init, headers });
  const body = typeof init.body === "string" ? JSON.parse(init.body) : null;
  wire.push({
    method,
    status: response.status,
    contentType: response.headers.get("content-type"),
    etag: response.headers.get("etag"),
    cacheControl: response.headers.get("cache-control"),
    ifNoneMatch: headers.get("if-none-match"),
    accept: headers.get("accept"),
    urlHasQuery: new URL(target).searchParams.has("query"),
    urlHasHash: (new URL(target).searchParams.get("extensions") ?? "").includes("sha256Hash"),
    bodyHasQuery: Boolean(body && body.query),
  });
  if (method === "GET" && response.status === 304 && stored) {
    return new Response(stored.body, { status: 200, headers: stored.headers });
  }
  if (method === "GET" && response.ok && response.headers.get("etag")) {
    httpCache.set(target, {
      etag: response.headers.get("etag"),
      body: await response.clone().text(),
      headers: new Headers(response.headers),
    });
  }
  return response;
}

const TOY_STORY = gql`
  query ToyStory($id: Int!) {
    movie(id: $id) { tmdbId title releaseDate cast(first: 3) { nodes { order actor { name } } } }
  }
`;

const ACTOR_FILMS = `
  query ActorFilms($name: String!, $films: Int!, $cast: Int!) {
    actor(name: $name) {
      name
      movies(first: $films) {
        totalCount
        nodes { tmdbId title cast(first: $cast) { nodes { order actor { name } } } }
      }
    }
  }
`;

async function apollo() {
  const link = new PersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text).digest("hex"),
    useGETForHashedQueries: true,
  }).concat(new HttpLink({ uri: url, fetch: revalidatingFetch }));
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const results = [];
  for (let i = 0; i < 3; i += 1) {
    const wireStart = wire.length;
    const result = await client.query({
      query: TOY_STORY, variables: { id: 862 }, fetchPolicy: "network-only",
    });
    results.push({ data: result.data, error: result.error?.message ?? null,
                   wire: wire.slice(wireStart) });
  }
  return results;
}

async function graphqlRequest() {
  const client = new GraphQLClient(url);
  const { data, status, headers } = await client.rawRequest(
    ACTOR_FILMS, { name: "Tom Hanks", films: 10, cast: 3 });
  return { data, status, contentType: headers.get("content-type") };
}

const report = {};
let failed = false;
for (const [name, run] of [["apollo", apollo], ["graphqlRequest", graphqlRequest]]) {
  try {
    report[name] = await run();
  } catch (error) {
    failed = true;
    report[name] = { failure: String(error?.stack ?? error) };
  }
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
