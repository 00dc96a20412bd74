#!/usr/bin/env node
// replay.mjs - an independent reader of a Delta table, written from the Delta protocol
// (PROTOCOL.md of delta-io/delta) and the Roaring format specification, sharing no code with
// tarn: it is the proof that the _delta_log tarn publishes says what tarn's own answer says.
//
//   node replay.mjs TABLE_DIR [--version N] [--interop DIR]
//   node replay.mjs TABLE_DIR --changes START END [--interop DIR]
//
// Replays _delta_log up to version N (default: the latest): starts from the newest classic
// checkpoint at or below N (read with hyparquet), then applies the JSON commits after it in
// order (a file is keyed by path and deletion-vector id; remove drops the key, add sets it).
// Checks the protocol's reader features, reads every live data file with hyparquet, maps
// columns by field id (column mapping mode id) or physical name (mode name), drops the rows
// its deletion vector names (decoded here: Z85, DV file framing with CRC-32, RoaringBitmapArray
// with array, bitset and run containers), checks each file's stats against its rows
// (numRecords exact; minValues/maxValues bound the values; nullCount exact with tight bounds),
// and prints the rows as JSON lines sorted by their text. Any violation: a message on stderr
// and exit status 1. Struct columns are read field by field by field id, and their fields'
// stats (nested under the struct's physical name) are checked the same way.
// With --changes, prints the change data feed of versions START to END instead, as the protocol
// says to read it: a version with cdc actions is the rows of its cdc files (their _change_type
// column), any other version the rows of its adds (insert) and removes (delete) with
// dataChange; each row gets _change_type and _commit_version. A version that changes rows with
// deletion vectors but has no cdc file cannot be read that way (exit status 1).
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL, fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const opt = name => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const table = args.find((a, i) => !a.startsWith('--') && !['--version', '--interop', '--changes'].includes(args[i - 1]) && args[i - 2] !== '--changes')
const changes = args.includes('--changes') ? [Number(opt('--changes')), Number(args[args.indexOf('--changes') + 2])] : null
if (!table) { console.error('usage: node replay.mjs TABLE_DIR [--version N] [--interop DIR]'); process.exit(2) }
const interop = opt('--interop') ?? process.env.INTEROP ?? join(fileURLToPath(import.meta.url), '../../../build/interop')
const hp = await import(pathToFileURL(join(interop, 'node_modules/hyparquet/src/node.js')))
const { compressors } = await import(pathToFileURL(join(interop, 'node_modules/hyparquet-compressors/src/index.js')))

function fail(msg) { console.error(`replay: ${msg}`); process.exit(1) }

// ---- the log ----
const logDir = join(table, '_delta_log')
const names = readdirSync(logDir)
const commits = names.filter(n => /^\d{20}\.json$/.test(n)).map(n => Number(n.slice(0, 20))).sort((a, b) => a - b)
const checkpoints = names.filter(n => /^\d{20}\.checkpoint\.parquet$/.test(n)).map(n => Number(n.slice(0, 20)))
const latest = Math.max(-1, ...commits)
const target = changes ? changes[1] : opt('--version') !== undefined ? Number(opt('--version')) : latest
if (target < 0 || target > latest) fail(`no version ${target} (latest is ${latest})`)
const start = Math.max(-1, ...checkpoints.filter(v => v <= target))

const files = new Map() // key -> add action
let protocol = null, metaData = null
const dvId = dv => (dv ? `${dv.storageType}${dv.pathOrInlineDv}${dv.offset !== undefined && dv.offset !== null ? '@' + dv.offset : ''}` : '')
const key = a => `${a.path}|${dvId(a.deletionVector)}`

function apply(action) {
  if (action.protocol) protocol = action.protocol
  if (action.metaData) metaData = action.metaData
  if (action.remove) files.delete(key(action.remove))
  if (action.add) files.set(key(action.add), action.add)
}

const parsers = {
  timestampFromMilliseconds: v => BigInt(v) * 1000n,
  timestampFromMicroseconds: v => BigInt(v),
  timestampFromNanoseconds: v => BigInt(v) / 1000n,
  dateFromDays: d => new Date(d * 86400000).toISOString().slice(0, 10),
}

