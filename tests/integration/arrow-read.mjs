// arrow-read.mjs FILE - read an Arrow IPC stream with the apache-arrow package (an independent
// reader) and print it as one JSON document: {"fields": [{name, type, nullable}], "batches": N,
// "dictionaries": N, "rows": [[...], ...]}, where "batches" and "dictionaries" count the stream's
// RecordBatch and DictionaryBatch messages. Values are written the way tarn's format=json writes them (DuckDB's JSON
// rendering), so the two can be compared: decimals and 64-bit integers as exact number text,
// dates and times as DuckDB prints them, NaN and the infinities as strings, blobs with \xHH escapes.
// t32-arrow.sh copies this file beside its node_modules and runs it there.
import { readFileSync } from 'node:fs';
import { MessageHeader, MessageReader, tableFromIPC, Type } from 'apache-arrow';

const pad = (n, w = 2) => String(n).padStart(w, '0');

// "HH:MM:SS" plus a fraction without trailing zeros, from microseconds within a day.
function clock(us) {
    const s = us / 1000000n, frac = us % 1000000n;
    let text = `${pad(s / 3600n)}:${pad((s / 60n) % 60n)}:${pad(s % 60n)}`;
    if (frac) text += '.' + pad(frac, 6).replace(/0+$/, '');
    return text;
}

function timestamp(us, zoned) {
    let day = us / 86400000000n, rest = us % 86400000000n;
    if (rest < 0n) { rest += 86400000000n; day -= 1n; }
    const date = new Date(Number(day) * 86400000).toISOString().slice(0, 10);
    return `${date} ${clock(rest)}${zoned ? '+00' : ''}`;
}

const plural = (n, unit) => `${n} ${unit}${Math.abs(n) === 1 ? '' : 's'}`;

// DuckDB's INTERVAL text for (months, days, nanoseconds), non-negative parts.
function interval(months, days, nanos) {
    const parts = [];
    if (months >= 12) parts.push(plural(Math.floor(months / 12), 'year'));
    if (months % 12) parts.push(plural(months % 12, 'month'));
    if (days) parts.push(plural(days, 'day'));
    if (nanos || !parts.length) parts.push(clock(nanos / 1000n));
    return parts.join(' ');
}

function blob(bytes) {
    let s = '';
    for (const b of bytes) s += b >= 32 && b < 127 && b !== 92 ? String.fromCharCode(b) : '\\x' + pad(b.toString(16).toUpperCase());
    return s;
}

function decimal(v, scale) {
    let digits = String(v);
    const neg = digits.startsWith('-');
    if (neg) digits = digits.slice(1);
    if (scale > 0) {
        digits = digits.padStart(scale + 1, '0');
        digits = digits.slice(0, -scale) + '.' + digits.slice(-scale);
    }
    return (neg ? '-' : '') + digits;
}

// JSON text of value "v" of Arrow type "t".
function text(v, t) {
    if (v === null || v === undefined) return 'null';
    switch (t.typeId) {
    case Type.Int:
    case Type.Bool:
        return String(v);
    case Type.Float:
        return Number.isFinite(v) ? String(v) : JSON.stringify(Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
    case Type.Decimal:
        return decimal(v, t.scale);
    case Type.Utf8:
    case Type.LargeUtf8:
        return JSON.stringify(v);
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
        return JSON.stringify(blob(v));
    case Type.Date:
        return JSON.stringify(new Date(v).toISOString().slice(0, 10));
    case Type.Time:
        return JSON.stringify(clock(BigInt(v)));
    case Type.Timestamp: // milliseconds as a float; microseconds are exact for years before 2255
        return JSON.stringify(timestamp(BigInt(Math.round(v * 1000)), !!t.timezone));
    case Type.Interval: {
        const nanos = BigInt.asIntN(64, BigInt(v[2] >>> 0) | (BigInt(v[3]) << 32n));
        return JSON.stringify(interval(v[0], v[1], nanos));
    }
    case Type.List:
    case Type.FixedSizeList:
        return '[' + [...v].map((x) => text(x, t.children[0].type)).join(',') + ']';
    case Type.Struct:
        return '{' + t.children.map((f) => JSON.stringify(f.name) + ':' + text(v[f.name], f.type)).join(',') + '}';
    case Type.Dictionary:
        return text(v, t.dictionary);
    case Type.Map: {
        const [k, val] = t.children[0].type.children;
        return '{' + [...v].map(([key, x]) => JSON.stringify(String(key)) + ':' + text(x, val.type)).join(',') + '}';
    }
    default:
        throw new Error(`no rendering for Arrow type ${t}`);
    }
}

const bytes = readFileSync(process.argv[2]);
const table = tableFromIPC(bytes);
let batches = 0, dictionaries = 0;
const messages = new MessageReader(bytes);
for (let m; (m = messages.readMessage());) {
    if (m.headerType === MessageHeader.RecordBatch) batches++;
    if (m.headerType === MessageHeader.DictionaryBatch) dictionaries++;
    if (m.bodyLength) messages.readMessageBody(m.bodyLength);
}
const fields = table.schema.fields;
const cols = fields.map((f) => table.getChildAt(fields.indexOf(f)));
const rows = [];
for (let i = 0; i < table.numRows; i++) rows.push('[' + cols.map((c, j) => text(c.get(i), fields[j].type)).join(',') + ']');
process.stdout.write('{"fields":' + JSON.stringify(fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable }))) +
    ',"batches":' + batches + ',"dictionaries":' + dictionaries + ',"rows":[' + rows.join(',') + ']}\n');
