"""Fuzz tests: no input makes a decoder raise anything but the project's `DecodeError`.

One module per decoder, `test_fuzz_<decoder>.py`, each feeding random inputs and mutations of
valid ones (`tests.fuzz.mutations`) into the decoder's public entry points under the shared
`fuzz` hypothesis profile. `python -m tests.fuzz.count` runs them and says how many inputs each
decoder took.
"""
