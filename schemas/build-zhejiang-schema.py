#!/usr/bin/env python3
"""Writes schemas/zhejiang.schema.json (JSON Schema 2020-12) from the code tables.

Usage: python3 schemas/build-zhejiang-schema.py > schemas/zhejiang.schema.json
The enumerations come from schemas/codes/*.csv, the single source of truth; the suite checks
that the committed schema is what this script writes.
"""
import csv
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def col(f, c):
    return [r[c] for r in csv.DictReader(open(os.path.join(HERE, "codes", f), encoding="utf-8"))]


def s(**kw):
    return {"type": "string", **kw}


def obj(props, required):
    return {"type": "object", "properties": props, "required": required, "additionalProperties": True}


text = s(minLength=1)
mobile = s(pattern=r"^1[0-9]{10}$", description="11-digit mainland mobile number")
uscc = s(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$",
         description="统一社会信用代码 (GB 32100-2015); the last character is a check character")
idno = s(pattern=r"^[0-9A-Za-z-]{5,32}$",
         description="证件号码; a 居民身份证 number (zjlx 111) is 17 digits and a GB 11643 check character, written with uppercase X")
time = s(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
         description="Beijing local time (UTC+8) without offset")
date = s(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
sha = s(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the decoded content, hex (written lowercase)")
b64 = s(pattern=r"^[A-Za-z0-9+/]*={0,2}$", description="standard padded base64")
div = s(pattern=r"^[0-9]{6}$", description="GB/T 2260 county-level code")
number = s(pattern=r"^[0-9A-Za-z-]{1,32}$", description="申请编号")
id_types = s(enum=col("id-types.csv", "zj"))
person = obj({"xm": text, "zjlx": id_types, "zjhm": idno}, ["xm", "zjlx", "zjhm"])
# type/subtype in printable ASCII, as the model checks it for both platforms (src/model/text.rs)
mime = s(pattern="^[!-.0-~]+/[!-~]+$")
file = obj({"wjm": text, "wjlx": mime, "sha256": sha, "nr": b64}, ["wjm", "wjlx", "sha256", "nr"])
kinds = list(zip(col("items.csv", "zj"), col("items.csv", "kind")))
food_items = [c for c, k in kinds if k == "food"]
registration_items = [c for c, k in kinds if k != "food"]
# Names are carried as they stand; 1,000 entries at most (schemas/limits.md), names not empty.
kzxx = {"type": "object", "additionalProperties": {"type": "string"},
        "propertyNames": {"minLength": 1}, "maxProperties": 1000,
        "description": "扩展信息: what the other side sent that has no field here"}

application = obj({
    "sqbh": number,
    "sxbm": s(enum=col("items.csv", "zj"), description="事项编码 (table A)"),
    "sqr": obj({"xm": text, "zjlx": id_types, "zjhm": idno, "sjhm": mobile}, ["xm", "zjlx", "zjhm", "sjhm"]),
    "jyz": obj({"mc": text, "tyshxydm": uscc, "ztlx": s(enum=col("entity-types.csv", "zj")), "fddbr": person,
                "zczb": s(pattern=r"^(0|[1-9][0-9]*)(\.[0-9]{0,5}[1-9])?$",
                          description="注册资本 in 万元, at most 6 decimals, no trailing zeros"),
                "zs": text}, ["mc", "ztlx", "fddbr", "zs"]),
    "jycs": obj({"xzqh": div, "xxdz": text,
                 "mj": s(pattern=r"^[0-9]+\.[0-9]{2}$", description="m², 2 decimals")}, ["xzqh", "xxdz", "mj"]),
    "spjy": obj({"ztyt": s(enum=col("main-formats.csv", "zj")), "ztytbz": {"type": "string"},
                 "jyxm": {"type": "array", "minItems": 1, "uniqueItems": True,
                          "items": s(enum=col("food-items.csv", "zj"))},
                 "spaqgly": obj({"xm": text, "zjhm": idno, "sjhm": mobile}, ["xm", "zjhm", "sjhm"]),
                 "wlxs": s(enum=["1", "0"])}, ["ztyt", "jyxm", "spaqgly", "wlxs"]),
    "jyfw": text,
    "cl": {"type": "array", "minItems": 1, "maxItems": 200,
           "items": obj({"clbm": s(enum=col("materials.csv", "zj")), "clmc": text, "wjm": text, "wjlx": text,
                         "sha256": sha, "nr": b64}, ["clbm", "clmc", "wjm", "wjlx", "sha256", "nr"])},
    "slxx": obj({"sljg": text, "sljgdm": uscc, "slr": text, "slsj": time}, ["sljg", "sljgdm", "slr", "slsj"]),
    "mbqy": div,
    "spjg": text,
    "lxr": obj({"xm": text, "sjhm": mobile}, ["xm", "sjhm"]),
    "bz": {"type": "string"},
    "kzxx": kzxx,
}, ["sqbh", "sxbm", "sqr", "jyz", "jycs", "cl", "slxx", "mbqy", "spjg"])
application["allOf"] = [
    {"if": {"properties": {"sxbm": {"enum": food_items}}, "required": ["sxbm"]},
     "then": {"required": ["spjy"], "properties": {"jyz": {"required": ["tyshxydm"]}}}},
    {"if": {"properties": {"sxbm": {"enum": registration_items}}, "required": ["sxbm"]},
     "then": {"required": ["jyfw"], "not": {"required": ["spjy"]},
              "properties": {"jyz": {"not": {"required": ["tyshxydm"]}}}}},
]
decision = obj({
    "sqbh": number,
    "jg": s(enum=["1", "2", "3"], description="1 准予, 2 不予, 3 补正"),
    "yj": text,
    "spr": text,
    "spsj": time,
    "zz": obj({"zzbh": text, "zzmc": text, "yxqq": date, "yxqz": date, "fzjg": text, "fzrq": date,
               "tyshxydm": uscc, "dzzz": file}, ["zzbh", "zzmc", "yxqq", "yxqz", "fzjg", "fzrq", "dzzz"]),
    "kzxx": dict(kzxx, description="tongban's extension area on decisions (the platform tolerates unknown fields); "
                                   "~sh:Result carries the text of Shanghai's Result element"),
}, ["sqbh", "jg", "yj", "spr", "spsj"])
decision["allOf"] = [
    {"if": {"properties": {"jg": {"const": "1"}}, "required": ["jg"]},
     "then": {"required": ["zz"]}, "else": {"not": {"required": ["zz"]}}},
]
schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:tongban:schemas:zhejiang:kstb-v2",
    "title": "Zhejiang 跨省通办 interface v2: application (申请信息) or decision (审批结果)",
    "description": "Written from schemas/codes/*.csv by schemas/build-zhejiang-schema.py. Unknown fields are "
                   "tolerated, as the platform requires. Check characters (GB 32100, GB 11643), known GB/T 2260 "
                   "codes and digests matching content are beyond JSON Schema: `tongban validate --format zj` "
                   "checks them.",
    "oneOf": [{"$ref": "#/$defs/application"}, {"$ref": "#/$defs/decision"}],
    "$defs": {"application": application, "decision": decision},
}
print(json.dumps(schema, ensure_ascii=False, indent=2))
