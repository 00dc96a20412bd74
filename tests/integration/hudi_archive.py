#!/usr/bin/env python3
"""hudi_archive.py - archive the oldest instants of a Hudi table the way Hudi's archiver does, so
the Hudi suites can read tables whose timeline no longer starts at the first commit (no fixture
has archived instants). The named instants' files leave the active timeline.

Table version 6 (layout 1): their completed metadata becomes HoodieArchivedMetaEntry records
(commitTime, actionType, version, actionState, and for a replacecommit hoodieReplaceCommitMetadata
with its partitionToReplaceFileIds) in one Avro data block of the Hudi log file
.hoodie/archived/.commits_.archive.1_1-0-1.

Table versions 8 and 9 (layout 2): prints, on stdout, a SELECT of HoodieLSMTimelineInstant rows
(instantTime, completionTime, action, metadata = the completed instant file's bytes, plan,
version) for the caller to write as a Parquet file into .hoodie/timeline/history/.

usage: hudi_archive.py TABLE INSTANT...
"""
import json
import os
import struct
import sys


def zigzag(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def avro_string(s):
    b = s.encode()
    return zigzag(len(b)) + b


def optional_string(s):
    return zigzag(0) if s is None else zigzag(1) + avro_string(s)


ENTRY_SCHEMA = {
    "type": "record", "name": "HoodieArchivedMetaEntry", "namespace": "org.apache.hudi.avro.model",
    "fields": [
        {"name": "commitTime", "type": ["null", "string"], "default": None},
        {"name": "actionType", "type": ["null", "string"], "default": None},
        {"name": "version", "type": ["int", "null"], "default": 1},
        {"name": "actionState", "type": ["null", "string"], "default": None},
        {"name": "hoodieReplaceCommitMetadata", "default": None, "type": ["null", {
            "type": "record", "name": "HoodieReplaceCommitMetadata",
            "fields": [
                {"name": "partitionToReplaceFileIds", "default": None, "type": ["null", {
                    "type": "map", "values": {"type": "array", "items": "string"}}]},
                {"name": "operationType", "type": ["null", "string"], "default": None}]}]}]}


def entry(ts, action, meta):
    rec = optional_string(ts) + optional_string(action) + zigzag(0) + zigzag(1)
    rec += optional_string("COMPLETED")
    if action != "replacecommit":
        return rec + zigzag(0)
    rec += zigzag(1)  # the replace metadata record
    parts = meta.get("partitionToReplaceFileIds")
    if parts is None:  # a metadata record that does not say (the map is null)
        return rec + zigzag(0) + optional_string(meta.get("operationType"))
    rec += zigzag(1) + zigzag(len(parts))
    for partition, ids in parts.items():
        rec += avro_string(partition) + zigzag(len(ids))
        rec += b"".join(avro_string(i) for i in ids) + (zigzag(0) if ids else b"")
    rec += (zigzag(0) if parts else b"") + optional_string(meta.get("operationType"))
    return rec


def log_block(schema, records):
    header = [(2, json.dumps(schema).encode())]
    h = struct.pack(">i", len(header))
    for k, v in header:
        h += struct.pack(">ii", k, len(v)) + v
    content = struct.pack(">ii", 3, len(records))
    content += b"".join(struct.pack(">i", len(r)) + r for r in records)
    body = struct.pack(">ii", 1, 3) + h + struct.pack(">q", len(content)) + content
    body += struct.pack(">i", 0)  # empty footer
    size = len(body) + 8
    return b"#HUDI#" + struct.pack(">q", size) + body + struct.pack(">q", size + 6)


def completed(name):
    stem = name.split(".")
    return len(stem) == 2 and stem[1] in ("commit", "deltacommit", "replacecommit", "clean",
                                          "rollback", "indexing")


def main():
    table, instants = sys.argv[1], sys.argv[2:]
    timeline = os.path.join(table, ".hoodie", "timeline")
    lsm = os.path.isdir(timeline)
    folder = timeline if lsm else os.path.join(table, ".hoodie")
    records, rows = [], []
    for ts in instants:
        names = [n for n in os.listdir(folder) if n.split(".")[0].split("_")[0] == ts]
        done = [n for n in names if completed(n)]
        if len(done) != 1:
            sys.exit("instant %s: no single completed instant file (%s)" % (ts, names))
        data = open(os.path.join(folder, done[0]), "rb").read()
        stem, action = done[0].split(".")
        if lsm:
            completion = stem.split("_")[1]
            rows.append("SELECT '%s' AS \"instantTime\", '%s' AS \"completionTime\", '%s' AS "
                        "\"action\", from_hex('%s') AS \"metadata\", CAST(NULL AS BLOB) AS "
                        "\"plan\", 1 AS \"version\"" % (ts, completion, action, data.hex()))
        else:
            records.append(entry(ts, action, json.loads(data) if data else {}))
        for n in names:
            os.remove(os.path.join(folder, n))
    if lsm:
        print(" UNION ALL ".join(rows))
        return
    archived = os.path.join(table, ".hoodie", "archived")
    os.makedirs(archived, exist_ok=True)
    with open(os.path.join(archived, ".commits_.archive.1_1-0-1"), "ab") as f:
        f.write(log_block(ENTRY_SCHEMA, records))


main()
