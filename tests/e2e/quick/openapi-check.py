#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks real answers of hotkdumpd against its OpenAPI description.
#
# openapi-check.py OPENAPI.json EXCHANGES.jsonl PROBLEMS.json
# openapi-check.py --schema OPENAPI.json NAME FILE…   FILEs against components.schemas.NAME
#
# Each line of EXCHANGES is one request and its answer: {"method", "path", "status",
# "content_type", "location", "body" (a file)}. For each, the path and method must be described,
# the status listed for that operation, the content type one it lists, and a JSON body valid
# against its schema. Every 4xx and 5xx answer must be a problem (application/problem+json)
# whose type GET /problems lists and whose status is the answer's. A 201 or 202 must carry a
# Location. Every operation described must have been exercised. Prints one line per finding;
# exits 1 when there is one.
import json
import re
import sys

from jsonschema import Draft202012Validator


def inline(node, doc, depth=0):
    """The schema with every local $ref replaced by what it names."""
    if depth > 50:
        raise ValueError("$ref nesting too deep")
    if isinstance(node, dict):
        if "$ref" in node:
            target = doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return inline(target, doc, depth + 1)
        return {k: inline(v, doc, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, doc, depth + 1) for v in node]
    return node


def check_files(doc_path, name, files):
    doc = json.load(open(doc_path))
    schema = inline(doc["components"]["schemas"][name], doc)
    bad = 0
    for f in files:
        errors = sorted(Draft202012Validator(schema).iter_errors(json.load(open(f))), key=lambda e: list(e.path))
        for e in errors[:5]:
            print(f"FAIL {f}: at /{'/'.join(str(p) for p in e.path)}: {e.message[:300]}")
        bad += bool(errors)
        if not errors:
            print(f"ok   {f}")
    return 1 if bad else 0


def main():
    if sys.argv[1] == "--schema":
        return check_files(sys.argv[2], sys.argv[3], sys.argv[4:])
    doc = json.load(open(sys.argv[1]))
    exchanges = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    problem_types = {p["type"] for p in json.load(open(sys.argv[3]))["problems"]}
    paths = inline(doc["paths"], doc)
    # literal paths before templated ones: /problems before /problems/{slug}
    routes = []
    for template, item in paths.items():
        # a parameter named "path" holds slashes (/uploads/{path}); the others one segment
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template).replace(r"\{path\}", ".+")) + "$"
        routes.append((template.count("{"), template, re.compile(rx), item))
    routes.sort(key=lambda r: r[0])
    used = set()
    bad = 0

    def fail(x, why):
        nonlocal bad
        bad += 1
        print(f"FAIL {x['method']} {x['path']} {x['status']}: {why}")

    for x in exchanges:
        path = x["path"].split("?", 1)[0]
        method = "get" if x["method"] in ("GET", "HEAD") else x["method"].lower()
        status = str(x["status"])
        ctype = (x.get("content_type") or "").split(";")[0].strip()
        body = open(x["body"], "rb").read() if x.get("body") else b""
        parsed = None
        if ctype.endswith("json"):
            try:
                parsed = json.loads(body)
            except ValueError as e:
                fail(x, f"the body is not JSON: {e}")
                continue
        if x["status"] >= 400:
            if ctype != "application/problem+json":
                fail(x, f"an error answered as {ctype or 'nothing'}, not application/problem+json")
            elif parsed.get("type") not in problem_types:
                fail(x, f"problem type {parsed.get('type')!r} is not one GET /problems lists")
            elif parsed.get("status") != x["status"]:
                fail(x, f"the problem's status {parsed.get('status')} is not the answer's")
        if x["status"] in (201, 202) and not (x.get("location") or "").startswith("/jobs/"):
            fail(x, "a 201 or 202 without Location: /jobs/ID")
        route = next((r for r in routes if r[2].match(path)), None)
        if not route:
            # a path the API does not have: 404 (a problem, checked above) is the one right answer
            if x["status"] != 404:
                fail(x, "the path is not described and the answer is not 404")
            continue
        op = route[3].get(method)
        if op is None:
            # a method the resource does not take: 405 is the one right answer
            if x["status"] != 405:
                fail(x, f"{x['method']} is not described for {route[1]} and the answer is not 405")
            continue
        used.add((route[1], method))
        response = op["responses"].get(status)
        if response is None:
            fail(x, f"status {status} is not described for {x['method']} {route[1]}")
            continue
        content = response.get("content", {})
        if content and ctype not in content:
            fail(x, f"content type {ctype!r} is not described (only {', '.join(content)})")
            continue
        schema = content.get(ctype, {}).get("schema")
        if schema is not None:
            errors = sorted(Draft202012Validator(schema).iter_errors(parsed), key=lambda e: list(e.path))
            for e in errors[:3]:
                fail(x, f"at /{'/'.join(str(p) for p in e.path)}: {e.message[:300]}")
            if errors:
                continue
        print(f"ok   {x['method']} {x['path']} {x['status']}")
    for _, template, _, item in routes:
        for method in ("get", "post", "delete", "put", "patch"):
            if method in item and (template, method) not in used:
                bad += 1
                print(f"FAIL {method.upper()} {template}: described but never exercised")
    print(f"{len(exchanges)} answers checked, {bad} findings")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
