"""What every op definition shares: the OpDef interface and the argument
checks (re-exported from tessel.signature)."""

from __future__ import annotations

import inspect

from ..signature import *  # noqa: F401,F403
from ..signature import (Arg, Signature, Spec, dtype_name, normalize_dtype,  # noqa: F401
                         short_repr, spec_of)


class OpDef:
    """One tessel op's Python face. Subclasses define:
    - `params`: names of the array parameters, in call order;
    - `signature(*arrays, **options)`: validation of shapes/dtypes/options;
    - `build(sig, values)`: the tessel op(s) on tensor values, returning the
      result values in the order of the inits (`out`/`inout` args);
    - optionally `check_values(sig, arrays)`: checks that need the data
      (block tables, slots), run before anything is launched or written."""

    name: str
    params: tuple[str, ...]
    # Whether a leading dimension may be a run-time size (Spec dim None) on the GPU.
    run_time_sizes = False
    # Whether check_values reads index data (block tables, slots) of device
    # arrays back to the host: such calls cannot take the prepared launch path.
    reads_index_data = False

    def signature(self, *args, **kwargs) -> Signature:
        raise NotImplementedError

    def build(self, sig: Signature, values: dict) -> list:
        raise NotImplementedError

    def check_values(self, sig: Signature, arrays: dict) -> None:
        pass

    def bind(self, args: tuple, kwargs: dict) -> tuple[dict, dict]:
        """Splits a call into (array arguments by name, options)."""
        arrays = dict(zip(self.params, args))
        if len(args) > len(self.params):
            raise TypeError(f"tessel.{self.name}: takes at most {len(self.params)} "
                            f"array arguments, got {len(args)}")
        options = {}
        for k, v in kwargs.items():
            if k in self.params:
                if k in arrays:
                    raise TypeError(f"tessel.{self.name}: argument '{k}' given twice")
                arrays[k] = v
            else:
                options[k] = v
        return arrays, options

    def check_call(self, arrays: dict, options: dict) -> None:
        """Missing arrays and unknown options get a message naming them (not
        Python's one about `signature()`)."""
        params = inspect.signature(self.signature).parameters
        for k in options:
            if k not in params or params[k].kind != inspect.Parameter.KEYWORD_ONLY:
                known = [n for n, p in params.items() if p.kind == inspect.Parameter.KEYWORD_ONLY]
                raise TypeError(f"tessel.{self.name}: unexpected argument {short_repr(k)}; "
                                f"options are {', '.join(known + ['target'])}")
        for n in self.params:
            if n not in arrays and params[n].default is inspect.Parameter.empty:
                raise TypeError(f"tessel.{self.name}: missing array argument '{n}'")