if (start >= 0) {
  const file = join(logDir, `${String(start).padStart(20, '0')}.checkpoint.parquet`)
  const buf = await hp.asyncBufferFromFile(file)
  const rows = await hp.parquetReadObjects({ file: buf, compressors, parsers })
  const clean = v => {
    if (v === null || v === undefined) return undefined
    if (typeof v === 'bigint') return Number(v)
    if (Array.isArray(v)) { // a MAP column reads as key/value pairs
      if (v.length && v[0] && typeof v[0] === 'object' && 'key' in v[0]) return Object.fromEntries(v.map(e => [e.key, clean(e.value)]))
      return v.map(clean)
    }
    if (typeof v === 'object') {
      const o = {}
      for (const [k, x] of Object.entries(v)) { const c = clean(x); if (c !== undefined) o[k] = c }
      return o
    }
    return v
  }
  for (const r of rows) {
    for (const kind of ['protocol', 'metaData', 'add']) {
      const v = clean(r[kind])
      if (v && Object.keys(v).length && (kind !== 'add' || v.path)) {
        if (kind === 'add' && !v.partitionValues) v.partitionValues = {}
        apply({ [kind]: v })
      }
    }
  }
}
for (const v of commits.filter(v => v > start && v <= target)) {
  const text = readFileSync(join(logDir, `${String(v).padStart(20, '0')}.json`), 'utf8')
  for (const line of text.split('\n')) if (line.trim()) apply(JSON.parse(line))
}
if (!protocol || !metaData) fail(`version ${target} has no protocol or metaData`)
if (protocol.minReaderVersion > 3) fail(`reader version ${protocol.minReaderVersion} is not supported`)
for (const f of protocol.readerFeatures ?? [])
  if (!['columnMapping', 'deletionVectors', 'timestampNtz'].includes(f)) fail(`reader feature ${f} is not supported`)

// ---- the schema ----
const schema = JSON.parse(metaData.schemaString)
const mode = metaData.configuration?.['delta.columnMapping.mode'] ?? 'none'
const columns = schema.fields.map(f => ({
  name: f.name, type: f.type,
  id: f.metadata?.['delta.columnMapping.id'],
  physical: f.metadata?.['delta.columnMapping.physicalName'] ?? f.name,
}))
const partitionColumns = metaData.partitionColumns ?? []

// ---- deletion vectors ----
const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#'
function z85decode(s) {
  if (s.length % 5) fail(`Z85 text of ${s.length} characters`)
  const out = Buffer.alloc(s.length / 5 * 4)
  for (let i = 0; i < s.length; i += 5) {
    let v = 0
    for (let k = 0; k < 5; k++) { const d = Z85.indexOf(s[i + k]); if (d < 0) fail('bad Z85 digit'); v = v * 85 + d }
    out.writeUInt32BE(v, i / 5 * 4)
  }
  return out
}
const CRC = (() => { const t = new Int32Array(256); for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1; t[n] = c } return t })()
const crc32 = b => { let c = -1; for (const x of b) c = CRC[(c ^ x) & 255] ^ (c >>> 8); return (c ^ -1) >>> 0 }

function roaring64(b) {
  if (b.readUInt32LE(0) !== 1681511377) fail('deletion vector has a bad magic number')
  const n = Number(b.readBigUInt64LE(4))
  let p = 12
  const rows = new Set()
  for (let bucket = 0; bucket < n; bucket++) {
    const high = BigInt(b.readUInt32LE(p)) << 32n; p += 4
    const cookie = b.readUInt32LE(p)
    let size, runBits = null
    if ((cookie & 0xFFFF) === 12347) { size = (cookie >>> 16) + 1; p += 4; runBits = b.subarray(p, p + Math.ceil(size / 8)); p += Math.ceil(size / 8) }
    else if (cookie === 12346) { size = b.readUInt32LE(p + 4); p += 8 }
    else fail('unknown Roaring cookie')
    const hdr = []
    for (let i = 0; i < size; i++) { hdr.push([b.readUInt16LE(p), b.readUInt16LE(p + 2) + 1]); p += 4 }
    if (!runBits || size >= 4) p += 4 * size // offsets
    for (let i = 0; i < size; i++) {
      const [k, card] = hdr[i]
      const base = high + (BigInt(k) << 16n)
      if (runBits && (runBits[i >> 3] >> (i & 7)) & 1) {
        const nr = b.readUInt16LE(p); p += 2
        for (let r = 0; r < nr; r++) {
          const s = b.readUInt16LE(p), len = b.readUInt16LE(p + 2) + 1; p += 4
          for (let x = 0; x < len; x++) rows.add(Number(base + BigInt(s + x)))
        }
      } else if (card <= 4096) {
        for (let x = 0; x < card; x++) { rows.add(Number(base + BigInt(b.readUInt16LE(p)))); p += 2 }
      } else {
        for (let x = 0; x < 65536; x++) if ((b[p + (x >> 3)] >> (x & 7)) & 1) rows.add(Number(base + BigInt(x)))
        p += 8192
      }
    }
  }
  if (p !== b.length) fail('deletion vector has bytes after its last bucket')
  return rows
}

