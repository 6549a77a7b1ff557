"""The `materialize`, `serve` and `skew` subcommands of the `trainset` command line.

Their errors derive from `trainset.errors.TrainsetError` and pass through to the command line,
which prints each as one line naming what to fix and exits with the code of its kind: 2 an
unknown task or store URL, 3 a missing build, an unusable serving model or an unreadable
store, 4 a store with no version yet, 5 a build whose tests failed, 7 a database held by a
build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import EXIT_CHECK_FAILED, EXIT_OK, InputError
from ..project import Paths


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _paths(args: argparse.Namespace) -> Paths:
    return Paths.resolve(Path(args.project_dir) if args.project_dir else None)


def cmd_materialize(args: argparse.Namespace) -> int:
    from .materialize import materialize

    changed = None
    if args.changed:
        try:
            text = Path(args.changed).read_text(encoding="utf-8").split()
        except OSError as error:
            raise InputError(
                f"--changed {args.changed}: {error.strerror}; pass a file of the entity keys "
                "the build changed, or leave --changed out to read the whole mart."
            ) from error
        changed = [int(item) if item.lstrip("-").isdigit() else item for item in text]
    info = materialize(
        _paths(args),
        store=args.store,
        task=args.task,
        incremental=args.incremental,
        changed=changed,
        progress=_say,
    )
    print(json.dumps({key: value for key, value in info.__dict__.items() if key != "extra"}))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    paths = _paths(args)
    from .store import default_store_url

    store = args.store or default_store_url(paths.project_dir)
    _say(f"serve: http://{args.host}:{args.port} from {store} ({args.workers} worker(s))")
    serve(args.host, args.port, args.workers, store_url=store, log_dir=args.log_dir)
    return EXIT_OK


def cmd_skew(args: argparse.Namespace) -> int:
    from .skew import check_log, check_store
    from .store import default_store_url, open_store

    paths = _paths(args)
    if args.log_dir:
        try:
            report = check_log(paths, args.log_dir, args.task)
        except FileNotFoundError as error:
            raise InputError(
                f"{error} Pass --log-dir the folder the feature server wrote its request log to."
            ) from error
    else:
        store = open_store(args.store or default_store_url(paths.project_dir))
        report = check_store(paths, store, args.task)
    _say(report.summary())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2, default=str))
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def add_commands(sub: argparse._SubParsersAction) -> None:
    store_help = "online store: SQLite path or redis://host:port/db (TRAINSET_ONLINE_STORE, default data/online/features.sqlite)"

    materialize = sub.add_parser(
        "materialize", help="load the latest feature vectors into the online store"
    )
    materialize.add_argument(
        "--task", help="feature-definition hash of this task (default: the first)"
    )
    materialize.add_argument("--store", help=store_help)
    materialize.add_argument(
        "--incremental",
        action="store_true",
        help="write only the vectors that differ from the current version",
    )
    materialize.add_argument(
        "--changed", help="file of entity keys the build changed (whitespace-separated)"
    )
    materialize.set_defaults(func=cmd_materialize)

    serve = sub.add_parser("serve", help="serve online features over HTTP (Feast's shape)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1)")
    serve.add_argument("--port", type=int, default=6566, help="port (6566)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    serve.add_argument("--store", help=store_help)
    serve.add_argument(
        "--log-dir", help="request log folder (TRAINSET_ONLINE_LOG_DIR; none: no log)"
    )
    serve.set_defaults(func=cmd_serve)

    skew = sub.add_parser(
        "skew", help="recompute served vectors with the training definition and compare"
    )
    skew.add_argument(
        "--task", help="training task whose definition recomputes (default: the first)"
    )
    skew.add_argument("--store", help=store_help)
    skew.add_argument("--log-dir", help="check the request log in this folder instead of the store")
    skew.add_argument("--json", help="also write the report as JSON to this file")
    skew.set_defaults(func=cmd_skew)
