"""Rulebook throughput and quality, on one core. Run by hand, never as a timed test:

    python benchmarks/rules.py              # throughput: default packs, matching alone, term scaling
    python benchmarks/rules.py --quality    # precision / recall on tests/data/rulebook_labelled.jsonl
    python benchmarks/rules.py --lang       # language and sentiment: accuracy and cost

The corpus (50,000 French and English messages by default) is generated deterministically from
templates: customer questions, complaints, praise, insults with obfuscations, links, spam, personal
data, look-alikes. It measures cost, not quality: quality is the labelled set's job.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.events import Author, Event
from bot.rulebook import load_rulebook
from bot.rulebook.context import Context
from bot.rulebook.language import detect, detect_model, tokens
from bot.rulebook.matchers import MatchEngine
from bot.rulebook.normalize import aggressive_from_clean, clean
from bot.rulebook.sentiment import score
from bot.rulebook.windows import MemoryWindowCounter

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"

FR = [
    "Bonjour, ma commande {n} n'est toujours pas arrivée, pouvez-vous vérifier ?",
    "Colis arrivé cassé, et personne ne répond au téléphone.",
    "Super produit, livraison rapide, je recommande !",
    "Le magasin de {city} ouvre à quelle heure le dimanche ?",
    "Je voudrais être remboursé, l'article ne correspond pas à la description.",
    "Merci pour votre aide, le conseiller était très sympa.",
    "Vous avez la taille {size} en bleu ? Merci d'avance",
    "Le prix baisse enfin, j'attendais ça depuis des semaines",
    "Service client nul, trois appels et toujours rien",
    "Une salade de concombre et un bon conseil, parfait",
    "J'ai reçu ma facture mais le montant est faux",
    "t'es vraiment un {insult}, arrête de spammer",
    "Ma smartwatch ne charge plus depuis la mise à jour",
    "Livraison prévue le {day}, je serai absent, c'est possible de décaler ?",
    "On se retrouve au magasin de {city} samedi ?",
    "Gagnez de l'argent facile, cliquez ici www.promo-{n}.xyz",
    "appelez-moi au 06 {a} {b} {c} {d}",
    "Quel délai pour un retour en magasin ?",
    "Je suis très déçue, le produit est arrivé abîmé",
    "Franchement top, rien à redire sur la qualité",
]
EN = [
    "Hi, my order {n} still hasn't arrived, can you check?",
    "The parcel arrived broken and nobody answers the phone.",
    "Great product, fast delivery, highly recommend!",
    "What time does the {city} store open on Sunday?",
    "I would like a refund, the item does not match the description.",
    "Thanks for your help, the agent was really nice.",
    "Do you have size {size} in blue? Thanks in advance",
    "Scunthorpe fans love this jacket",
    "Customer service is useless, three calls and still nothing",
    "you are such an {insult_en}, stop it",
    "My smartwatch stopped charging after the update",
    "Delivery is planned for {day}, can I move it?",
    "Free nitro for everyone, join discord.gg/free{n}",
    "email me at user{n}@example.com",
    "How long do I have to return an item?",
    "I'm so disappointed, the product arrived damaged",
    "Honestly amazing, nothing to complain about",
    "Is this available in black? I love the design",
    "cocktail party at the class reunion was fun",
    "Where is my invoice for order {n}?",
]
INSULTS = ["c0nnard", "соnnard", "e n c u l é", "abruuuuti", "crétin", "idiot", "b@tard"]
INSULTS_EN = ["id10t", "m0r0n", "a$$hole", "twat", "idiot", "dumbass"]
CITIES = ["Paris", "Lyon", "Bordeaux", "Lille", "Nantes", "London", "Boston"]
DAYS = ["lundi", "mardi", "jeudi", "Monday", "Friday"]


def corpus(size: int, seed: int = 42) -> list[tuple[str, str]]:
    """(text, language) pairs, half French, half English."""
    rng = random.Random(seed)
    out = []
    for index in range(size):
        lang = "fr" if index % 2 == 0 else "en"
        template = rng.choice(FR if lang == "fr" else EN)
        text = template.format(
            n=rng.randint(10000, 999999),
            city=rng.choice(CITIES),
            size=rng.randint(34, 46),
            insult=rng.choice(INSULTS),
            insult_en=rng.choice(INSULTS_EN),
            day=rng.choice(DAYS),
            a=rng.randint(10, 99),
            b=rng.randint(10, 99),
            c=rng.randint(10, 99),
            d=rng.randint(10, 99),
        )
        if rng.random() < 0.3:
            text += " " + rng.choice(["!!", "merci", "thanks", ":)", "svp", "asap", "😡", "👍"])
        out.append((text, lang))
    return out


def events(texts: list[tuple[str, str]]) -> list[Event]:
    kinds = ["comment", "review", "dm", "message", "mention"]
    return [
        Event(
            source="bench",
            kind=kinds[i % 5],
            external_id=str(i),
            text=text,  # type: ignore[arg-type]
            author=Author(id=f"u{i % 5000}"),
            rating=(i % 5) + 1 if i % 5 == 1 else None,
        )
        for i, (text, _) in enumerate(texts)
    ]


def rate(label: str, count: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    per_second = count / elapsed
    print(f"{label:<58} {per_second:>12,.0f} msg/s {elapsed / count * 1e6:>9.1f} µs/msg")
    return per_second


def throughput(size: int) -> None:
    texts = corpus(size)
    evs = events(texts)
    rulebook = load_rulebook(RULES)
    counter = MemoryWindowCounter()
    for event in evs[:2000]:  # warm the per-character tables and the language model
        rulebook.evaluate(event, counter=counter)
    print(f"corpus: {size:,} messages (FR/EN), {len(rulebook.incoming)} incoming rules, one core\n")
    rate(
        "default packs (4 packs, lang + sentiment when needed)",
        size,
        lambda: [rulebook.evaluate(e, counter=counter) for e in evs],
    )
    rate(
        "default packs + signals=True (lang + sentiment always)",
        size,
        lambda: [rulebook.evaluate(e, counter=counter, signals=True) for e in evs],
    )
    replies = [t for t, _ in texts[:10000]]
    rate(
        "ethics pack on replies (check_reply)",
        len(replies),
        lambda: [rulebook.check_reply(t) for t in replies],
    )

    engine = rulebook.incoming_engine
    regex_engine = MatchEngine()
    mid = regex_engine.new_id()
    for i in range(50):
        regex_engine.add_regex(mid, rf"\b(?:code|ref|commande|order)[ -]?{i:02d}\d{{3,}}\b", "clean")
    regex_engine.build()

    def matching() -> None:
        for event in evs:
            ctx = Context(event, engine, now=event.created_at, counter=counter)
            _ = ctx.hits
            regex_engine.scan("clean", ctx.view("clean"), {})

    terms_total = sum(len(ix.words) for ix in engine._views.values())
    rate(f"matching alone (clean+aggressive, {terms_total} keys, 50 RE2)", size, matching)
    rate(
        "  of which normalisation (clean + aggressive views)",
        size,
        lambda: [aggressive_from_clean(clean(t)) for t, _ in texts],
    )

    rng = random.Random(7)
    vocabulary = sorted({w for t, _ in texts for w in tokens(clean(t))})
    prepared = [aggressive_from_clean(clean(t)) for t, _ in texts]
    results = {}
    for n in (100, 1000, 10000):
        words = [
            f"{''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(4, 9)))}"
            for _ in range(n - 20)
        ] + vocabulary[:20]
        engine_n = MatchEngine()
        mid = engine_n.new_id()
        engine_n.add_terms(mid, words, "word", "aggressive")
        engine_n.build()
        results[n] = rate(
            f"list of {n:>6,} terms (word mode, aggressive view, scan only)",
            size,
            lambda e=engine_n: [e.scan("aggressive", t, {}) for t in prepared],
        )
    print(f"{'slowdown 10,000 vs 100 terms':<58} {1 - results[10000] / results[100]:>12.1%}")

    sample = prepared[:300]
    naive_terms = words[:1000]
    rate(
        "naive loop of re.search per term, 1,000 terms (300 msgs)",
        len(sample),
        lambda: [[re.search(rf"\b{re.escape(w)}\b", t) for w in naive_terms] for t in sample],
    )


def quality() -> None:
    rulebook = load_rulebook(RULES)
    rows = [
        json.loads(line) for line in (ROOT / "tests/data/rulebook_labelled.jsonl").read_text().splitlines()
    ]
    labels = ("toxic", "spam", "pii", "after-sales", "crisis", "negative", "positive")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    mistakes = []
    for row in rows:
        event = Event.model_validate(row["event"])
        got = set(rulebook.evaluate(event).labels)
        want = set(row["labels"])
        for label in labels:
            tp[label] += label in got and label in want
            fp[label] += label in got and label not in want
            fn[label] += label in want and label not in got
        if got != want:
            mistakes.append(f"  {row['event']['text'][:60]!r}: want {sorted(want)} got {sorted(got)}")
    print(
        f"labelled set: {len(rows)} messages "
        f"({Counter(r['lang'] for r in rows)['fr']} FR, {Counter(r['lang'] for r in rows)['en']} EN)\n"
    )
    print(f"{'label':<12} {'support':>7} {'precision':>9} {'recall':>7}")
    for label in labels:
        support = tp[label] + fn[label]
        precision = tp[label] / max(1, tp[label] + fp[label])
        recall = tp[label] / max(1, support)
        print(f"{label:<12} {support:>7} {precision:>9.2f} {recall:>7.2f}")
    print(f"\n{len(mistakes)} messages with a label difference:")
    print("\n".join(mistakes))


def lang_and_sentiment() -> None:
    rows = [
        json.loads(line) for line in (ROOT / "tests/data/rulebook_labelled.jsonl").read_text().splitlines()
    ]
    texts = [(r["event"]["text"], r["lang"]) for r in rows]
    synthetic = corpus(5000)
    for name, data in (("labelled set", texts), ("benchmark corpus (5,000)", synthetic)):
        prepared = [(t, lang, tokens(clean(t))) for t, lang in data]
        for label, fn in (
            ("stopwords + py3langid fallback", lambda t, w: detect(t, w)),
            ("py3langid alone (en/fr)", lambda t, w: detect_model(t)),
        ):
            detect_model("warm up the model")
            started = time.perf_counter()
            right = sum(fn(t, w) == lang for t, lang, w in prepared)
            cost = (time.perf_counter() - started) / len(prepared) * 1e6
            print(f"{name:<26} {label:<32} accuracy {right / len(prepared):6.1%}  {cost:6.1f} µs")
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    polar = [
        (r["event"]["text"], r["lang"], "negative" in r["labels"], "positive" in r["labels"]) for r in rows
    ]
    polar = [p for p in polar if p[2] != p[3]]
    score(["bon"], "fr"), score(["good"], "en"), vader.polarity_scores("warm")
    for lang in ("fr", "en"):
        subset = [p for p in polar if p[1] == lang]
        started = time.perf_counter()
        right = sum((score(tokens(clean(t)), lang) < 0) == negative for t, _, negative, _ in subset)
        cost = (time.perf_counter() - started) / len(subset) * 1e6
        print(
            f"sentiment lexicon ({lang}): sign right on {right}/{len(subset)} polar messages, {cost:.1f} µs"
        )
        started = time.perf_counter()
        right = sum((vader.polarity_scores(t)["compound"] < 0) == negative for t, _, negative, _ in subset)
        cost = (time.perf_counter() - started) / len(subset) * 1e6
        print(f"VADER full analyser ({lang}): sign right on {right}/{len(subset)}, {cost:.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--lang", action="store_true")
    args = parser.parse_args()
    if args.quality:
        quality()
    elif args.lang:
        lang_and_sentiment()
    else:
        throughput(args.size)


if __name__ == "__main__":
    main()
