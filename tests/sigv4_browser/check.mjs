// Signs requests to a real hsmsignd with aws4fetch (https://github.com/mhart/aws4fetch), the
// SigV4 library the web console uses in the browser, and prints one line per request:
//   <name> <status> <body as JSON on one line>
// Usage: node check.mjs URL ACCESS_KEY_ID SECRET_FILE REGION CSR_FILE
// (the secret is read from a file, never given on the command line).
import { readFileSync } from "node:fs";
import { AwsClient } from "aws4fetch";

const [base, accessKeyId, secretFile, region, csrFile] = process.argv.slice(2);
const aws = new AwsClient({
    accessKeyId,
    secretAccessKey: readFileSync(secretFile, "utf8").trim(),
    service: "execute-api",
    region,
});

async function run(name, path, init) {
    const res = await aws.fetch(base + path, init);
    const text = await res.text();
    let body;
    try {
        body = JSON.parse(text);
    } catch {
        body = { raw: text.slice(0, 200) };
    }
    console.log(`${name} ${res.status} ${JSON.stringify(body)}`);
}

// The query as the console must build it: each name and value through encodeURIComponent (a
// space is %20, a plus sign %2B), in any order. Not URLSearchParams.toString(), which writes a
// space as '+': aws4fetch reads that '+' back as a space and signs %20, while hsmsignd (as
// RFC 3986 and AWS's SigV4 specification) reads a raw '+' as a plus sign and canonicalises it
// as %2B, so the signature cannot match (see "urlsearchparams" below).
function query(params) {
    return (
        "?" +
        Object.entries(params)
            .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v))
            .join("&")
    );
}

await run("cert", "/v1/certificates", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ csr: readFileSync(csrFile, "utf8"), profile: "client" }),
});
await run("whoami", "/v1/whoami");
await run("list-plain", "/v1/certificates" + query({ limit: "5" }));
await run(
    "list-encoded",
    "/v1/certificates" +
        query({
            status: "good",
            requester: "arn:aws:iam::123456789012:user/alice",
            name: "web 1",
            limit: "3",
        }),
);
// RFC 3986 reserved and sub-delims that encodeURIComponent leaves alone and aws4fetch encodes
// (!'()*), a plus sign (%2B), a tilde (unreserved), UTF-8.
await run(
    "list-special",
    "/v1/certificates" + query({ name: "a!b'c(d)e*f+g~h é", kind: "x509" }),
);
await run("list-raw", "/v1/certificates?kind=x509&name=web%201&limit=2");
// The pitfalls: a raw '+' in the URL, and URLSearchParams' spelling of a space.
await run("list-raw-plus", "/v1/certificates?name=web+1&kind=x509");
await run(
    "urlsearchparams",
    "/v1/certificates?" + new URLSearchParams({ name: "web 1" }).toString(),
);
await run("cursor", "/v1/certificates" + query({ limit: "1" }));
