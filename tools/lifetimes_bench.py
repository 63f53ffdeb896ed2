"""Times lifetimes 0.11.3 on the same fits as `holdfast bench clv`, for the
ratio. Never a dependency of Holdfast: run it from a throwaway venv, e.g.

    python3 -m venv /tmp/lt && /tmp/lt/bin/pip install lifetimes==0.11.3 'pandas<2' 'numpy<1.25' 'scipy<1.11' autograd
    holdfast bench clv --lifetimes-python /tmp/lt/bin/python

Usage: lifetimes_bench.py DATA_DIR   (prints JSON: median seconds in ms)
"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter, GammaGammaFitter, BetaGeoBetaBinomFitter

d = sys.argv[1].rstrip("/") + "/"

def median_ms(f, runs):
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]

cd = pd.read_csv(d + "cdnow_summary_rfm.csv")
f, r, T, m = cd["frequency"], cd["recency"], cd["T"], cd["monetary_value"]
rep = cd[cd["frequency"] > 0]
don = pd.read_csv(d + "donations_bgbb_aggregated.csv")
print(json.dumps({
    "bgnbd_ms": median_ms(lambda: BetaGeoFitter().fit(f, r, T), 5),
    "pnbd_ms": median_ms(lambda: ParetoNBDFitter().fit(f, r, T), 3),
    "gamma_gamma_ms": median_ms(lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]), 5),
    "bgbb_ms": median_ms(lambda: BetaGeoBetaBinomFitter().fit(don["frequency"], don["recency"], don["periods"], don["weights"]), 5),
}))
