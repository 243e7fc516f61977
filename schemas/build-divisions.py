#!/usr/bin/env python3
"""Rebuild schemas/divisions.csv from the shared GB/T 2260 county table.

Usage: python3 schemas/build-divisions.py ../shared/divisions > schemas/divisions.csv
Each row: code, county name, full name (province + city + county) used in messages.
"""
import csv
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/divisions"
prov = {r["code"]: r["name"] for r in csv.DictReader(open(f"{src}/provinces.csv", encoding="utf-8"))}
city = {r["code"]: r["name"] for r in csv.DictReader(open(f"{src}/cities.csv", encoding="utf-8"))}
# City rows that only group counties ("市辖区", "县", ...) add nothing to a full name.
GROUPING = {"", "市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["code", "name", "full_name"])
for r in csv.DictReader(open(f"{src}/areas.csv", encoding="utf-8")):
    parts = [prov[r["provinceCode"]]]
    c = city.get(r["cityCode"], "")
    if c not in GROUPING:
        parts.append(c)
    parts.append(r["name"])
    out.writerow([r["code"], r["name"], "".join(parts)])
