#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# A stand-in for the Salesforce REST API of Athena (the case system) as hotkdump uses it to post
# case comments, plus a webhook receiver, for the end-to-end tests: it records every call.
"""
Usage: athena-standin.py --port-file FILE --state DIR [--port N] [--max-comment 4000]
                         [--token-ttl 0]

Listens on 127.0.0.1:N (N = 0, the default: any free port) and writes the port to FILE once
listening. --token-ttl: seconds an access token stays valid, 0 = for ever. Everything lives in
DIR, so that a server killed and started again on the same port carries on where it was:

  users.json     read at each request: {"client_id", "client_secret", "username", "password"}, the
                 credentials the token endpoint accepts (or a list of such objects); missing = none
  cases.json     read at each request: {"CaseNumber": "case Id", ...}; missing = no cases
  faults.json    read at each request, optional: the faults to inject, see below
  tokens.json    the access tokens issued: {"token": {"issued_at": ms, "expires_at": s or null}}
  comments.json  the CaseComments created, oldest first:
                 [{"Id", "ParentId", "CommentBody", "IsPublished", "CreatedDate"}]
  calls.jsonl    one line per request, written just before it is answered (or dropped):
                 {"method", "path" (without the query), "query" ({name: [values]}, decoded),
                  "headers" ({lowercase name: value}), "body" (text), "status" (int, or null when
                  the connection was dropped), "fault" (the action applied, or null),
                  "time" (arrival, seconds since the epoch)}
  hooks.jsonl    one line per webhook delivered: {"path", "query", "headers", "body", "time"}
  server.log     the access log and errors

Endpoints:
  POST /services/oauth2/token                  grant_type=password, form-encoded
  GET  /services/data/vNN.N/query?q=SOQL       SELECT Id FROM Case WHERE CaseNumber = '...'
                                               SELECT Id, CommentBody FROM CaseComment
                                                 WHERE ParentId = '...' [ORDER BY CreatedDate]
                                               (either with an optional LIMIT n)
  POST /services/data/vNN.N/sobjects/CaseComment   {"ParentId", "CommentBody", "IsPublished"}
                                               (Content-Type application/json, else 415; a
                                               field not among these three: INVALID_FIELD)
  POST /hook, /hook/...                        the webhook receiver
  GET  /_calls, /_comments, /_hooks            calls.jsonl, comments.json and hooks.jsonl as JSON
                                               arrays; these are neither recorded nor faulted

faults.json is a list of {"match": "text", "method": "POST" (optional), "action": "...",
"count": N (optional)}. The first entry whose match is part of the request's path (or of
path?query, the query decoded) and whose count is absent or above 0 fires; its count is then
decremented in the file. Actions:
  status:NNN          answer NNN with an error body, without doing the work (429: Retry-After: 1)
  malformed           answer 200 (201 for a CaseComment) with truncated JSON, without doing the work
  drop                close the connection without doing the work or answering
  drop-after-accept   do the work, then close the connection without answering
  hang:SECONDS        wait that long, then handle the request as usual
The comments query holds "CaseComment" too: match "sobjects/CaseComment" to fault the creation
only. libcurl sends a request again, once, when a connection it reused closes without an answer.
Write the files the server reads (users, cases, faults) atomically: write, then rename.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import string
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlsplit

JSON_TYPE = "application/json;charset=UTF-8"
MALFORMED_BODY = b'{"id": "00a'
ALNUM = string.ascii_letters + string.digits

API = r"/services/data/(?P<version>v\d+\.\d+)"
TOKEN_PATH = re.compile(r"/services/oauth2/token")
QUERY_PATH = re.compile(API + r"/query/?")
COMMENT_PATH = re.compile(API + r"/sobjects/(?i:CaseComment)/?")
HOOK_PATH = re.compile(r"/hook(/.*)?")

# A SOQL string literal: single quotes, backslash escapes.
LITERAL = r"'((?:[^'\\]|\\.)*)'"
LIMIT = r"(?:\s+LIMIT\s+(\d+))?"
CASE_QUERY = re.compile(
    r"\s*SELECT\s+Id\s+FROM\s+Case\s+WHERE\s+CaseNumber\s*=\s*" + LITERAL + LIMIT + r"\s*",
    re.IGNORECASE | re.DOTALL)
COMMENT_QUERY = re.compile(
    r"\s*SELECT\s+Id\s*,\s*CommentBody\s+FROM\s+CaseComment\s+WHERE\s+ParentId\s*=\s*" + LITERAL
    + r"(?:\s+ORDER\s+BY\s+CreatedDate(?:\s+(ASC|DESC))?)?" + LIMIT + r"\s*",
    re.IGNORECASE | re.DOTALL)
SOQL_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b",
                "f": "\f"}
COMMENT_FIELDS = {"attributes", "ParentId", "CommentBody", "IsPublished"}
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class ConfigError(Exception):
    """A file the tests provide cannot be used: the request is answered 500."""


class SoqlError(Exception):
    pass


def to_json(value, **options):
    """JSON text of value, in raw UTF-8 as Salesforce answers. A lone surrogate in a string (from
    a \\udXXX escape in a request) becomes U+FFFD: it has no UTF-8 form, and jq rejects it."""
    return LONE_SURROGATE.sub("\ufffd", json.dumps(value, ensure_ascii=False, **options))


def random_id(prefix):
    return prefix + "".join(secrets.choice(ALNUM) for _ in range(18 - len(prefix)))


def salesforce_time(seconds):
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def unescape_soql(literal):
    def replace(match):
        char = match.group(1)
        if char not in SOQL_ESCAPES:
            raise SoqlError(f"Invalid string literal '{literal}'. Illegal character sequence "
                            f"'\\{char}' in string literal.")
        return SOQL_ESCAPES[char]
    return re.sub(r"\\(.)", replace, literal, flags=re.DOTALL)


class Reply:
    def __init__(self, status, value=None, headers=(), raw=None):
        self.status = status
        self.body = raw if raw is not None else to_json(value).encode("utf-8")
        self.headers = list(headers)


def error_reply(status, message, code, fields=None, headers=()):
    error = {"message": message, "errorCode": code}
    if fields:
        error["fields"] = fields
    return Reply(status, [error], headers)


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body


class State:
    """The files in the state folder; one lock for every read-modify-write and append."""

    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.RLock()

    def path(self, name):
        return os.path.join(self.folder, name)

    def read(self, name, default):
        try:
            with open(self.path(name), encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return default
        except (OSError, ValueError) as e:
            raise ConfigError(f"{name}: {e}") from e

    def write(self, name, value):
        with self.lock:
            tmp = self.path(name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(to_json(value, indent=2) + "\n")
            os.replace(tmp, self.path(name))

    def append(self, name, record):
        line = to_json(record) + "\n"
        with self.lock, open(self.path(name), "a", encoding="utf-8") as f:
            f.write(line)

    def read_lines(self, name):
        with self.lock:
            try:
                with open(self.path(name), encoding="utf-8") as f:
                    return [json.loads(line) for line in f if line.strip()]
            except FileNotFoundError:
                return []

    def log(self, line):
        with self.lock, open(self.path("server.log"), "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def take_fault(self, method, target):
        """The action (name, argument) of the first fault that fires for this request, if any."""
        with self.lock:
            faults = self.read("faults.json", [])
            if not isinstance(faults, list) or not all(
                    isinstance(f, dict) and isinstance(f.get("match"), str) for f in faults):
                raise ConfigError('faults.json: not a list of {"match": ..., "action": ...}')
            actions = [parse_action(f.get("action")) for f in faults]
            for fault, action in zip(faults, actions):
                if fault["match"] not in target:
                    continue
                if str(fault.get("method", method)).upper() != method:
                    continue
                count = fault.get("count")
                if count is not None:
                    if not isinstance(count, int):
                        raise ConfigError(f"faults.json: count {count!r} is not an integer")
                    if count <= 0:
                        continue
                    fault["count"] = count - 1
                    self.write("faults.json", faults)
                return action
        return None, None


def parse_action(action):
    name, _, argument = str(action).partition(":")
    try:
        if name == "status" and 100 <= int(argument) <= 599:
            return name, int(argument)
        if name == "hang" and float(argument) >= 0:
            return name, float(argument)
    except ValueError:
        pass
    if action in ("malformed", "drop", "drop-after-accept"):
        return action, None
    raise ConfigError(f"faults.json: unknown action {action!r}")


def fault_reply(status):
    headers = [("Retry-After", "1")] if status == 429 else []
    return error_reply(status, "injected fault", "SERVER_ERROR", headers=headers)


def is_comment_creation(method, path):
    return method == "POST" and COMMENT_PATH.fullmatch(path) is not None


class Athena:
    """The endpoints, each taking a Request and giving a Reply."""

    def __init__(self, state, max_comment, token_ttl):
        self.state = state
        self.max_comment = max_comment
        self.token_ttl = token_ttl
        self.port = None
        self.signing_key = secrets.token_bytes(32)
        self.routes = [
            (TOKEN_PATH, "POST", self.token),
            (QUERY_PATH, "GET", self.query),
            (COMMENT_PATH, "POST", self.create_comment),
            (HOOK_PATH, "POST", self.hook),
        ]

    def handle(self, request):
        for pattern, method, endpoint in self.routes:
            match = pattern.fullmatch(request.path)
            if not match:
                continue
            if request.method != method:
                return error_reply(405, f"HTTP Method '{request.method}' not allowed. Allowed are "
                                   f"{method}", "METHOD_NOT_ALLOWED", headers=[("Allow", method)])
            return endpoint(request, match)
        return error_reply(404, "The requested resource does not exist", "NOT_FOUND")

    def token(self, request, match):
        form = {name: values[0] for name, values in
                parse_qs(request.body, keep_blank_values=True).items()}
        if form.get("grant_type") != "password":
            return Reply(400, {"error": "unsupported_grant_type",
                               "error_description": "grant type not supported"})
        users = self.state.read("users.json", [])
        if isinstance(users, dict):
            users = [users]
        if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
            raise ConfigError("users.json: not an object of credentials, nor a list of them")
        fields = ("client_id", "client_secret", "username", "password")
        if not any(all(form.get(f) == user.get(f) for f in fields) for user in users):
            return Reply(400, {"error": "invalid_grant",
                               "error_description": "authentication failure"})
        now = time.time()
        issued_at = str(int(now * 1000))
        token = "00D000000000001!" + secrets.token_urlsafe(72)
        with self.state.lock:
            tokens = self.state.read("tokens.json", {})
            tokens[token] = {"issued_at": int(issued_at),
                             "expires_at": now + self.token_ttl if self.token_ttl > 0 else None}
            self.state.write("tokens.json", tokens)
        instance = f"http://127.0.0.1:{self.port}"
        identity = f"{instance}/id/00D000000000001AAA/005000000000001AAA"
        signature = hmac.new(self.signing_key, (identity + issued_at).encode(), hashlib.sha256)
        return Reply(200, {"access_token": token, "instance_url": instance, "id": identity,
                           "token_type": "Bearer", "issued_at": issued_at,
                           "signature": base64.b64encode(signature.digest()).decode()})

    def authorized(self, request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        entry = self.state.read("tokens.json", {}).get(token.strip())
        if not isinstance(entry, dict):
            return False
        expires_at = entry.get("expires_at")
        return expires_at is None or time.time() < expires_at

    def invalid_session(self):
        return error_reply(401, "Session expired or invalid", "INVALID_SESSION_ID")

    def cases(self):
        cases = self.state.read("cases.json", {})
        if not isinstance(cases, dict) or not all(isinstance(c, str) for c in cases.values()):
            raise ConfigError("cases.json: not an object mapping CaseNumber to case Id")
        return cases

    def case_id(self, given):
        """The Id of the case that given names, in full or as its 15-character form."""
        for case in self.cases().values():
            if given == case or (len(given) == 15 and case[:15] == given):
                return case
        return None

    def query(self, request, match):
        if not self.authorized(request):
            return self.invalid_session()
        soql = request.query.get("q", [""])[0]
        if not soql.strip():
            return error_reply(400, "A query string has to be specified", "MALFORMED_QUERY")
        version = match.group("version")
        try:
            found = CASE_QUERY.fullmatch(soql)
            if found:
                number = unescape_soql(found.group(1))
                case = self.cases().get(number)
                records = [{"attributes": {"type": "Case",
                                           "url": f"/services/data/{version}/sobjects/Case/{case}"},
                            "Id": case}] if case else []
                return self.query_result(records, found.group(2))
            found = COMMENT_QUERY.fullmatch(soql)
            if found:
                parent = self.case_id(unescape_soql(found.group(1)))
                records = [{"attributes": {
                                "type": "CaseComment",
                                "url": f"/services/data/{version}/sobjects/CaseComment/{c['Id']}"},
                            "Id": c["Id"], "CommentBody": c["CommentBody"]}
                           for c in self.state.read("comments.json", [])
                           if parent is not None and c["ParentId"] == parent]
                if (found.group(2) or "").upper() == "DESC":
                    records.reverse()
                return self.query_result(records, found.group(3))
        except SoqlError as e:
            return error_reply(400, str(e), "MALFORMED_QUERY")
        return error_reply(400, f"unexpected token: {soql.strip()}", "MALFORMED_QUERY")

    @staticmethod
    def query_result(records, limit):
        if limit is not None:
            records = records[:int(limit)]
        return Reply(200, {"totalSize": len(records), "done": True, "records": records})

    def create_comment(self, request, match):
        if not self.authorized(request):
            return self.invalid_session()
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return error_reply(415, f"Content type '{media_type}' not supported",
                               "UNSUPPORTED_MEDIA_TYPE")
        try:
            fields = json.loads(request.body)
        except ValueError as e:
            return error_reply(400, f"Unexpected character in JSON: {e}", "JSON_PARSER_ERROR")
        if not isinstance(fields, dict):
            return error_reply(400, "Cannot deserialize instance of CaseComment from "
                               f"{type(fields).__name__}", "JSON_PARSER_ERROR")
        for name in fields:
            if name not in COMMENT_FIELDS:
                return error_reply(400, f"No such column '{name}' on sobject of type CaseComment",
                                   "INVALID_FIELD")
        parent, body = fields.get("ParentId"), fields.get("CommentBody")
        published = fields.get("IsPublished", False)
        for name, value, kind in (("ParentId", parent, str), ("CommentBody", body, str),
                                  ("IsPublished", published, bool)):
            if value is not None and not isinstance(value, kind):
                return error_reply(400, f"Cannot deserialize instance of {kind.__name__} for "
                                   f"{name} from {to_json(value)}", "JSON_PARSER_ERROR")
        if not parent:
            return error_reply(400, "Required fields are missing: [ParentId]",
                               "REQUIRED_FIELD_MISSING", ["ParentId"])
        case = self.case_id(parent)
        if case is None:
            return error_reply(400, f"Parent ID: id value of incorrect type: {parent}",
                               "FIELD_INTEGRITY_EXCEPTION", ["ParentId"])
        if not body:
            return error_reply(400, "Required fields are missing: [CommentBody]",
                               "REQUIRED_FIELD_MISSING", ["CommentBody"])
        if len(body) > self.max_comment:
            return error_reply(400, f"Comment Body: data value too large: {body[:20]}... "
                               f"(max length={self.max_comment})", "STRING_TOO_LONG",
                               ["CommentBody"])
        comment = {"Id": random_id("00a"), "ParentId": case, "CommentBody": body,
                   "IsPublished": bool(published), "CreatedDate": salesforce_time(time.time())}
        with self.state.lock:
            comments = self.state.read("comments.json", [])
            comments.append(comment)
            self.state.write("comments.json", comments)
        return Reply(201, {"id": comment["Id"], "success": True, "errors": []})

    def hook(self, request, match):
        self.state.append("hooks.jsonl", {"path": request.path, "query": request.query,
                                          "headers": request.headers, "body": request.body,
                                          "time": time.time()})
        return Reply(200, {"ok": True})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "athena-standin"

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def dispatch(self):
        arrived = time.time()
        state, api = self.server.state, self.server.api
        url = urlsplit(self.path)
        try:
            body = self.read_body().decode("utf-8", errors="replace")
        except ValueError as e:
            self.close_connection = True
            self.send_error(400, f"unreadable request body: {e}")
            return
        if self.command == "GET" and url.path in ("/_calls", "/_comments", "/_hooks"):
            views = {"/_calls": lambda: state.read_lines("calls.jsonl"),
                     "/_comments": lambda: state.read("comments.json", []),
                     "/_hooks": lambda: state.read_lines("hooks.jsonl")}
            self.send_reply(Reply(200, views[url.path]()))
            return
        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                          headers, body)
        target = url.path + ("?" + unquote_plus(url.query) if url.query else "")
        fault = None
        try:
            fault, argument = state.take_fault(self.command, target)
            if fault == "hang":
                time.sleep(argument)
            if fault == "drop":
                reply = None
            elif fault == "status":
                reply = fault_reply(argument)
            elif fault == "malformed":
                status = 201 if is_comment_creation(request.method, request.path) else 200
                reply = Reply(status, raw=MALFORMED_BODY)
            else:
                reply = api.handle(request)
        except ConfigError as e:
            self.log_error("%s", e)
            reply = error_reply(500, str(e), "STANDIN_CONFIG_ERROR")
        except Exception as e:
            self.log_error("%s", traceback.format_exc().rstrip())
            reply = error_reply(500, f"stand-in failure: {e}", "UNKNOWN_EXCEPTION")
        dropped = fault in ("drop", "drop-after-accept")
        state.append("calls.jsonl", {
            "method": request.method, "path": request.path, "query": request.query,
            "headers": headers, "body": body, "status": None if dropped else reply.status,
            "fault": None if fault is None else self.fault_text(fault, argument),
            "time": arrived})
        if dropped:
            self.log_message('"%s" dropped (%s)', self.requestline, fault)
            self.drop_connection()
        else:
            self.send_reply(reply)

    @staticmethod
    def fault_text(fault, argument):
        if fault == "hang":
            return f"hang:{argument:g}"
        return fault if argument is None else f"{fault}:{argument}"

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)

    def send_reply(self, reply):
        body = b"" if reply.status in (204, 304) else reply.body
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError as e:
            self.log_message("could not answer: %s", e)
            self.close_connection = True

    def drop_connection(self):
        """Close the TCP connection at once, without a byte of an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    def log_message(self, format, *args):
        self.server.state.log(f"{self.log_date_time_string()} {self.address_string()} "
                              + format % args)

    def log_error(self, format, *args):
        self.log_message(format, *args)
        sys.stderr.write(f"athena-standin: {format % args}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(
        description="Stand-in for Athena's Salesforce REST API and a webhook receiver.")
    parser.add_argument("--port-file", required=True,
                        help="where to write the port number once listening")
    parser.add_argument("--state", required=True, help="the folder of the state files")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--max-comment", type=int, default=4000,
                        help="the longest CommentBody accepted, in characters")
    parser.add_argument("--token-ttl", type=float, default=0,
                        help="seconds an access token stays valid (0: for ever)")
    options = parser.parse_args()

    os.makedirs(options.state, exist_ok=True)
    state = State(options.state)
    server = Server(("127.0.0.1", options.port), Handler)
    server.state = state
    server.api = Athena(state, options.max_comment, options.token_ttl)
    server.api.port = server.server_address[1]

    tmp = options.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.api.port}\n")
    os.replace(tmp, options.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
