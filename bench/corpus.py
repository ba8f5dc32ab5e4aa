#!/usr/bin/env python3
"""A synthetic archive of news-like WordPress posts, as REST API v2 JSON, for benchmarks.

Each post is the bundled seed post (a real 17 KB news article) with its paragraphs rotated and
numbered, so that no two posts are the same text and the size grows linearly with the count;
every tenth post also carries the Gutenberg block unit test's headings, lists, quotes, tables,
images and footnotes. Deterministic: the same count gives the same bytes.

usage: bench/corpus.py COUNT [DAYS_APART] > posts.json

DAYS_APART (default 1) spreads the posts' dates: 400 posts 10 days apart span eleven years, a
blog to make a book in parts by year from.
"""
import datetime
import json, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "fixtures", "rest", "samples")
seed = json.load(open(os.path.join(fixtures, "seed-post-9325.json"), encoding="utf-8"))
seed = seed[0] if isinstance(seed, list) else seed
blocks = json.load(open(os.path.join(fixtures, "gutenberg-posts.json"), encoding="utf-8"))
unit = next(p for p in blocks if p["id"] == 1909)

paragraphs = re.findall(r"<p>.*?</p>", seed["content"]["rendered"], re.S)
rest = re.sub(r"<p>.*?</p>", "", seed["content"]["rendered"], flags=re.S)


def post(i):
    k = i % max(1, len(paragraphs))
    body = paragraphs[k:] + paragraphs[:k]
    body = [p.replace("<p>", f"<p>[{i}.{n}] ", 1) for n, p in enumerate(body)]
    html = "".join(body) + rest
    if i % 10 == 9:
        html += unit["content"]["rendered"]
    if apart == 1:
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        year = 2010 + i // (28 * 12)
    else:
        d = datetime.date(2014, 3, 1) + datetime.timedelta(days=i * apart)
        year, month, day = d.year, d.month, d.day
    p = dict(seed)
    p.update(
        id=100000 + i,
        slug=f"{seed['slug']}-{i}",
        date=f"{year:04d}-{month:02d}-{day:02d}T10:00:00",
        date_gmt=f"{year:04d}-{month:02d}-{day:02d}T10:00:00",
        modified=f"{year:04d}-{month:02d}-{day:02d}T10:00:00",
        modified_gmt=f"{year:04d}-{month:02d}-{day:02d}T10:00:00",
        link=f"{seed['link'].rstrip('/')}-{i}/",
        title={"rendered": f"{seed['title']['rendered']} ({i + 1})"},
        content={"rendered": html, "protected": False},
    )
    return p


count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
apart = int(sys.argv[2]) if len(sys.argv) > 2 else 1
sys.stdout.write("[")
for i in range(count):
    if i:
        sys.stdout.write(",")
    json.dump(post(i), sys.stdout, ensure_ascii=False)
sys.stdout.write("]\n")
