"""The firmware platform: what every component of a premises shares.

Below `devices/<kind>` and `hub/`, above `hal/` and `protocol/` (see ARCHITECTURE.md):

- `firmware.rig`: the rig file, one parser with one section per part of the premises;
- `firmware.event_log`: a component's non-volatile event log and its one report shape;
- `firmware.zcl`: the ZCL server and client engines every device and the hub run;
- `firmware.process`: the bootstrap of a component process (arguments, logging, signals,
  bench port, clean stop);
- `firmware.counter_watch`: the radio's security-drop counters, watched for unusual traffic;
- `firmware.wiring`: the composition root's helper, the only module that names HAL backends.
"""
