// Sign-in with Cognito (the AWS shape, config.json "cognito"): OAuth 2.0 authorization code with
// PKCE (RFC 7636, S256) against the user pool's hosted UI, then the identity pool's GetId and
// GetCredentialsForIdentity (Amazon Cognito Identity API, JSON 1.1 protocol, unsigned) for
// temporary AWS credentials. The PKCE verifier and state wait in sessionStorage for the redirect.
// config.json's cognito.provider is the identity pool's Logins key, never sent to the hosted UI.
import { b64 } from "./ssh.js";

const PKCE_KEY = "hsmsign.pkce";

function b64url(bytes) {
  return b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function domainUrl(c) {
  const d = String(c.user_pool_domain);
  return d.startsWith("https://") ? d.replace(/\/+$/, "") : `https://${d}`;
}

export async function cognitoStart(c) {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: c.client_id,
    redirect_uri: c.redirect_uri,
    scope: "openid",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(`${domainUrl(c)}/oauth2/authorize?${q}`);
}

async function identityCall(region, target, body) {
  const r = await fetch(`https://cognito-identity.${region}.amazonaws.com/`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityService.${target}`,
    },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`Cognito ${target}: ${j.message || j.__type || r.status}`);
  return j;
}

// On the redirect back (?code=&state=): trades the code for tokens, then for credentials.
// Returns {accessKeyId, secretAccessKey, sessionToken, expiration} or null when this page load
// is not a Cognito redirect.
export async function cognitoFinish(c) {
  const q = new URLSearchParams(location.search);
  const code = q.get("code");
  if (!code) return null;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", location.pathname + location.hash);
  if (!saved || saved.state !== q.get("state")) throw new Error("Cognito sign-in: state mismatch");
  const tr = await fetch(`${domainUrl(c)}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: c.client_id,
      code,
      redirect_uri: c.redirect_uri,
      code_verifier: saved.verifier,
    }),
  });
  const tokens = await tr.json();
  if (!tr.ok || !tokens.id_token) throw new Error(`Cognito token endpoint: ${tokens.error || tr.status}`);
  // The Logins key is config.json's cognito.provider (cognito-idp.REGION.amazonaws.com/POOL_ID),
  // else the ID token's issuer without "https://" (the same thing, docs/console.md).
  let key = c.provider;
  if (!key) {
    const claims = JSON.parse(atob(tokens.id_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    key = String(claims.iss).replace(/^https:\/\//, "");
  }
  const logins = { [key]: tokens.id_token };
  const id = await identityCall(c.region, "GetId", { IdentityPoolId: c.identity_pool_id, Logins: logins });
  const cr = await identityCall(c.region, "GetCredentialsForIdentity", {
    IdentityId: id.IdentityId,
    Logins: logins,
  });
  return {
    accessKeyId: cr.Credentials.AccessKeyId,
    secretAccessKey: cr.Credentials.SecretKey,
    sessionToken: cr.Credentials.SessionToken,
    expiration: cr.Credentials.Expiration,
    cognito: true,
  };
}

// Ends the hosted UI's session too (its /logout, back to redirect_uri, the sign-out URL).
export function cognitoSignOut(c) {
  const q = new URLSearchParams({ client_id: c.client_id, logout_uri: c.redirect_uri });
  location.assign(`${domainUrl(c)}/logout?${q}`);
}