function deletedRows(dv) {
  if (!dv) return new Set()
  let bytes
  if (dv.storageType === 'i') bytes = z85decode(dv.pathOrInlineDv).subarray(0, dv.sizeInBytes)
  else {
    let file
    if (dv.storageType === 'u') {
      const s = dv.pathOrInlineDv, prefix = s.slice(0, -20), u = z85decode(s.slice(-20)).toString('hex')
      const uuid = `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`
      file = join(table, prefix, `deletion_vector_${uuid}.bin`)
    } else if (dv.storageType === 'p') file = fileURLToPath(dv.pathOrInlineDv)
    else fail(`unknown DV storage type ${dv.storageType}`)
    const all = readFileSync(file), off = dv.offset ?? 1
    if (all[0] !== 1) fail(`${file}: DV file version ${all[0]}`)
    const size = all.readUInt32BE(off)
    if (size !== dv.sizeInBytes) fail(`${file}: DV size ${size}, the log says ${dv.sizeInBytes}`)
    bytes = all.subarray(off + 4, off + 4 + size)
    if (crc32(bytes) !== all.readUInt32BE(off + 4 + size)) fail(`${file}: DV checksum mismatch`)
  }
  const rows = roaring64(bytes)
  if (rows.size !== dv.cardinality) fail(`DV holds ${rows.size} rows, the log says ${dv.cardinality}`)
  return rows
}

// ---- values ----
function value(v, type) {
  if (v === null || v === undefined) return null
  if (v instanceof Uint8Array) return type === 'string' ? Buffer.from(v).toString('utf8') : Buffer.from(v).toString('hex')
  if (typeof v === 'bigint') {
    if (type === 'timestamp' || type === 'timestamp_ntz') {
      const ms = Number(v / 1000n), us = Number(((v % 1000000n) + 1000000n) % 1000000n)
      return new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + (us ? '.' + String(us).padStart(6, '0').replace(/0+$/, '') : '')
    }
    return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()
  }
  return v
}
function partitionValue(s, type) {
  if (s === null || s === undefined || s === '') return null
  if (['integer', 'long', 'short', 'byte', 'float', 'double'].includes(type)) return Number(s)
  if (type === 'boolean') return s === 'true'
  return s
}
const cmp = (a, b, type) => {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (type === 'timestamp' || type === 'timestamp_ntz') return Date.parse(a.replace(' ', 'T') + 'Z') - Date.parse(b.endsWith('Z') ? b : b + 'Z')
  return a < b ? -1 : a > b ? 1 : 0
}

// ---- the data files ----
// the fields of a Delta struct type, as columns
const fieldsOf = t => t.fields.map(f => ({
  name: f.name, type: f.type,
  id: f.metadata?.['delta.columnMapping.id'],
  physical: f.metadata?.['delta.columnMapping.physicalName'] ?? f.name,
}))
// a value of Delta type "type" from Parquet schema node "node": structs field by field (by field
// id in mode id, by physical name in mode name), keyed by the fields' logical names
function extract(v, type, node) {
  if (v === null || v === undefined) return null
  if (typeof type !== 'object' || type.type !== 'struct' || !node) return value(v, type)
  const o = {}
  for (const f of fieldsOf(type)) {
    const child = node.children.find(c => (mode === 'id' ? c.element.field_id === f.id : c.element.name === (mode === 'name' ? f.physical : f.name)))
    o[f.name] = child ? extract(v[child.element.name], f.type, child) : null
  }
  return o
}

// the rows of Parquet file "path" as logical columns (plus the file's _change_type, if any),
// without the positions in "deleted"
async function fileRows(path, deleted, withChangeType) {
  const buf = await hp.asyncBufferFromFile(path)
  const md = await hp.parquetMetadataAsync(buf)
  const nodes = hp.parquetSchema(md).children
  const rows = await hp.parquetReadObjects({ file: buf, metadata: md, compressors, parsers, utf8: false })
  const nodeOf = col => nodes.find(n => (mode === 'id' ? n.element.field_id === col.id : n.element.name === (mode === 'name' ? col.physical : col.name)))
  return rows.filter((r, i) => !deleted.has(i)).map(r => {
    const row = {}
    for (const col of columns) { const n = nodeOf(col); row[col.name] = n ? extract(r[n.element.name], col.type, n) : null }
    if (withChangeType) {
      if (!('_change_type' in r)) fail(`${path}: a change data file without _change_type`)
      row._change_type = Buffer.from(r._change_type).toString('utf8')
    }
    return row
  })
}

