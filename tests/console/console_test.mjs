// The web console end to end (issue 14, deliverable 4), driven by playwright-core in Debian's
// headless Chromium against the real hsmsignd that console_test.sh started. Every check counts;
// prints "ok"/"FAIL" lines and "N passed, N failed"; exits 1 when a check failed.
//
// Environment (set by console_test.sh): HSMSIGN_CONSOLE_URL (http://127.0.0.1:PORT), AKID,
// SECRET_FILE (the secret is read from a file, never an argument), REGION, PRINCIPAL, WORK (a
// directory for downloads; out/root.pem and out/intermediate.pem in it), SHOTS (screenshots),
// CHROMIUM, CONSOLE_DIR (console/, whose node_modules has playwright-core and axe-core).
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { readFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("HSMSIGN_CONSOLE_URL"), work = env("WORK"), shots = env("SHOTS");
const require = createRequire(path.join(env("CONSOLE_DIR"), "package.json"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const secret = readFileSync(env("SECRET_FILE"), "utf8").trim();
mkdirSync(shots, { recursive: true });
for (const f of readdirSync(shots)) if (f.endsWith(".png")) rmSync(path.join(shots, f)); // this run's only
mkdirSync(path.join(work, "dl"), { recursive: true });

let passed = 0, failed = 0;
function check(what, ok, detail = "") {
  if (ok) { passed++; console.log(`ok   ${what}`); }
  else { failed++; console.log(`FAIL ${what}${detail ? `\n     ${String(detail).slice(0, 600)}` : ""}`); }
  return ok;
}
async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    const main = await page.textContent("main").catch(() => "");
    check(what, false, `${e.message || e}\n     page: ${main.replace(/\s+/g, " ").slice(0, 400)}`);
    await shot(`${what}-failed`).catch(() => {});
  }
}
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], ...opts });

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true, args: ["--no-sandbox"] });
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(20000);
const consoleErrors = [];
page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`); });
page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));

async function save(link, name) {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click(`a[data-file="${link}"]`)]);
  const to = path.join(work, "dl", name || link);
  await dl.saveAs(to);
  return to;
}

async function axe(name) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  check(`${name}: axe-core finds no serious or critical accessibility violation`, res.length === 0, res.join("; "));
}

// Tab from the top of the page until SELECTOR has the focus (keyboard navigation).
async function tabTo(name, selector) {
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.focus("body");
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) {
      return check(`${name}: ${selector} is reached with the Tab key (${i + 1} presses)`, true);
    }
  }
  return check(`${name}: ${selector} is reached with the Tab key`, false, "not within 60 presses");
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => document.getElementById("main").dataset.ready === h.slice(1), hash);
}

// The page shows no leaked JavaScript value ("null", "undefined", "NaN", "[object Object]").
// (A text node that is exactly one of those: a value the page forgot to leave out or format.)
async function sane(name) {
  const bad = await page.evaluate(() => {
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const out = [];
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      if (/^\s*(null|undefined|NaN|\[object Object\])\s*$/.test(n.nodeValue)) out.push(`${n.parentElement.id || n.parentElement.tagName}: ${n.nodeValue}`);
    }
    return out;
  });
  check(`${name}: no "null", "undefined", "NaN" or "[object Object]" on the page`, bad.length === 0, bad.join("; "));
}

async function shot(name) {
  if (!name.endsWith("-failed")) await sane(name);
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---- served with the CSP -------------------------------------------------------------------
const resp = await page.goto(`${base}/ui/`);
const csp = resp.headers()["content-security-policy"] || "";
check("GET /ui/ answers 200 with index.html", resp.status() === 200 && (await page.title()) === "hsmsign console", `status ${resp.status()}`);
check("/ui/ carries the CSP: default-src 'self', script-src 'self' (no 'unsafe-inline')",
  /default-src 'self'/.test(csp) && /script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), csp);

// ---- sign in ---------------------------------------------------------------------------------
await step("sign-in", async () => {
  await page.waitForSelector("#akid");
  await axe("sign-in");
  await tabTo("sign-in", "#signin");
  await shot("signin");
  await page.fill("#akid", env("AKID"));
  await page.fill("#secret", "wrong-secret-0000000000000000000000000000");
  await page.fill("#region", env("REGION"));
  await page.click("#signin");
  await page.waitForSelector("[role=alert]");
  const stored = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("hsmsign.")).length);
  check("a wrong secret: an error shown, nothing kept in sessionStorage", stored === 0);
  // Chromium logs the deliberate 401 as "Failed to load resource"; only that one is expected.
  check("the wrong secret's only console error is its 401", consoleErrors.length === 1 && /401/.test(consoleErrors[0]), consoleErrors.join("; "));
  consoleErrors.length = 0;
  await page.fill("#secret", secret);
  await page.click("#signin");
  await page.waitForSelector("#principal");
  const who = await page.textContent("#principal");
  check("signed in: Who am I shows the principal ARN hsmsignd sees", who === env("PRINCIPAL"), who);
  check("the header names the principal", (await page.textContent("#who")) === env("PRINCIPAL"));
  const creds = await page.evaluate(() => sessionStorage.getItem("hsmsign.credentials") || "");
  const local = await page.evaluate(() => JSON.stringify(localStorage));
  check("credentials are in sessionStorage, not localStorage", creds.includes(env("AKID")) && !local.includes(env("AKID")));
  check("Who am I shows what the policy allows", /profiles/.test(await page.textContent("main")));
  await axe("who am I");
  await shot("whoami");
});

// ---- issue a certificate with a browser-made key ----------------------------------------------
let issuedSerial = "", bobSerial = "";
await step("issue", async () => {
  await go("#/issue");
  await axe("issue");
  await tabTo("issue", "#issue");
  await page.fill("#cn", "console-e2e.example.com");
  await page.fill("#sans", "console-e2e.example.com, www.console-e2e.example.com");
  await page.selectOption("#profile", "server");
  await page.fill("#ttl", "6");
  await page.click("#issue");
  await page.waitForSelector("a[data-file='key.pem']");
  const cert = await save("cert.pem"), chain = await save("chain.pem"), key = await save("key.pem");
  const root = path.join(work, "out/root.pem"), inter = path.join(work, "out/intermediate.pem");
  let verified = "";
  try { verified = run("openssl", ["verify", "-CAfile", root, "-untrusted", inter, cert]); } catch (e) { verified = String(e.stderr); }
  check("the certificate verifies with openssl against the CA chain", /: OK/.test(verified), verified);
  let chainOk = "";
  try { chainOk = run("openssl", ["verify", "-CAfile", root, "-untrusted", chain, cert]); } catch (e) { chainOk = String(e.stderr); }
  check("the downloaded chain completes it", /: OK/.test(chainOk), chainOk);
  const certPub = run("openssl", ["x509", "-in", cert, "-noout", "-pubkey"]);
  const keyPub = run("openssl", ["pkey", "-in", key, "-pubout"]);
  check("the downloaded private key is the certificate's (made in the browser)", certPub === keyPub && /PUBLIC KEY/.test(keyPub));
  const text = run("openssl", ["x509", "-in", cert, "-noout", "-serial", "-ext", "subjectAltName"]);
  check("the certificate has the SANs asked for", /DNS:console-e2e\.example\.com/.test(text) && /DNS:www\.console-e2e\.example\.com/.test(text), text);
  issuedSerial = /serial=([0-9A-F]+)/.exec(text)[1].toLowerCase();
  await shot("issue");
});

// ---- SSH: pasted key, browser-made key, server-side key ------------------------------------------
function sshCertCheck(what, certFile, principal) {
  let out = "";
  try { out = run("ssh-keygen", ["-L", "-f", certFile]); } catch (e) { out = String(e.stderr); }
  check(`${what}: ssh-keygen -L reads the certificate, principal ${principal}`, new RegExp(`Principals:\\s*\\n\\s*${principal}\\b`).test(out), out);
}
function sshPairCheck(what, priv, pub) {
  let derived = "";
  try { run("chmod", ["600", priv]); derived = run("ssh-keygen", ["-y", "-f", priv]).trim(); } catch (e) { derived = String(e.stderr); }
  const want = readFileSync(pub, "utf8").trim().split(" ").slice(0, 2).join(" ");
  check(`${what}: ssh-keygen -y reads the private key file and it matches the public key`, derived.split(" ").slice(0, 2).join(" ") === want, derived);
}

await step("ssh", async () => {
  await go("#/ssh");
  await page.waitForSelector("#user-ca");
  check("the SSH page shows the TrustedUserCAKeys line and the @cert-authority line",
    /TrustedUserCAKeys/.test(await page.textContent("#user-ca")) && /^@cert-authority \* ecdsa-sha2-nistp256 /.test(await page.textContent("#host-ca")));
  await axe("ssh");
  await tabTo("ssh", "#ssh-submit");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "pasted", "-f", path.join(work, "pasted")]);
  await page.fill("#pubkey", readFileSync(path.join(work, "pasted.pub"), "utf8"));
  await page.fill("#principals", "alice");
  await page.click("#ssh-submit");
  await page.waitForSelector("a[data-file='id_ed25519-cert.pub']");
  sshCertCheck("a pasted key", await save("id_ed25519-cert.pub", "pasted-cert.pub"), "alice");
  await sane("ssh (a pasted key's result)");

  await page.check("input[name=sshmode][value=browser]");
  await page.fill("#principals", "bob");
  await page.click("#ssh-submit");
  await page.waitForFunction(() => /for bob/.test(document.getElementById("ssh-result").textContent));
  const name = await page.getAttribute("#ssh-result a[data-file^='id_']:not([data-file$='.pub'])", "data-file");
  const priv = await save(name, "browser-key"), pub = await save(`${name}.pub`, "browser-key.pub");
  sshCertCheck("a browser-made key", await save(`${name}-cert.pub`, "browser-key-cert.pub"), "bob");
  bobSerial = /Certificate serial ([0-9]+)/.exec(await page.textContent("#ssh-result"))[1];
  sshPairCheck(`a browser-made ${name}`, priv, pub);

  await page.selectOption("#browserkeytype", "ecdsa");
  await page.fill("#principals", "dave");
  await page.click("#ssh-submit");
  await page.waitForFunction(() => /for dave/.test(document.getElementById("ssh-result").textContent));
  const epriv = await save("id_ecdsa", "browser-ecdsa"), epub = await save("id_ecdsa.pub", "browser-ecdsa.pub");
  sshCertCheck("a browser-made ECDSA P-256 key", await save("id_ecdsa-cert.pub", "browser-ecdsa-cert.pub"), "dave");
  sshPairCheck("a browser-made id_ecdsa", epriv, epub);

  await page.check("input[name=sshmode][value=server]");
  await page.selectOption("#sshkeytype", "ed25519");
  await page.fill("#principals", "carol");
  await page.click("#ssh-submit");
  await page.waitForFunction(() => /for carol/.test(document.getElementById("ssh-result").textContent), null, { timeout: 60000 });
  const spriv = await save("id_ed25519", "server-key"), spub = await save("id_ed25519.pub", "server-key.pub");
  sshCertCheck("a server-side key (sealed to the page)", await save("id_ed25519-cert.pub", "server-key-cert.pub"), "carol");
  sshPairCheck("a server-side key opened from its sealed box", spriv, spub);
  await shot("ssh");
});

// ---- inventory: find by name, detail, revoke ----------------------------------------------------
await step("inventory", async () => {
  await go("#/inventory");
  await page.waitForSelector("#inventory-table table");
  await axe("inventory");
  await tabTo("inventory", "#search");
  await page.fill("#q-serial", bobSerial);
  await page.click("#search");
  await page.waitForFunction(() => /principals/.test(document.getElementById("inventory-detail").textContent));
  check("a serial opens the SSH certificate's detail", /bob/.test(await page.textContent("#inventory-detail")) &&
    (await page.textContent("#inventory-detail")).includes(bobSerial));
  await page.fill("#q-serial", "");
  // A space in a signed query (%20, never "+"): answered, an empty page, no 401.
  await page.fill("#q-name", "no such name+");
  await page.click("#search");
  await page.waitForFunction(() => /0 certificate\(s\)|HTTP|signature/.test(document.getElementById("inventory-table").textContent));
  check("a name with a space and a plus is sent as signed (an empty page, not a 401)", /^0 certificate\(s\)/.test(await page.textContent("#inventory-table")), await page.textContent("#inventory-table"));
  await page.fill("#q-requester", env("PRINCIPAL"));
  await page.fill("#q-name", "CONSOLE-E2E");
  await page.click("#search");
  await page.waitForFunction(() => document.querySelectorAll("#inventory-table tbody tr").length > 0 &&
    !/Loading/.test(document.getElementById("inventory-table").textContent));
  const serials = await page.$$eval("#inventory-table a[data-serial]", (as) => as.map((a) => a.dataset.serial));
  check("search by name (case-insensitive) and requester ARN finds the issued certificate, and only it", serials.length === 1 && serials[0].replace(/^0+/, "") === issuedSerial.replace(/^0+/, ""), serials.join(","));
  await page.click("#inventory-table a[data-serial]");
  await page.waitForSelector("#revoke");
  await shot("inventory");
  await page.click("#revoke");
  await page.selectOption("#revoke-reason", "keyCompromise");
  await axe("revoke confirmation");
  await page.click("#revoke-confirm");
  await page.waitForFunction(() => /revoked/.test(document.getElementById("inventory-detail").textContent) && !document.getElementById("revoke"));
  check("revoked with a reason after the confirmation", /keyCompromise/.test(await page.textContent("#inventory-detail")));
});

// ---- keys and trust: the CRL counts the revocation ---------------------------------------------
await step("trust", async () => {
  await go("#/trust");
  await page.waitForSelector("#crl-revoked");
  check("the CRL page shows the revoked certificate (count 1)", (await page.textContent("#crl-revoked")) === "1");
  check("the CA chain is shown with validity bars", (await page.$$("#chain .bar")).length === 2);
  check("the JWKS and the KRL are shown", (await page.$$("#jwks tbody tr")).length >= 1 && (await page.textContent("#krl-revoked")) === "0");
  await axe("keys and trust");
  await shot("trust");
});

// ---- health ----------------------------------------------------------------------------------
await step("health", async () => {
  await go("#/health");
  await page.waitForSelector("#chart-expiry canvas");
  await page.waitForTimeout(4500);
  check("health: the token status is ok", /ok/.test(await page.textContent("#token-status")));
  check("health: three live charts and the expiry chart are drawn", (await page.$$(".uplot")).length === 4);
  const latLegend = await page.textContent("#chart-csign .u-legend");
  check("health: the latency chart has the C_Sign and inventory write series", /C_Sign/.test(latLegend) && /inventory write/.test(latLegend), latLegend);
  const exp = await page.textContent("#expiry-total");
  check("health: the expiry chart counts the good certificates expiring in 30 days (4 SSH; the X.509 one is revoked)", /^4 certificate/.test(exp), exp);
  await axe("health");
  await tabTo("health", "#signout");
  await shot("health");
});

// ---- sign out ----------------------------------------------------------------------------------
await step("sign-out", async () => {
  await page.click("#signout");
  await page.waitForSelector("#akid");
  const left = await page.evaluate(() => Object.keys(sessionStorage).length);
  check("sign-out clears sessionStorage and shows the sign-in form", left === 0);
});

check("no console error or page error on any page", consoleErrors.length === 0, consoleErrors.join("\n     "));
await browser.close();
console.log(`screenshots: ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
