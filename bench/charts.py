"""Charts (PNG) of a results file in bench/results/, drawn from the same medians as its table.

compare.py --plot and tables.py --plot use them, and so does the documentation's build, so a
chart never disagrees with the table printed beside it.
"""

from __future__ import annotations

from pathlib import Path

from tables import PEER_COLUMNS, best_modes, best_peer


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only: no display on CI machines
    import matplotlib.pyplot as plt
    return plt


def compare_chart(record, path: Path):
    """Left: samples/s of fastbp fit and each peer's fastest mode per workload (log scale).
    Right: fastbp fit / the fastest peer mode, labelled with that mode."""
    plt = _pyplot()
    workloads = record["workloads"]
    names = [w["name"] for w in workloads]
    series = [("fastbp fit", [w["median"].get("fastbp-fit") for w in workloads])]
    for i, (column, _) in enumerate(PEER_COLUMNS):
        rates = [(best_modes(w["median"])[i] or (None, None, None))[2] for w in workloads]
        if any(rates):
            series.append((column, rates))

    fig, (rates_ax, ratio_ax) = plt.subplots(1, 2, figsize=(12, 4.2),
                                              gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(series)
    for k, (label, rates) in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i, r in enumerate(rates) if r]
        rates_ax.bar(xs, [r for r in rates if r], width, label=label)
    rates_ax.set_yscale("log")
    rates_ax.set_xticks(range(len(names)), names, rotation=20)
    rates_ax.set_ylabel("samples/s (log scale)")
    rates_ax.legend(fontsize=7, ncol=2)

    ratios, labels = [], []
    for w in workloads:
        peer, rate = best_peer(w["median"])
        fast = w["median"].get("fastbp-fit")
        ratios.append(fast / rate if fast and rate else 0.0)
        labels.append(peer or "")
    bars = ratio_ax.bar(names, ratios, color=["tab:green" if r >= 1 else "tab:red"
                                              for r in ratios])
    for bar, label in zip(bars, labels):
        ratio_ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          ha="center", va="bottom", fontsize=6)
    ratio_ax.axhline(1.0, color="k", linewidth=0.8)
    ratio_ax.set_xticks(range(len(names)), names, rotation=20)
    ratio_ax.set_ylabel("fastbp fit / fastest peer")
    fig.suptitle(f"Training, float32, {record['threads']} threads, {record['machine']['cpu']}, "
                 f"{record['time_utc'][:10]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def predict_chart(record, path: Path):
    """fastbp's fastest mode (fastbp.Predictor included) / each peer (rows per second) per
    batch size."""
    plt = _pyplot()
    batches = record["batches"]
    from tables import predict_modes
    modes, peers = predict_modes(batches[0]["median"])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    width = 0.8 / len(peers)
    for k, peer in enumerate(peers):
        xs = [i + (k - (len(peers) - 1) / 2) * width for i in range(len(batches))]
        ax.bar(xs, [max(b["median"][m] for m in modes) / b["median"][peer] for b in batches], width,
               label=f"fastbp, fastest mode / {peer}")
    ax.axhline(1.0, color="k", linewidth=0.8)
    ax.set_xticks(range(len(batches)), [f"batch {b['batch']}" for b in batches])
    ax.set_ylabel("ratio of rows per second")
    ax.legend(fontsize=8)
    ax.set_title(f"predict {record['layers']}, float32, {record['threads']} threads, "
                 f"{record['machine']['cpu']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


CHARTS = {"compare": compare_chart, "predict": predict_chart}
