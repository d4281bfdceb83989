"""How a rule's files, settings and wildcards become its job's keyword arguments: inputs by name, outputs as
`out_<name>`, the settings the rule declares, `made_by`, and the wildcards the job asks for (`map` as
`map_index`). One definition runs the job and, when the workflow is read, checks that rule and job agree."""

import dataclasses
import inspect
from collections.abc import Callable


class RuleError(Exception):
    """A rule that does not give its job what the job takes."""


@dataclasses.dataclass(frozen=True)
class Job:
    """The library function a rule runs, with the settings (`SETTINGS` sections) it passes by name."""

    function: Callable
    settings: dict

    def arguments(self, inputs, outputs, made_by, wildcards):
        """The function's keyword arguments for one job: `inputs`, `outputs` and `wildcards` as {name: value}."""
        found = dict(inputs) | self.settings | {"made_by": made_by}
        found |= {f"out_{name}": path for name, path in outputs.items()}
        asked = inspect.signature(self.function).parameters
        return found | {name: value for name, value in _context(wildcards).items() if name in asked}

    def problems(self, rule, inputs, outputs, wildcard_names):
        """What does not match between `rule` (its input and output names, its wildcards' names) and the
        function: each name the rule gives that the function does not take, each argument the function needs
        that the rule does not give."""
        parameters = inspect.signature(self.function).parameters
        name = f"{self.function.__module__}.{self.function.__qualname__}"
        given = {*inputs, *(f"out_{o}" for o in outputs), *self.settings, "made_by"}
        context = set(_context(dict.fromkeys(wildcard_names, "0")))
        found = []
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            found += [f"rule {rule}: gives {g!r}, which {name} does not take" for g in sorted(given - set(parameters))]
        required = [p for p, v in parameters.items() if v.default is v.empty and v.kind is v.KEYWORD_ONLY]
        found += [
            f"rule {rule}: {name} needs {p!r}, which the rule does not give (an input, an output out_<name>, a "
            f"setting or a wildcard)"
            for p in required
            if p not in given | context
        ]
        return found


def _context(wildcards):
    found = dict(wildcards)
    if "map" in found:
        found["map_index"] = int(found["map"])
    return found
