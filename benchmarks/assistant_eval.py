"""Offline assistant quality: trains on data/intents, scores intents and slots on the held-out data/eval set.

Run: .venv/bin/python benchmarks/assistant_eval.py [--sweep]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.llm.nlu import IntentClassifier, load_examples  # noqa: E402
from bot.llm.offline import OfflineAssistant  # noqa: E402
from bot.llm.slots import resolve_month  # noqa: E402

EVAL = ROOT / "data" / "eval" / "intents_eval.csv"
AS_OF = dt.date(2016, 10, 21)     # the analytics date the eval file's month labels assume


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep", action="store_true", help="also print accuracy against the clarify threshold")
    args = parser.parse_args()

    texts, intents = load_examples()
    start = time.perf_counter()
    clf = IntentClassifier().fit(texts, intents)
    fit_s = time.perf_counter() - start
    rows = list(csv.DictReader(EVAL.open(encoding="utf-8", newline="")))
    offline = OfflineAssistant(insights=None, classifier=clf)  # type: ignore[arg-type]  # understand() reads no data

    predicted, latencies = [], []
    slot_right: Counter[str] = Counter()
    slot_total: Counter[str] = Counter()
    for r in rows:
        t0 = time.perf_counter()
        u = offline.understand(r["text"])
        latencies.append(time.perf_counter() - t0)
        predicted.append(u.intent)
        s = u.slots
        got = {
            "month": resolve_month(s.month, AS_OF) if s.month else "",
            "categories": ";".join(s.categories),
            "amount": f"{s.amount:g}" if s.amount is not None else "",
            "kind": s.kind or "",
        }
        for key, value in got.items():
            want = r[key].strip()
            if key == "amount" and want:
                want = f"{float(want):g}"
            slot_total[key] += 1
            slot_right[key] += value == want

    gold = [r["intent"] for r in rows]
    accuracy = sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(rows)
    unclear = predicted.count("unclear") / len(rows)
    print(f"training utterances {len(texts)}, eval utterances {len(rows)}, intents {len(set(intents))}")
    print(f"fit time {fit_s:.2f} s; mean latency {statistics.mean(latencies) * 1000:.2f} ms/query "
          f"(p95 {sorted(latencies)[int(0.95 * len(latencies))] * 1000:.2f} ms)")
    print(f"intent accuracy {accuracy:.3f} (clarifying questions asked on {unclear:.1%}; threshold {clf.threshold_:.3f} = 5x chance)")
    print(f"{'intent':26} {'prec':>5} {'rec':>5} {'f1':>5} {'n':>4}")
    for intent in sorted(set(gold)):
        tp = sum(p == g == intent for p, g in zip(predicted, gold, strict=True))
        fp = sum(p == intent != g for p, g in zip(predicted, gold, strict=True))
        fn = sum(g == intent != p for p, g in zip(predicted, gold, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        print(f"{intent:26} {prec:5.2f} {rec:5.2f} {f1:5.2f} {gold.count(intent):4d}")
    print("slot accuracy (every eval utterance, empty = none expected): "
          + ", ".join(f"{k} {slot_right[k] / slot_total[k]:.3f}" for k in ("month", "categories", "amount", "kind")))
    misses = [(r["text"], r["intent"], p) for r, p in zip(rows, predicted, strict=True) if p != r["intent"]]
    for text, want, got in misses[:15]:
        print(f"  miss: {text!r}: {want} -> {got}")
    if args.sweep:
        for threshold in (0.15, 0.2, clf.threshold_, 0.25, 0.3, 0.35, 0.4, 0.5):
            offline.threshold = threshold
            decided = [(offline.understand(r["text"]).intent, r["intent"]) for r in rows]
            asked = sum(p == "unclear" for p, _ in decided)
            wrong = sum(p != g and p != "unclear" for p, g in decided)
            print(f"threshold {threshold:.2f}: accuracy {sum(p == g for p, g in decided) / len(rows):.3f}, "
                  f"asked {asked}, confidently wrong {wrong}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
