"""HTTP(S) transport: ThreadingHTTPServer on 127.0.0.1, optional TLS with a trustme CA, fault hooks."""

from __future__ import annotations

import base64
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import api, control, secret_store
from .api import Request, Response, error_response
from .faults import edit_job_xml

MAX_BODY = 16 * 1024 * 1024
SOCKET_TIMEOUT = 120


class _ResetConnection(Exception):
    pass


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, state, ssl_context=None):
        self.state = state
        self.ssl_context = ssl_context
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # client aborts, TLS failures: not interesting


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self):
        self.request.settimeout(SOCKET_TIMEOUT)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # ------------------------------------------------------------------
    def _handle(self):
        state = self.server.state
        method = self.command
        split = urllib.parse.urlsplit(self.path)
        path, raw_query = split.path or "/", split.query
        if self.headers.get("Transfer-Encoding"):
            self._send(Response(411, b'{"error": "chunked bodies are not supported; send Content-Length"}',
                                content_type="application/json"))
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(error_response(state, None, 413 if length > 0 else 400, "Bad or too large Content-Length"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        if path == "/_emulator" or path.startswith("/_emulator/"):
            self._send(control.handle(state, method, path, raw_query, self.headers, body))
            return
        if not (path == "/api" or path.startswith("/api/")):
            self._send(error_response(state, None, 404, "The resource '%s' was not found" % path))
            return
        self._handle_api(state, method, path, raw_query, body)

    def _handle_api(self, state, method, path, raw_query, body):
        req = Request(method, path, raw_query, self.headers, body)
        with state.lock:
            fault = state.faults.match(method, path)
            latency = state.config.latency_ms
            generation = state.generation
        entry = {"method": method, "path": path, "query": raw_query, "status": None, "session": None,
                 "body": (secret_store.mask_log_body(body.decode("utf-8", "replace"))
                          if method in ("PUT", "POST", "DELETE", "PATCH") else None),
                 "fault": fault["action"] if fault else None}
        try:
            before = fault is not None and fault["when"] == "before"
            after = fault is not None and fault["when"] == "after"
            action = fault["action"] if fault else None
            if before and action == "stall":
                time.sleep(float(fault.get("seconds", 5)))
                if state.generation != generation:
                    raise _ResetConnection()  # the emulator was reset meanwhile: this request belongs to no one
            if latency:
                time.sleep(latency / 1000.0)
            resp = None
            if before and action == "reset":
                raise _ResetConnection()
            if before and action == "expire_session":
                self._expire_session(state, api.session_token(req))
            if before and action == "edit_job":
                self._edit_job(state, path, fault)
            if before and action in ("status", "override", "oversize"):
                resp = self._fault_response(state, req, fault)
            if resp is None:
                started = time.thread_time()
                resp = api.handle(state, req)
                entry["cpu_ms"] = round((time.thread_time() - started) * 1000.0, 3)
                if fault:
                    with state.lock:
                        for task in req.tasks:      # the client may never see the 202: EM carries on
                            task.background = True
                if after:
                    if action == "reset":
                        raise _ResetConnection()
                    if action == "stall":
                        time.sleep(float(fault.get("seconds", 5)))
                    if action == "expire_session" and req.session is not None:
                        self._expire_session(state, req.session.token)
                    if action == "edit_job":
                        self._edit_job(state, path, fault)
                    if action in ("status", "override", "oversize"):
                        resp = self._fault_response(state, req, fault)
            entry["status"] = resp.status
            entry["session"] = req.session.session_id if req.session else None
            state.add_log(entry, generation)
            if fault and fault["action"] == "drip":
                self._send(resp, drip=float(fault.get("seconds_per_byte", 0.5)))
            elif fault and fault["action"] == "oversize" and resp.status == 200 and fault.get("_huge"):
                self._send_huge(float(fault.get("mebibytes", 50)))
            else:
                self._send(resp)
        except _ResetConnection:
            entry["session"] = req.session.session_id if req.session else None
            entry["status"] = None
            state.add_log(entry, generation)
            self._reset()

    @staticmethod
    def _expire_session(state, token):
        with state.lock:
            session = state.sessions.by_token.get(token) if token else None
            if session is not None:
                session.force_expired = True

    @staticmethod
    def _edit_job(state, path, fault):
        """Someone changes the job in the console: the stored entity changes, out of band."""
        with state.lock:
            rec = state.jobs.get(state.faults.edit_job_id(fault, path) or "")
            if rec is not None:
                rec.xml = edit_job_xml(rec.xml, fault["set"])

    def _fault_response(self, state, req, fault):
        action = fault["action"]
        if action == "status":
            headers = []
            if fault.get("retry_after") is not None:
                headers.append(("Retry-After", str(fault["retry_after"])))
            for k, v in (fault.get("headers") or {}).items():
                headers.append((k, str(v)))
            return error_response(state, req, int(fault.get("status", 503)),
                                  fault.get("message") or "Injected fault", headers)
        if action == "override":
            body = fault.get("body", "")
            if fault.get("body_base64") is not None:
                body = base64.b64decode(fault["body_base64"])
            return Response(int(fault.get("status", 200)), body.encode("utf-8") if isinstance(body, str) else body,
                            [(k, str(v)) for k, v in (fault.get("headers") or {}).items()],
                            fault.get("content_type", api.XML_CT))
        if action == "oversize":
            fault["_huge"] = True
            return Response(200, b"")
        return None

    # ------------------------------------------------------------------
    def _send(self, resp: Response, drip=None):
        try:
            self.send_response(resp.status)
            for k, v in resp.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            if drip:
                self.wfile.flush()
                for i in range(len(resp.body)):
                    self.wfile.write(resp.body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(drip)
            else:
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            self.close_connection = True

    def _send_huge(self, mib):
        """A well-formed XML 200 body of exactly ``mib`` MiB (at least the bare document)."""
        head = b'<?xml version="1.0" encoding="utf-8"?><Jobs xmlns="http://www.veeam.com/ent/v1.0">'
        tail = b"</Jobs>"
        total = max(int(mib * 1024 * 1024), len(head) + len(tail))
        fill = total - len(head) - len(tail)
        chunk = b"<Job/>" * (64 * 1024 // 6)
        try:
            self.send_response(200)
            self.send_header("Content-Type", api.XML_CT)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            self.wfile.write(head)
            while fill >= len(chunk):
                self.wfile.write(chunk)
                fill -= len(chunk)
            self.wfile.write(b"<Job/>" * (fill // 6) + b" " * (fill % 6))
            self.wfile.write(tail)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            self.close_connection = True

    def _reset(self):
        self.close_connection = True
        try:
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if isinstance(raw, ssl.SSLSocket):
                sock = socket.socket(fileno=raw.detach())
                sock.close()
            else:
                raw.close()
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass


def make_ssl_context(ca_file):
    import trustme

    ca = trustme.CA(organization_name="EM emulator test CA")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(ctx)
    ca.cert_pem.write_to_path(ca_file)
    return ctx


def start_background(server, state, interval=0.1):
    """Thread completing orphaned tasks."""
    stop = threading.Event()

    def loop():
        while not stop.wait(interval):
            try:
                state.tick()
            except Exception:  # pragma: no cover - never kill the ticker
                pass
    th = threading.Thread(target=loop, name="em-emulator-ticker", daemon=True)
    th.start()
    return stop
