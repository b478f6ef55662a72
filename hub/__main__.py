"""`python -m hub --rig RIG`: run the communications hub of a rig."""

from hub.firmware import main

main()
