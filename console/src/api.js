// The API client: SigV4-signed requests (aws4fetch) with the credentials of this browser tab's
// sessionStorage, and the public routes without a signature. Credentials are sent to nothing but
// the configured API origin (config.json "api_base", default this page's origin).
import { AwsClient } from "aws4fetch";

const CREDS_KEY = "hsmsign.credentials";
const MAX_BODY = 4 * 1024 * 1024; // bytes; an answer larger than this is refused

export const config = { api_base: "", region: "us-east-1", service: "execute-api", cognito: null };

// Reads config.json next to index.html (optional: an absent or broken file keeps the defaults:
// same origin, region us-east-1, service execute-api, no Cognito).
export async function configLoad() {
  try {
    const r = await fetch("config.json", { cache: "no-store" });
    if (!r.ok) return config;
    const c = await r.json();
    if (typeof c.api_base === "string") config.api_base = c.api_base.replace(/\/+$/, "");
    if (typeof c.region === "string" && c.region) config.region = c.region;
    if (typeof c.service === "string" && c.service) config.service = c.service;
    if (c.cognito && typeof c.cognito === "object") config.cognito = c.cognito;
  } catch {
    /* no config.json: the defaults */
  }
  return config;
}

export function credsGet() {
  try {
    const c = JSON.parse(sessionStorage.getItem(CREDS_KEY) || "null");
    return c && c.accessKeyId && c.secretAccessKey ? c : null;
  } catch {
    return null;
  }
}

export function credsSet(c) {
  sessionStorage.setItem(CREDS_KEY, JSON.stringify(c));
}

// Sign-out: every value this console put in sessionStorage goes (credentials, PKCE state).
export function credsClear() {
  for (const k of Object.keys(sessionStorage)) {
    if (k.startsWith("hsmsign.")) sessionStorage.removeItem(k);
  }
}

export class ApiError extends Error {
  constructor(status, body) {
    const b = body && typeof body === "object" ? body : {};
    const parts = [b.message || `HTTP ${status}`];
    if (b.reason) parts.push(`reason: ${b.reason}`);
    if (b.detail) parts.push(b.detail);
    super(parts.join(" — "));
    this.status = status;
    this.body = b;
  }
}

// Absolute (aws4fetch signs the host): the configured API origin, else this page's origin.
function url(path) {
  return new URL(path, config.api_base || location.origin).href;
}

async function answer(r, as) {
  const len = Number(r.headers.get("Content-Length") || "0");
  if (len > MAX_BODY) throw new ApiError(r.status, { message: "answer too large" });
  if (!r.ok) {
    let body = null;
    try {
      body = await r.json();
    } catch {
      /* not JSON */
    }
    throw new ApiError(r.status, body);
  }
  if (as === "bytes") return new Uint8Array(await r.arrayBuffer());
  if (as === "text") return r.text();
  return r.json();
}

// A signed call: METHOD PATH [JSON body]; answers the parsed JSON (or text/bytes with `as`).
export async function api(method, path, body, as = "json") {
  const c = credsGet();
  if (!c) throw new ApiError(401, { message: "not signed in" });
  const client = new AwsClient({
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken || undefined,
    region: c.region || config.region,
    service: c.service || config.service,
    retries: 0,
  });
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const r = await client.fetch(url(path), init);
  return answer(r, as);
}

// A public route, unsigned.
export async function pub(path, as = "json") {
  const r = await fetch(url(path), { cache: "no-store" });
  return answer(r, as);
}
