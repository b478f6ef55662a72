"""`smartmeter headend engineer|installations|set-account`: the head-end's field-work records.

    smartmeter headend engineer issue CODE [--role read|configure] [--days N]   (D.2.1, D.1.3)
    smartmeter headend engineer revalidate CODE [--days N]                      (D.1.4)
    smartmeter headend engineer disable CODE                                    (D.1.5)
    smartmeter headend engineer list
    smartmeter headend installations [DEVICE]     what installations synchronised (20.2.4)
    smartmeter headend set-account DEVICE [--mode credit|prepayment] [--mpxn DIGITS]
    smartmeter headend reset-password DEVICE      remotely, through the hub (17.2.21.b.2)

`issue` prints the token once: give it to the engineer's HHT (`smartmeter hht login`).
"""

from __future__ import annotations

import argparse
from typing import Any

from hal.control_socket import request_sync
from tools.cli_common import add_rig_option, print_json, rig_from, without_ok
from tools.launcher import HEADEND

TIMEOUT_S = 10.0


def add_headend_actions(actions: Any) -> None:
    engineer = actions.add_parser("engineer", help="engineers and their HHTs (Appendix D)")
    steps = engineer.add_subparsers(dest="step", required=True, metavar="STEP")
    issue = steps.add_parser("issue", help="issue an engineer code and an HHT token")
    issue.add_argument("code")
    issue.add_argument("--role", choices=["read", "configure"], default="read")
    issue.add_argument("--days", type=float, default=30.0)
    revalidate = steps.add_parser("revalidate", help="a full authorisation period again")
    revalidate.add_argument("code")
    revalidate.add_argument("--days", type=float, default=30.0)
    disable = steps.add_parser("disable", help="disable an engineer's HHT at once")
    disable.add_argument("code")
    listing = steps.add_parser("list", help="every engineer, role and expiry")
    for parser in (issue, revalidate, disable, listing):
        add_rig_option(parser)
        parser.set_defaults(handler=headend_engineer)
    installs = actions.add_parser("installations", help="what installations synchronised")
    installs.add_argument("device", nargs="?")
    add_rig_option(installs)
    installs.set_defaults(handler=headend_installations)
    account = actions.add_parser("set-account", help="a meter's payment mode and MPAN/MPRN")
    account.add_argument("device")
    account.add_argument("--mode", choices=["credit", "prepayment"])
    account.add_argument("--mpxn")
    add_rig_option(account)
    account.set_defaults(handler=headend_set_account)
    reset = actions.add_parser(
        "reset-password", help="a new local-access password for a meter, sent through its hub"
    )
    reset.add_argument("device")
    add_rig_option(reset)
    reset.set_defaults(handler=headend_reset_password)


def _call(args: argparse.Namespace, cmd: str, **fields: Any) -> dict[str, Any]:
    path = rig_from(args).control_path(HEADEND)
    return without_ok(request_sync(path, cmd, TIMEOUT_S, **fields))


def headend_engineer(args: argparse.Namespace) -> int:
    if args.step == "issue":
        reply = _call(args, "engineer_issue", code=args.code, role=args.role, days=args.days)
    elif args.step == "revalidate":
        reply = _call(args, "engineer_revalidate", code=args.code, days=args.days)
    elif args.step == "disable":
        reply = _call(args, "engineer_disable", code=args.code)
    else:
        reply = _call(args, "engineers")
    print_json(reply)
    return 0


def headend_installations(args: argparse.Namespace) -> int:
    fields = {"device": args.device} if args.device else {}
    print_json(_call(args, "installations", **fields))
    return 0


def headend_set_account(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {"device": args.device}
    if args.mode:
        fields["payment_mode"] = args.mode
    if args.mpxn:
        fields["mpxn"] = args.mpxn
    print_json(_call(args, "set_account", **fields))
    return 0


def headend_reset_password(args: argparse.Namespace) -> int:
    print_json(_call(args, "reset_password", device=args.device))
    return 0
