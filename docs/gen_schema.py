#!/usr/bin/env python3
"""Writes docs/voipdx.schema.json (JSON Schema, draft 2020-12) from the serde structs in src/model.rs and
src/problems.rs. Run after changing the model: `python3 docs/gen_schema.py`. A test validates the JSON
output of `voipdx analyze` on every fixture against the schema."""
import json, os, re

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
src = open(os.path.join(root, "src/model.rs")).read() + open(os.path.join(root, "src/problems.rs")).read()

structs, enums, docs = {}, {}, {}
for m in re.finditer(r"((?:\s*///[^\n]*\n)*)\s*(?:#\[[^\n]*\]\s*)*pub struct (\w+) \{(.*?)\n\}", src, re.S):
    doc = " ".join(l.strip()[3:].strip() for l in m.group(1).strip().splitlines())
    fields = []
    for f in re.finditer(r"((?:\s*///[^\n]*\n)*)\s*pub (\w+): ([^\n]+),\s*$", m.group(3), re.M):
        fdoc = " ".join(l.strip()[3:].strip() for l in f.group(1).strip().splitlines())
        fields.append((f.group(2), f.group(3).strip(), fdoc))
    structs[m.group(2)] = fields
    docs[m.group(2)] = doc
for m in re.finditer(r"rename_all = \"snake_case\"\)\]\s*pub enum (\w+) \{(.*?)\}", src, re.S):
    variants = re.findall(r"^\s*(\w+),", m.group(2), re.M)
    enums[m.group(1)] = [re.sub(r"(?<!^)([A-Z])", r"_\1", v).lower() for v in variants]

def ty(t):
    t = t.strip()
    if t.startswith("Option<"):
        inner = ty(t[7:-1])
        return {"anyOf": [inner, {"type": "null"}]}
    if t.startswith("Vec<"):
        return {"type": "array", "items": ty(t[4:-1])}
    if t.startswith("BTreeMap<"):
        val = t[9:-1].split(",", 1)[1]
        return {"type": "object", "additionalProperties": ty(val)}
    if t.startswith("("):
        parts = [ty(p) for p in re.split(r",\s*", t[1:-1])]
        return {"type": "array", "prefixItems": parts, "minItems": len(parts), "maxItems": len(parts)}
    if t == "String":
        return {"type": "string"}
    if t == "bool":
        return {"type": "boolean"}
    if re.fullmatch(r"[ui](8|16|32|64|size)", t):
        return {"type": "integer"}
    if t in ("f64", "f32"):
        return {"type": "number"}
    if t in enums:
        return {"type": "string", "enum": enums[t]}
    if t in structs:
        return {"$ref": f"#/$defs/{t}"}
    raise SystemExit(f"unknown type {t}")

defs = {}
for name, fields in structs.items():
    defs[name] = {
        "type": "object",
        "description": docs[name],
        "properties": {f: dict(ty(t), **({"description": d} if d else {})) for f, t, d in fields},
        "required": [f for f, _, _ in fields],
        "additionalProperties": False,
    }
schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "voipdx.schema.json",
    "title": "voipdx analyze --format json",
    "$ref": "#/$defs/Analysis",
    "$defs": defs,
}
with open(os.path.join(root, "docs/voipdx.schema.json"), "w") as f:
    json.dump(schema, f, indent=1)
    f.write("\n")
print(f"{len(defs)} object types")
