"""The GEMM bench's steady-state timing without a GPU: the round order that
cancels a drift, and ratios as medians of per-round ratios."""

import tessel.bench.__main__ as bench


def test_median():
    assert bench._median([3, 1, 2]) == 2
    assert bench._median([4, 1, 3, 2]) == 2.5


def test_ratio_is_the_median_of_per_round_ratios():
    # A round where both sides slowed down (the power limit) moves neither
    # side's median ratio; the ratio of the medians would read 0.5.
    times = {"torch": [1.0, 1.0, 10.0], "k": [2.0, 1.0, 10.0]}
    assert bench._ratio(times, "k") == 1.0
    assert bench._median(times["torch"]) / bench._median(times["k"]) == 0.5


def test_rounds_reverse_the_order_every_round(monkeypatch):
    calls = []

    def phase(fn, seconds):
        calls.append((fn(), seconds))
        return len(calls)

    monkeypatch.setattr(bench, "_phase", phase)
    fns = {name: (lambda n: lambda: n)(name) for name in ("torch", "a", "b")}
    times = bench._rounds(fns, rounds=3, seconds=0.01)
    # A longer first phase brings the GPU back to its steady state.
    assert calls[0] == ("torch", 0.2)
    assert [name for name, _ in calls[1:]] == ["torch", "a", "b", "b", "a", "torch",
                                               "torch", "a", "b"]
    assert all(s == 0.01 for _, s in calls[1:])
    assert times == {"torch": [2, 7, 8], "a": [3, 6, 9], "b": [4, 5, 10]}


def test_paged_rounds_run_everything_first_then_alternate(monkeypatch):
    import tessel.bench.paged as paged

    calls = []

    class Kernel:
        def __init__(self, name):
            self.name = name

        def run_validated(self, given):
            calls.append(("run", self.name, given))

    timed = []

    def time_it(fn):
        fn()
        timed.append(calls.pop()[1])
        return float(len(timed))

    monkeypatch.setattr(paged, "_time", time_it)
    kernels = {name: Kernel(name) for name in ("auto", "v1", "v2")}
    times = paged._rounds(kernels, "args", rounds=3, heat_s=0, sync=lambda: calls.append("sync"))
    # Every kernel ran once before the first timing, and the timings wait
    # for it.
    assert calls == [("run", "auto", "args"), ("run", "v1", "args"), ("run", "v2", "args"),
                     "sync"]
    assert timed == ["auto", "v1", "v2", "v2", "v1", "auto", "auto", "v1", "v2"]
    assert times == {"auto": [1.0, 6.0, 7.0], "v1": [2.0, 5.0, 8.0], "v2": [3.0, 4.0, 9.0]}
