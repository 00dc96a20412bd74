// s3-fault-proxy.mjs - an HTTP proxy between tarn and an S3 gateway that misbehaves on purpose,
// for tests/integration/t97-s3-faults.sh. Requests pass through unchanged (SigV4 signatures
// stay valid: the Host header is forwarded as sent) unless a rule matches.
//
//   node tests/s3-fault-proxy.mjs UPSTREAM_PORT PORT_FILE
// listens on a free loopback port, writes it to PORT_FILE, and serves until killed.
//
// Control (requests to /__faults, never forwarded):
//   POST /__faults  {"rules": [RULE, ...]}  replaces the rules (and clears the log)
//   GET  /__faults  {"rules": [...with "seen" and "hit"], "log": ["METHOD URL -> what", ...]}
// RULE: {"method": "GET" (default any), "path": "substring of the URL with its query",
//        "from": 1 (the first matching request it applies to), "count": 1 (how many; 0: all),
//        and one action:
//        "status": 500       answer this status with an S3 error body, not forwarded
//        "delay": MS         wait, then forward (may go with any other action)
//        "truncate": true    forward; answer half the body without Content-Length, then close
//        "flip": true        forward; answer at full length with one byte of the body changed
//        "reset": true       close the connection at once (TCP reset), not forwarded
//        "trickle": N        forward; send the whole answer at N bytes a second
//        "stall": true       read the request and never answer}
import http from 'node:http';
import fs from 'node:fs';

const [upstreamPort, portFile] = process.argv.slice(2);
if (!upstreamPort || !portFile) {
    console.error('usage: node s3-fault-proxy.mjs UPSTREAM_PORT PORT_FILE');
    process.exit(2);
}
let rules = [];
let log = [];
const LOG_MAX = 5000;

const note = (req, what) => {
    if (log.length < LOG_MAX) log.push(`${req.method} ${req.url} -> ${what}`);
};

function match(req) {
    let chosen = null;
    for (const r of rules) {
        if (r.method && r.method !== req.method) continue;
        if (r.path && !req.url.includes(r.path)) continue;
        r.seen = (r.seen || 0) + 1;
        const from = r.from || 1, count = r.count === undefined ? 1 : r.count;
        if (!chosen && r.seen >= from && (count === 0 || r.seen < from + count)) {
            r.hit = (r.hit || 0) + 1;
            chosen = r;
        }
    }
    return chosen;
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// Forward the request; resolves with {status, message, headers (raw pairs), body} or rejects.
function forward(req, body) {
    return new Promise((resolve, reject) => {
        const headers = { ...req.headers };
        delete headers.expect; // the proxy has the whole body already
        const up = http.request({
            host: '127.0.0.1', port: Number(upstreamPort), method: req.method, path: req.url,
            headers,
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({
                status: res.statusCode, message: res.statusMessage, headers: res.rawHeaders,
                body: Buffer.concat(chunks),
            }));
            res.on('error', reject);
        });
        up.on('error', reject);
        up.end(body);
    });
}

// The answer as raw bytes, with the given header changes.
function raw(ans, body, { dropLength = false, close = false } = {}) {
    let head = `HTTP/1.1 ${ans.status} ${ans.message || ''}\r\n`;
    for (let i = 0; i < ans.headers.length; i += 2) {
        const name = ans.headers[i].toLowerCase();
        if (name === 'transfer-encoding' || name === 'connection') continue;
        if (name === 'content-length') {
            if (!dropLength) head += `Content-Length: ${body.length}\r\n`;
            continue;
        }
        head += `${ans.headers[i]}: ${ans.headers[i + 1]}\r\n`;
    }
    if (close || dropLength) head += 'Connection: close\r\n';
    return Buffer.concat([Buffer.from(head + '\r\n'), body]);
}

function s3Error(res, status) {
    const code = status === 503 ? 'SlowDown' : status >= 500 ? 'InternalError' : 'InvalidRequest';
    const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
        `<Message>injected by s3-fault-proxy</Message></Error>`;
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': body.length });
    res.end(body);
}

async function handle(req, res, body) {
    if (req.url.startsWith('/__faults')) {
        if (req.method === 'POST') {
            rules = JSON.parse(body.toString() || '{}').rules || [];
            log = [];
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ rules, log }));
        return;
    }
    const r = match(req);
    const sock = req.socket;
    if (r && r.delay) await sleep(r.delay);
    if (r && r.reset) {
        note(req, 'reset');
        sock.resetAndDestroy();
        return;
    }
    if (r && r.stall) {
        note(req, 'stall');
        return; // never answered; the client gives up and closes
    }
    if (r && r.status) {
        note(req, `status ${r.status}`);
        s3Error(res, r.status);
        return;
    }
    let ans;
    try {
        ans = await forward(req, body);
    } catch (e) {
        note(req, `upstream error ${e.message}`);
        sock.destroy();
        return;
    }
    if (r && r.truncate && ans.body.length > 1) {
        note(req, `${ans.status} truncated to ${ans.body.length >> 1} of ${ans.body.length}`);
        sock.end(raw(ans, ans.body.subarray(0, ans.body.length >> 1), { dropLength: true }));
        return;
    }
    if (r && r.flip && ans.body.length > 0) {
        const b = Buffer.from(ans.body);
        b[b.length >> 1] ^= 0x20;
        note(req, `${ans.status} flipped byte ${b.length >> 1} of ${b.length}`);
        sock.end(raw(ans, b, { close: true }));
        return;
    }
    if (r && r.trickle) {
        const bytes = raw(ans, ans.body, { close: true });
        note(req, `${ans.status} trickled at ${r.trickle} bytes/s`);
        let pos = 0;
        const timer = setInterval(() => {
            if (sock.destroyed || pos >= bytes.length) {
                clearInterval(timer);
                if (!sock.destroyed) sock.end();
                return;
            }
            sock.write(bytes.subarray(pos, pos + 1));
            pos++;
        }, Math.max(1, Math.floor(1000 / r.trickle)));
        return;
    }
    note(req, String(ans.status));
    const headers = [];
    for (let i = 0; i < ans.headers.length; i += 2) {
        const name = ans.headers[i].toLowerCase();
        if (name === 'transfer-encoding' || name === 'connection' || name === 'content-length')
            continue;
        headers.push(ans.headers[i], ans.headers[i + 1]);
    }
    if (req.method !== 'HEAD' || ans.body.length) headers.push('Content-Length', String(ans.body.length));
    else {
        const i = ans.headers.findIndex((h, k) => k % 2 === 0 && h.toLowerCase() === 'content-length');
        if (i >= 0) headers.push('Content-Length', ans.headers[i + 1]);
    }
    res.writeHead(ans.status, ans.message, headers);
    res.end(req.method === 'HEAD' ? undefined : ans.body);
}

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        handle(req, res, Buffer.concat(chunks)).catch((e) => {
            note(req, `proxy error ${e.message}`);
            req.socket.destroy();
        });
    });
});
server.keepAliveTimeout = 60000;
server.requestTimeout = 0;
server.headersTimeout = 0;
server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(portFile, String(server.address().port));
});
