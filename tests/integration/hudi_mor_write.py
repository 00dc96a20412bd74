#!/usr/bin/env python3
"""hudi_mor_write.py - append one deltacommit to a Merge-on-Read Hudi table (table version 6,
non-partitioned) the way Hudi writes it: a log file of the given file group holding an Avro data
block and a delete block whose header names the instant, and the completed instant file with its
commit metadata. Used by the Hudi integration suites to build cases no fixture has.

usage: hudi_mor_write.py TABLE INSTANT FILE_ID BASE_INSTANT LOG_VERSION SPEC.json
SPEC: {"upserts": [{"key": "2", "id": 2, "name": "...", "longField": 5}, ...],
       "deletes": [{"key": "1", "ordering": {"long": 1}}, ...],   ("ordering": null = int 0)
       "add_columns": ["note", ...],   (string columns the commit adds to the table's schema;
                                        the upserts carry them)
       "add_struct_fields": ["note", ...]}  (string fields the commit adds inside structField;
                                        upserts may carry "structField": {"field1": "...",
                                        "field2": 1, "note": "..."})
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


def block(kind, instant, content, schema=None):
    header = [(0, instant.encode())]
    if schema is not None:
        header.append((2, schema.encode()))
    h = struct.pack(">i", len(header))
    for k, v in header:
        h += struct.pack(">ii", k, len(v)) + v
    body = struct.pack(">ii", 1, kind) + h + struct.pack(">q", len(content)) + content
    body += struct.pack(">i", 0)  # empty footer
    size = len(body) + 8
    return b"#HUDI#" + struct.pack(">q", size) + body + struct.pack(">q", size + 6)


META = ["_hoodie_commit_time", "_hoodie_commit_seqno", "_hoodie_record_key",
        "_hoodie_partition_path", "_hoodie_file_name"]


def main():
    table, instant, file_id, base_instant, log_version, spec_path = sys.argv[1:7]
    spec = json.load(open(spec_path))
    log_name = ".%s_%s.log.%s_0-1-1" % (file_id, base_instant, log_version)
    fields = [{"name": n, "type": "string"} for n in META]
    fields += [{"name": "id", "type": "int"}, {"name": "name", "type": "string"},
               {"name": "longField", "type": "long"}]
    added = spec.get("add_columns", [])
    fields += [{"name": c, "type": "string"} for c in added]
    nested = spec.get("add_struct_fields", [])
    if nested:
        fields.append({"name": "structField", "type": ["null", {
            "type": "record", "name": "structField",
            "fields": [{"name": "field1", "type": ["null", "string"]},
                       {"name": "field2", "type": ["null", "int"]}] +
                      [{"name": c, "type": ["null", "string"]} for c in nested]}]})
    schema = json.dumps({"type": "record", "name": "v6_nonpartitioned_record", "fields": fields})
    data = b""
    upserts = spec.get("upserts", [])
    if upserts:
        content = struct.pack(">ii", 3, len(upserts))
        for i, r in enumerate(upserts):
            rec = b"".join(avro_string(v) for v in
                           [instant, "%s_0_%d" % (instant, i), r["key"], "", log_name])
            rec += zigzag(r["id"]) + avro_string(r["name"]) + zigzag(r["longField"])
            rec += b"".join(avro_string(r[c]) for c in added)
            if nested:
                sf = r.get("structField")
                if sf is None:
                    rec += zigzag(0)
                else:
                    rec += zigzag(1)
                    for name in ["field1", "field2"] + nested:
                        v = sf.get(name)
                        if v is None:
                            rec += zigzag(0)
                        else:
                            rec += zigzag(1) + (zigzag(v) if name == "field2" else avro_string(v))
            content += struct.pack(">i", len(rec)) + rec
        data += block(3, instant, content, schema)
    deletes = spec.get("deletes", [])
    if deletes:
        wrappers = {"int": 2, "long": 3}
        avro = zigzag(len(deletes))
        for d in deletes:
            avro += zigzag(1) + avro_string(d["key"]) + zigzag(1) + avro_string("")
            ((kind, value),) = (d.get("ordering") or {"int": 0}).items()
            avro += zigzag(wrappers[kind]) + zigzag(value)
        avro += zigzag(0)
        data += block(1, instant, struct.pack(">ii", 3, len(avro)) + avro)
    with open(os.path.join(table, log_name), "ab") as f:
        f.write(data)
    hoodie = os.path.join(table, ".hoodie")
    previous = sorted(n for n in os.listdir(hoodie) if n.endswith(".deltacommit"))[-1]
    extra = json.load(open(os.path.join(hoodie, previous)))["extraMetadata"]
    if nested:
        table_schema = json.loads(extra["schema"])
        for f in table_schema["fields"]:
            if f["name"] == "structField":
                record = [t for t in f["type"] if isinstance(t, dict)][0]
                record["fields"] += [{"name": c, "type": ["null", "string"], "default": None}
                                     for c in nested]
        extra["schema"] = json.dumps(table_schema)
    if added:
        table_schema = json.loads(extra["schema"])
        table_schema["fields"] += [{"name": c, "type": ["null", "string"], "default": None}
                                   for c in added]
        extra["schema"] = json.dumps(table_schema)
    meta = {
        "partitionToWriteStats": {"": [{
            "fileId": file_id, "path": log_name, "prevCommit": base_instant,
            "numWrites": len(upserts), "numDeletes": len(deletes), "partitionPath": "",
            "fileSizeInBytes": len(data), "logVersion": int(log_version),
            "logFiles": [log_name]}]},
        "compacted": False, "extraMetadata": extra, "operationType": "UPSERT"}
    for suffix in (".deltacommit.requested", ".deltacommit.inflight"):
        open(os.path.join(hoodie, instant + suffix), "w").close()
    with open(os.path.join(hoodie, instant + ".deltacommit"), "w") as f:
        json.dump(meta, f)


main()
