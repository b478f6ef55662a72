"""The emulated NCP's modules import each other without a cycle, type-checking imports included:
its parts depend on `stack_services.StackServices`, never on the stack that composes them."""

from __future__ import annotations

import graphlib

import grimp

NCP = "hal.emulated.ncp"


def ncp_import_graph() -> dict[str, set[str]]:
    """Module -> the NCP modules it imports (`if TYPE_CHECKING:` imports count too)."""
    graph = grimp.build_graph("hal", cache_dir=None)
    modules = graph.find_descendants(NCP)
    return {
        module: {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported in modules
        }
        for module in modules
    }


def test_no_import_cycle_among_the_ncp_modules() -> None:
    graph = ncp_import_graph()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        # graphlib lists each module before one that imports it: reversed, "a -> b" reads
        # "a imports b".
        cycle = " -> ".join(reversed(exc.args[1]))
        raise AssertionError(f"import cycle among the NCP modules: {cycle}") from None
    assert order.index(f"{NCP}.stack_services") < order.index(f"{NCP}.zigbee_stack")


def test_type_checking_imports_are_part_of_the_graph() -> None:
    # ezsp_handlers names ZigbeeStack only under TYPE_CHECKING: if the graph missed such
    # imports, a cycle made of them would pass the test above unseen.
    assert f"{NCP}.zigbee_stack" in ncp_import_graph()[f"{NCP}.ezsp_handlers"]


def test_the_parts_do_not_import_the_stack() -> None:
    graph = ncp_import_graph()
    composers = {f"{NCP}.{name}" for name in ("zigbee_stack", "runner")}
    hosts = {f"{NCP}.{name}" for name in ("ezsp_handlers", "ezsp_security_commands")}
    importers = {module for module, imported in graph.items() if f"{NCP}.zigbee_stack" in imported}
    assert importers <= composers | hosts
