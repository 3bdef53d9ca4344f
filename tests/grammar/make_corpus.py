"""Builds corpus.txt: every golden query, extra queries for features the
golden files do not cover, and broken variants of them (cut short), so the
corpus holds both valid and invalid LogQL. Run from this folder; the output
is committed, so the test does not depend on this script."""
import pathlib

root = pathlib.Path(__file__).resolve().parents[2]
queries = []
for path in sorted((root / "testdata" / "queries").glob("*.lq")):
    for line in path.read_text().splitlines():
        if line.startswith("query: "):
            queries.append(line[len("query: "):])
queries += (pathlib.Path(__file__).parent / "extra.txt").read_text().splitlines()
queries = [q for q in queries if q.strip() and not q.startswith("#")]

seen, corpus = set(), []
def add(q):
    if q.strip() and q not in seen:
        seen.add(q)
        corpus.append(q)

for q in queries:
    add(q)
for q in queries:
    add(q[:-1])
    add(q[: len(q) // 2])
(pathlib.Path(__file__).parent / "corpus.txt").write_text("\n".join(corpus) + "\n")
print(len(corpus), "queries")
