"""Python's multiprocessing.Pool on the benchmark's workloads (W1, W2, W4), for reference.
Prints one JSON object of per-repetition milliseconds."""
import json
import math
import multiprocessing as mp
import os
import sys
import time


def square(x):
    return x * x


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sqrt_sum(xs):
    return sum(math.sqrt(x) for x in xs)


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    data = list(range(100_000))
    row = [float(i % 1000) for i in range(1000)]
    with mp.Pool(os.cpu_count()) as pool:
        pool.map(square, range(100))
        result = {
            "W1": timed(lambda: pool.map(square, data), reps),
            "W2": timed(lambda: pool.map(fib, [24] * 2000), max(1, reps // 2)),
            "W4": timed(lambda: [pool.apply(sqrt_sum, (row,)) for _ in range(2000)], 1),
        }
    print(json.dumps(result))
