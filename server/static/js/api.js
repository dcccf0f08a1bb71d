/* GraphQL over fetch: one POST per operation, errors as ApiError with readable text. */

const ENDPOINT = "/graphql";

/** What a person should read for each error code; the API's own message follows it. */
const EXPLAIN = {
  NOT_FOUND: "The loaded data has nothing by that name or id.",
  BAD_USER_INPUT: "The request was refused: one of its values is not accepted.",
  NETWORK_ERROR: "The server could not be reached. Is `movies serve` still running?",
  TIMEOUT: "The server took too long to answer.",
  QUERY_TOO_COMPLEX: "The request asks for too much at once.",
  QUERY_TOO_DEEP: "The request nests too deeply.",
  INTERNAL_SERVER_ERROR: "The server hit an unexpected error.",
  GRAPHQL_VALIDATION_FAILED: "The page sent a query this server does not understand.",
  GRAPHQL_PARSE_FAILED: "The page sent a malformed query.",
};

export class ApiError extends Error {
  constructor(errors, status) {
    super(errors.map((e) => e.message).join("; "));
    this.name = "ApiError";
    this.errors = errors;
    this.status = status;
  }

  get codes() {
    return this.errors.map((e) => (e.extensions && e.extensions.code) || "ERROR");
  }

  /** True when every error says the thing asked for does not exist. */
  get notFound() {
    return this.codes.every((c) => c === "NOT_FOUND");
  }
}

export function problem(code, message) {
  return new ApiError([{ message, extensions: { code } }]);
}

export function explain(code) {
  if (EXPLAIN[code]) return EXPLAIN[code];
  if (/^HTTP_5/.test(code)) return "The server answered with an error.";
  if (/^HTTP_4/.test(code)) return "The server refused the request.";
  return "Something went wrong.";
}

/** POST one operation; resolves to `data`, rejects with ApiError on any GraphQL error. */
export async function gql(query, variables = {}, signal = undefined) {
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

/** The API's global id of a type and key (base64 of "Type:key"), for `node(id)`. */
export function globalId(type, key) {
  return btoa(`${type}:${key}`);
}
