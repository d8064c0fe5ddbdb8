// Diagnostic: the least a Node relay can cost. Each blob is read from the source registry and its
// response body handed straight to a monolithic upload PUT on the target, N at a time, with no
// size check, no retries, no auth and no progress (and no digest check unless `sha256` is given:
// then a Transform hashes every byte on the way, as acr-import does); then the manifests are PUT
// from the fixture's files, children before parents, like the floor. Two HTTP clients: undici
// (what acr-import uses) and node:http (Node's native parser, which costs less per byte). Plain
// JavaScript run by plain node, so that no loader adds start-up CPU. Used by cpu-split.ts; not
// part of the bench.
//   node bench/tools/node-relay.mjs <undici|http> <job.json> [sha256]
// job.json: { sourceUrl, sourceRepo, targetUrl, targetRepo, tag, parallel, blobs: [{digest,size}],
//             manifests: [{digest, mediaType, path, depth}] }
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Transform } from 'node:stream';

const [clientName, jobFile, check] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, 'utf8'));

/** Each client: `get(url)` → a readable body; `send(method, url, headers, body)` → { status, headers, text }. */
const clients = {
  async undici() {
    // Loaded only for this client: with undici merely loaded, node:http's relay cost more CPU.
    const { Agent, request } = await import('undici');
    const dispatcher = new Agent({ connections: 16 });
    return {
      async get(url) {
        const res = await request(url, { dispatcher });
        if (res.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
        return res.body;
      },
      async send(method, url, headers, body) {
        const res = await request(url, { method, headers, body, dispatcher });
        return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
      },
      close: () => dispatcher.close(),
    };
  },
  http() {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    return {
      get: (url) =>
        new Promise((resolve, reject) => {
          http.get(url, { agent }, (res) => (res.statusCode === 200 ? resolve(res) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`)))).on('error', reject);
        }),
      send: (method, url, headers, body) =>
        new Promise((resolve, reject) => {
          const req = http.request(url, { method, headers, agent }, (res) => {
            const parts = [];
            res.on('data', (c) => parts.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString() }));
          });
          req.on('error', reject);
          if (body && typeof body.pipe === 'function') body.pipe(req);
          else req.end(body);
        }),
      close: () => agent.destroy(),
    };
  },
};
if (!clients[clientName] || (check && check !== 'sha256')) throw new Error('usage: node-relay.mjs <undici|http> <job.json> [sha256]');
const client = await clients[clientName]();

function expect(res, status, what) {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}

async function relayBlob(blob) {
  const post = expect(await client.send('POST', `${job.targetUrl}/v2/${job.targetRepo}/blobs/uploads/`, { 'content-length': '0' }), 202, 'POST');
  const location = new URL(post.headers.location, job.targetUrl);
  location.searchParams.set('digest', blob.digest);
  let body = await client.get(`${job.sourceUrl}/v2/${job.sourceRepo}/blobs/${blob.digest}`);
  if (check) {
    const hash = createHash('sha256');
    const source = body;
    body = new Transform({
      transform(chunk, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
      flush(callback) {
        const got = `sha256:${hash.digest('hex')}`;
        callback(got === blob.digest ? null : new Error(`${blob.digest} hashes to ${got}`));
      },
    });
    source.pipe(body);
  }
  expect(await client.send('PUT', location.toString(), { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) }, body), 201, `PUT ${blob.digest}`);
}

// Largest first, `parallel` at a time.
const queue = [...job.blobs].sort((a, b) => b.size - a.size);
await Promise.all(
  Array.from({ length: job.parallel }, async () => {
    for (let b = queue.shift(); b; b = queue.shift()) await relayBlob(b);
  }),
);
const depths = [...new Set(job.manifests.map((m) => m.depth))].sort((a, b) => b - a);
for (const depth of depths) {
  await Promise.all(
    job.manifests
      .filter((m) => m.depth === depth)
      .map(async (m) => {
        const ref = depth === 0 ? job.tag : m.digest;
        const bytes = readFileSync(m.path);
        expect(await client.send('PUT', `${job.targetUrl}/v2/${job.targetRepo}/manifests/${ref}`, { 'content-type': m.mediaType, 'content-length': String(bytes.length) }, bytes), 201, `PUT manifest ${ref}`);
      }),
  );
}
await client.close();