if (changes) {
  const out = []
  for (let v = changes[0]; v <= changes[1]; v++) {
    const actions = readFileSync(join(logDir, `${String(v).padStart(20, '0')}.json`), 'utf8').split('\n').filter(l => l.trim()).map(l => JSON.parse(l))
    const cdc = actions.filter(a => a.cdc).map(a => a.cdc)
    const push = (rows, type) => rows.forEach(r => out.push({ ...r, ...(type ? { _change_type: type } : {}), _commit_version: v }))
    if (cdc.length) {
      for (const c of cdc) push(await fileRows(join(table, decodeURIComponent(c.path)), new Set(), true))
      continue
    }
    for (const a of actions) {
      const f = a.add ?? a.remove
      if (!f || f.dataChange === false) continue
      if (f.deletionVector) fail(`version ${v} changes rows with deletion vectors but has no cdc files`)
      push(await fileRows(join(table, decodeURIComponent(f.path)), new Set(), false), a.add ? 'insert' : 'delete')
    }
  }
  const lines = out.map(r => JSON.stringify(r, (k, x) => (typeof x === 'bigint' ? x.toString() : x))).sort()
  process.stdout.write(lines.map(l => l + '\n').join(''))
  process.exit(0)
}

const out = []
for (const add of files.values()) {
  const path = /^[a-z][a-z0-9+.-]*:/i.test(add.path) ? fileURLToPath(add.path) : join(table, decodeURIComponent(add.path))
  if (!existsSync(path)) fail(`data file ${add.path} is missing`)
  const buf = await hp.asyncBufferFromFile(path)
  const md = await hp.parquetMetadataAsync(buf)
  const top = hp.parquetSchema(md).children.map(c => c.element)
  const nameOf = col => {
    if (mode === 'id') return top.find(e => e.field_id === col.id)?.name
    if (mode === 'name') return top.find(e => e.name === col.physical)?.name
    return top.find(e => e.name === col.name)?.name
  }
  const nodes = hp.parquetSchema(md).children
  const rows = await hp.parquetReadObjects({ file: buf, metadata: md, compressors, parsers, utf8: false })
  const deleted = deletedRows(add.deletionVector)
  const stats = add.stats ? JSON.parse(add.stats) : null
  if (stats && stats.numRecords !== rows.length) fail(`${add.path}: numRecords ${stats.numRecords}, the file has ${rows.length}`)
  const live = []
  rows.forEach((r, i) => {
    if (deleted.has(i)) return
    const row = {}
    for (const col of columns) {
      if (partitionColumns.includes(col.name)) row[col.name] = partitionValue(add.partitionValues?.[col.physical] ?? add.partitionValues?.[col.name], col.type)
      else { const pn = nameOf(col); row[col.name] = pn === undefined ? null : extract(r[pn], col.type, nodes.find(n => n.element.name === pn)) }
    }
    live.push(row)
  })
  // the statistics must describe the file (tarn keys them by physical name)
  const checkStats = (cols, get, mins, maxs, ncs, where) => {
    for (const col of cols) {
      const k = mode === 'none' ? col.name : col.physical
      if (typeof col.type === 'object' && col.type.type === 'struct') {
        checkStats(fieldsOf(col.type), r => get(r)?.[col.name] ?? null, mins?.[k], maxs?.[k], ncs?.[k], `${where}${col.name}.`)
        continue
      }
      const vals = live.map(r => get(r)?.[col.name] ?? null).filter(v => v !== null)
      const nulls = live.length - vals.length
      const mn = mins?.[k], mx = maxs?.[k], nc = ncs?.[k]
      if (nc !== undefined && stats.tightBounds !== false && nc !== nulls) fail(`${add.path}: nullCount.${where}${k} ${nc}, the file has ${nulls}`)
      for (const v of vals) {
        if (mn !== undefined && cmp(v, mn, col.type) < 0) fail(`${add.path}: ${where}${col.name} value ${v} is below minValues ${mn}`)
        if (mx !== undefined && cmp(v, mx, col.type) > 0) fail(`${add.path}: ${where}${col.name} value ${v} is above maxValues ${mx}`)
      }
    }
  }
  if (stats) checkStats(columns, r => r, stats.minValues, stats.maxValues, stats.nullCount, '')
  out.push(...live)
}
const lines = out.map(r => JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? v.toString() : v))).sort()
process.stdout.write(lines.map(l => l + '\n').join(''))
