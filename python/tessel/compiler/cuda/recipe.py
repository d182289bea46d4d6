"""What every op's GPU recipe shares: the recipe itself (a rung, its tiles,
the size class they were chosen for) as the op's config attribute, and the
checks of the caller's `strategy` and `config` options."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Recipe:
    strategy: str
    config: tuple[tuple[str, int], ...]
    size_class: str
    # The op's config attribute (#tessel.<mnemonic><...>) and whether it has
    # a strategy field for this recipe's strategy.
    mnemonic: str = "gemm_config"
    strategy_in_attribute: bool = True

    @property
    def key(self) -> str:
        return f"{self.mnemonic}:{self.strategy}{dict(self.config)}"

    @property
    def attribute(self) -> str:
        fields = [f'strategy = "{self.strategy}"'] if self.strategy_in_attribute else []
        fields += [f"{k} = {v}" for k, v in self.config]
        return f"#tessel.{self.mnemonic}<" + ", ".join(fields) + ">"


def check_strategy(options: dict, strategies: tuple[str, ...]) -> str | None:
    strategy = options.get("strategy")
    if strategy is not None and strategy not in strategies:
        raise ValueError(f"argument 'strategy': expected one of {', '.join(strategies)}, "
                         f"got {strategy!r}")
    return strategy


def check_config(options: dict, limits: dict[str, int]) -> dict:
    """The `config` option: a dict of positive ints, keys among `limits`, each
    at most its limit (the bounds of the op's config attribute, checked here
    first so the message names the caller's argument)."""
    config = options.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        example = next(iter(limits))
        raise ValueError(f"argument 'config': expected a dict such as {{'{example}': 4}}, got "
                         f"{type(config).__name__} {config!r}")
    for k, v in config.items():
        if k not in limits:
            raise ValueError(f"argument 'config': unknown key {k!r}; expected "
                             f"{', '.join(limits)}")
        if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= limits[k]:
            raise ValueError(f"argument 'config': {k} must be an integer in [1, {limits[k]}], "
                             f"got {v!r}")
    return dict(config)


def annotate(module, recipe: Recipe, op_name: str) -> None:
    """Puts the recipe on every `op_name` op of the module as its config."""
    from mlir import ir

    attr = ir.Attribute.parse(recipe.attribute, context=module.context)

    def visit(op):
        if op.operation.name == op_name:
            op.operation.attributes["config"] = attr
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
