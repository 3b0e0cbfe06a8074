"""`finassist train`: builds profiles, segments, anomaly and churn scores and prints the evaluation figures."""

from __future__ import annotations

import argparse
import math
import sys

from bot.cli import CommandFailed
from bot.config import Config
from bot.services.errors import NoData
from bot.services.training import TrainReport, train
from bot.storage.database import open_store


def run(args: argparse.Namespace, config: Config) -> int:
    interactive = sys.stderr.isatty()
    store = open_store(config.storage.target, local_dir=config.storage.local_dir)
    try:
        report = train(store, config, progress=_progress if interactive else None)
    except NoData as exc:
        raise CommandFailed(str(exc)) from exc
    except ValueError as exc:  # e.g. too few customers to segment: the estimators say exactly why
        raise CommandFailed(f"cannot train on this store: {exc}") from exc
    finally:
        store.close()
    if interactive:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(render(report))
    return 0


def _progress(stage: str) -> None:
    print(f"\r\033[Ktraining: {stage}...", end="", file=sys.stderr, flush=True)


def _figure(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _high_share(levels: dict[str, int], base_rate: float | None) -> str:
    """"high" as a share of the customers scored (lapsed ones are not), beside the hold-out base rate."""
    scored = sum(n for level, n in levels.items() if level != "lapsed")
    if not scored:
        return ""
    share = levels.get("high", 0) / scored
    ratio = "" if not base_rate or math.isnan(base_rate) else f", {share / base_rate:.1f}× the base rate"
    return f" (high = {share:.1%} of active customers{ratio})"


def _anomaly_lines(report: TrainReport) -> list[str]:
    """The fraud detector's operating point, how it was measured, and what customers answered."""
    m = report.anomaly_metrics
    share = report.anomaly_flagged / max(report.anomaly_scored, 1)
    lines = [f"anomalies: {report.anomaly_flagged:,} of {report.anomaly_scored:,} transactions flagged ({share:.2%}), "
             f"{_figure(m.get('alerts_per_1000_customers_month'), 1)} alerts per 1,000 customers per month"]
    if "validation_precision" in m:
        lines.append(
            f"  threshold {_figure(m.get('threshold'), 4)} for precision target {_figure(m.get('precision_target'), 2)}: "
            f"validation precision {_figure(m.get('validation_precision'))}, recall {_figure(m.get('validation_recall'))} "
            f"(planted fraud in held-out customers, {int(m.get('labels_disputed', 0)):,} disputed and "
            f"{int(m.get('labels_confirmed', 0)):,} confirmed answers; fraud rate taken as "
            f"{_figure(m.get('fraud_rate_used'), 4)})")
    confirmed, disputed = report.alert_answers.get("confirmed", 0), report.alert_answers.get("disputed", 0)
    if confirmed + disputed:
        lines.append(f"  alerts as customers answered them: precision {disputed / (disputed + confirmed):.3f} "
                     f"({disputed:,} disputed, {confirmed:,} confirmed)")
    else:
        lines.append("  alerts as customers answered them: no answers yet")
    return lines


def render(report: TrainReport) -> str:
    """The figures, readable: data, segments (k by silhouette), anomalies, churn, time per stage."""
    m = report.churn_metrics
    lines = [
        f"trained on {report.n_transactions:,} transactions of {report.n_customers:,} customers, as of {report.as_of}",
        "",
        f"segments: k = {report.k} (best silhouette; "
        + ", ".join(f"k={k}: {s:.3f}" for k, s in sorted(report.silhouette.items())) + ")",
    ]
    for s in report.segments:
        lines.append(f"  {s.segment}  {s.persona:<22} {s.size:>9,} customers  {s.description}")
    lines += ["", *_anomaly_lines(report)]
    lines += [
        "",
        f"churn (no transaction in the next 30 days; method: {m.get('method', 'n/a')}):",
        f"  {m.get('method_sentence', '')}",
        f"  hold-out: AUC {_figure(m.get('auc'))} (transparent score {_figure(m.get('auc_transparent'))}), "
        f"precision@10% {_figure(m.get('precision_at_k'))}, Brier {_figure(m.get('brier'), 4)} "
        f"(base-rate forecast {_figure(m.get('brier_base_rate'), 4)}), base rate {_figure(m.get('base_rate'))}",
        f"  {int(m.get('n_train', 0)):,} train customer-windows ({int(m.get('n_train_churners', 0)):,} churners) over "
        f"{int(m.get('n_cutoffs', 0))} cutoffs, {int(m.get('n_test', 0)):,} hold-out customer-windows",
        "  levels now: " + ", ".join(f"{level} {n:,}" for level, n in report.churn_levels.items())
        + _high_share(report.churn_levels, m.get("base_rate")),
        "",
        "time: " + ", ".join(f"{stage} {sec:.1f}s" for stage, sec in report.timings.items())
        + f" (total {report.total_seconds:.1f}s)",
    ]
    return "\n".join(lines)
