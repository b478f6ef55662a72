"""IEC 62056-21 (formerly IEC 61107) mode C, the optical port's protocol, sans-IO.

`frames`: the messages and their byte layouts (construct, BCC); `connection`: the session for
both roles, the meter and the HHT, from one transition table; `obis`: the OBIS names (IEC
62056-61) of the data sets.
"""
