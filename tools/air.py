"""`python -m tools.air --rig RIG`: the rig's virtual 2.4 GHz channel as a process.

Reads the rig file once: where the air listens (`[air] host`, `port`) and its radio model (the
components' positions and the `[air]` path-loss parameters), then serves the channel
(`hal.emulated.air_server`) until SIGTERM or SIGINT. `--port` overrides the rig's port, and
without `--rig` the air has no radio model: every node hears every other at full strength.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from firmware.rig import load_rig
from hal.emulated.air_server import serve
from hal.radio_model import RadioModel, describe
from protocol.errors import SmartMeterError

LOGGER = logging.getLogger("tools.air")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.air", description="Virtual 2.4 GHz channel for emulated NCPs"
    )
    parser.add_argument("--rig", help="rig file: where the air listens, and its radio model")
    parser.add_argument("--host", help="address to listen on (default: the rig's, or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (default: the rig's [air] port)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s air %(levelname)s %(message)s")
    model: RadioModel | None = None
    host, port = args.host or "127.0.0.1", args.port
    try:
        if args.rig:
            rig = load_rig(args.rig)
            model = rig.radio_model
            host, port = args.host or rig.air.host, args.port or rig.air.port
            LOGGER.info("radio model: %s", describe(model))
        if port is None:
            raise SmartMeterError("give --port, or a --rig whose [air] says where to listen")
        asyncio.run(serve(host, port, model))
    except SmartMeterError as exc:
        print(f"air: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
