"""Command line entry point: ``em-emulator`` / ``python -m veeam_em_emulator``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from veeam_em_emulator.server import EmulatorHTTPServer, make_ssl_context, start_background
from veeam_em_emulator.store import Config, State

DEFAULT_USER = "restadmin"
DEFAULT_PASSWORD = "Em-Emulator-Pass-1"


def build_parser():
    p = argparse.ArgumentParser(
        prog="em-emulator",
        description="Veeam Backup Enterprise Manager REST API emulator (jobs subset, API v1_5..v1_7) "
                    "for testing the veeam_em.core Ansible collection. Binds 127.0.0.1 only.")
    g = p.add_argument_group("listener")
    g.add_argument("--port", type=int, default=9398, help="TCP port (default 9398; 0 = pick a free port)")
    g.add_argument("--no-tls", action="store_true", help="serve plain HTTP instead of HTTPS")
    g.add_argument("--ca-file", default="./em-emulator-ca.pem",
                   help="where to write the generated CA certificate (PEM) that signs the server "
                        "certificate for 127.0.0.1/localhost (default ./em-emulator-ca.pem)")
    g.add_argument("--advertised-url", default=None,
                   help="base URL used in every Href (default: the real URL, e.g. https://127.0.0.1:PORT)")
    g.add_argument("--ready-file", default=None, help="write the base URL to this file once listening")
    g.add_argument("--log-file", default=None, help="append a JSON line per /api/ request to this file")
    g = p.add_argument_group("accounts")
    g.add_argument("--username", default=DEFAULT_USER, help="Portal Administrator user (default %(default)s)")
    g.add_argument("--password", default=DEFAULT_PASSWORD, help="its password (default %(default)s)")
    g.add_argument("--restore-user", default=None, metavar="USER:PASS",
                   help="add a restore-only user that gets 403 on /jobs")
    g.add_argument("--portal-user", default=None, metavar="USER:PASS",
                   help="add a Portal User (Cloud Connect role; em-api-cloud.md section 3)")
    g = p.add_argument_group("data and lifetime")
    g.add_argument("--jobs", type=int, default=0, metavar="N",
                   help='add N generated VMware backup jobs "Generated Job 0001".. on vbr01')
    g.add_argument("--tenants", type=int, default=0, metavar="N",
                   help='add N generated Cloud Connect tenants "Generated Tenant 0001".. on vbr01')
    g.add_argument("--idle-timeout", type=float, default=900.0, help="session idle timeout, seconds (default 900)")
    g.add_argument("--max-lifetime", type=float, default=3600.0,
                   help="exit 0 after this many seconds (default 3600; 0 = never)")
    g = p.add_argument_group("behaviour switches (undocumented server behaviour; see README)")
    g.add_argument("--order-violation", choices=("ignore", "reject"), default="ignore",
                   help="misordered/unknown PUT elements: dropped silently (ignore, default) or 400 (reject)")
    g.add_argument("--merge", choices=("deep", "replace"), default="deep",
                   help="PUT merge reading: deep (default) or replace (a sent block replaces the stored block)")
    g.add_argument("--absent-bool", choices=("keep", "false"), default="keep",
                   help="Options*/GfsRetentionPolicy sent without Enabled: keep the value (default) or false")
    g.add_argument("--task-running-seconds", type=float, default=None,
                   help="seconds a task stays Running (default 2.0, or 0 if --task-running-polls is given)")
    g.add_argument("--task-running-polls", type=int, default=0,
                   help="polls a task shows Running before it may advance (default 0)")
    g.add_argument("--task-opfinished-polls", type=int, default=1,
                   help="polls a task shows OperationFinished before Finished (default 1; 0 = skip)")
    g.add_argument("--put-answer", choices=("202", "200-empty", "200-resource"), default="202",
                   help="PUT /jobs/{id}: 202 with a Task (default), or done at once: 200 with no body or with the job")
    g.add_argument("--task-delete", choices=("cancel", "ignore"), default="cancel",
                   help="DELETE /tasks/{id} of a Running task: stop it, its change unmade (cancel, default), or "
                        "only drop the record (ignore)")
    g.add_argument("--latency-ms", type=int, default=0, help="delay added to every /api/ request (default 0)")
    g.add_argument("--session-seconds", type=float, default=3.0,
                   help="seconds a job session (start/retry/sync) runs before it ends (default 3)")
    g.add_argument("--session-result", choices=("Success", "Warning", "Failed"), default="Success",
                   help="Result of a job session that is not stopped (default Success)")
    g.add_argument("--switch", action="append", default=[], metavar="KEY=VALUE",
                   help="set any other config switch, e.g. in_use_delete_status=409 (repeatable; see README)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    running_seconds = args.task_running_seconds
    if running_seconds is None:
        running_seconds = 0.0 if args.task_running_polls else 2.0
    cfg = Config(order_violation=args.order_violation, merge=args.merge, absent_bool=args.absent_bool,
                 latency_ms=args.latency_ms, task_running_seconds=running_seconds,
                 task_running_polls=args.task_running_polls, task_opfinished_polls=args.task_opfinished_polls,
                 idle_timeout=args.idle_timeout, session_seconds=max(0.0, args.session_seconds),
                 session_result=args.session_result, put_answer=args.put_answer, task_delete=args.task_delete)
    users = {args.username: (args.password, "admin")}
    if args.restore_user:
        if ":" not in args.restore_user:
            print("em-emulator: --restore-user must be USER:PASS", file=sys.stderr)
            return 2
        ru, rp = args.restore_user.split(":", 1)
        users[ru] = (rp, "restore")
    if args.portal_user:
        if ":" not in args.portal_user:
            print("em-emulator: --portal-user must be USER:PASS", file=sys.stderr)
            return 2
        pu, pp = args.portal_user.split(":", 1)
        users[pu] = (pp, "portal")
    try:
        cfg.update(dict(item.split("=", 1) if "=" in item else (item, None) for item in args.switch))
    except ValueError as exc:
        print("em-emulator: --switch: %s" % exc, file=sys.stderr)
        return 2
    state = State(cfg, users, extra_jobs=max(0, args.jobs), log_file=args.log_file,
                  extra_tenants=max(0, args.tenants))
    ctx = None if args.no_tls else make_ssl_context(args.ca_file)
    try:
        server = EmulatorHTTPServer(("127.0.0.1", args.port), state, ctx)
    except OSError as exc:
        print("em-emulator: cannot listen on 127.0.0.1:%d: %s" % (args.port, exc), file=sys.stderr)
        return 1
    port = server.server_address[1]
    real = "%s://127.0.0.1:%d" % ("http" if args.no_tls else "https", port)
    state.base_url = (args.advertised_url or real).rstrip("/")
    stop_ticker = start_background(server, state)

    def shutdown(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if args.max_lifetime and args.max_lifetime > 0:
        timer = threading.Timer(args.max_lifetime, shutdown)
        timer.daemon = True
        timer.start()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(real + "\n")
        os.replace(tmp, args.ready_file)
    print("em-emulator listening on %s" % real, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        stop_ticker.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
