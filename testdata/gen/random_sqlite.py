# Random sqllogictest scripts over the common subset of MySQL and SQLite semantics, with
# expected results computed by SQLite: fresh scripts the engine has never been run against.
import random, sqlite3, sys
seed = int(sys.argv[1]); nq = int(sys.argv[2])
rng = random.Random(seed)
db = sqlite3.connect(":memory:")
out = ["# Random queries (joins, outer joins, correlated subqueries, GROUP BY, HAVING, DISTINCT)\n"
       "# written by testdata/gen/random_sqlite.py with seed %d; expected results from SQLite.\n"
       "# In view mode every query is also a materialized view maintained through the inserts." % seed, ""]
def stmt(sql):
    db.execute(sql); out.append("statement ok\n%s\n" % sql)
def fmt(v):
    return "NULL" if v is None else str(int(v))
tables = {"t1": ["a", "b", "c"], "t2": ["a", "d", "e"], "t3": ["b", "f"]}
for t, cols in tables.items():
    stmt("CREATE TABLE %s (%s)" % (t, ", ".join(c + " INTEGER" for c in cols)))
def val():
    return "NULL" if rng.random() < 0.15 else str(rng.randint(-5, 9))
for t, cols in tables.items():
    for _ in range(rng.randint(4, 9)):
        stmt("INSERT INTO %s VALUES (%s)" % (t, ", ".join(val() for _ in cols)))
def col(alias, t):
    return "%s.%s" % (alias, rng.choice(tables[t]))
def scalar(refs, depth=0):
    r = rng.random()
    if r < 0.35 or depth > 2:
        a, t = rng.choice(refs); return col(a, t)
    if r < 0.5:
        return str(rng.randint(-3, 9))
    if r < 0.75:
        return "(%s %s %s)" % (scalar(refs, depth+1), rng.choice(["+", "-", "*"]), scalar(refs, depth+1))
    if r < 0.85:
        return "COALESCE(%s, %s)" % (scalar(refs, depth+1), scalar(refs, depth+1))
    if r < 0.93:
        return "CASE WHEN %s THEN %s ELSE %s END" % (pred(refs, depth+1), scalar(refs, depth+1), scalar(refs, depth+1))
    return "ABS(%s)" % scalar(refs, depth+1)
def pred(refs, depth=0, sub=True):
    r = rng.random()
    if depth > 2 or r < 0.4:
        return "%s %s %s" % (scalar(refs, depth+1), rng.choice(["=", "<>", "<", "<=", ">", ">="]), scalar(refs, depth+1))
    if r < 0.55:
        return "(%s %s %s)" % (pred(refs, depth+1, sub), rng.choice(["AND", "OR"]), pred(refs, depth+1, sub))
    if r < 0.62:
        return "NOT (%s)" % pred(refs, depth+1, sub)
    if r < 0.7:
        return "%s IS %sNULL" % (scalar(refs, depth+1), rng.choice(["", "NOT "]))
    if r < 0.77:
        return "%s %sBETWEEN %s AND %s" % (scalar(refs, depth+1), rng.choice(["", "NOT "]), rng.randint(-3, 3), rng.randint(2, 8))
    if r < 0.84:
        return "%s %sIN (%s)" % (scalar(refs, depth+1), rng.choice(["", "NOT "]), ", ".join(str(rng.randint(-3, 9)) for _ in range(rng.randint(1, 4))))
    if not sub:
        return "%s = %s" % (scalar(refs, depth+1), scalar(refs, depth+1))
    # subqueries, often correlated
    t = rng.choice(list(tables)); a = "s%d" % rng.randint(0, 99)
    inner = refs + [(a, t)]
    where = pred(inner, depth+2, False)
    r2 = rng.random()
    if r2 < 0.35:
        return "%sEXISTS (SELECT 1 FROM %s %s WHERE %s)" % (rng.choice(["", "NOT "]), t, a, where)
    if r2 < 0.7:
        return "%s %sIN (SELECT %s FROM %s %s WHERE %s)" % (scalar(refs, depth+1), rng.choice(["", "NOT "]), col(a, t), t, a, where)
    return "%s %s (SELECT %s(%s) FROM %s %s WHERE %s)" % (scalar(refs, depth+1), rng.choice(["=", "<", ">="]), rng.choice(["COUNT", "MAX", "MIN", "SUM"]), col(a, t), t, a, where)
def query():
    n = rng.randint(1, 2)
    names = rng.sample(list(tables), n)
    refs = [("x%d" % i, t) for i, t in enumerate(names)]
    frm = "%s %s" % (names[0], refs[0][0])
    if n == 2:
        kind = rng.choice(["JOIN", "LEFT JOIN", ",", "JOIN"])
        on = pred(refs, 1, False)
        frm += (" , %s %s" % (names[1], refs[1][0])) if kind == "," else (" %s %s %s ON %s" % (kind, names[1], refs[1][0], on))
    where = " WHERE " + pred(refs) if rng.random() < 0.8 else ""
    if rng.random() < 0.3:
        g = col(*rng.choice(refs))
        aggs = ["COUNT(*)", "SUM(%s)" % scalar(refs, 2), "MIN(%s)" % scalar(refs, 2), "MAX(%s)" % col(*rng.choice(refs))]
        sel = [g] + rng.sample(aggs, rng.randint(1, 3))
        having = " HAVING COUNT(*) %s %d" % (rng.choice([">", ">=", "<"]), rng.randint(0, 3)) if rng.random() < 0.3 else ""
        return "SELECT %s FROM %s%s GROUP BY %s%s" % (", ".join(sel), frm, where, g, having), len(sel)
    k = rng.randint(1, 3)
    sel = [scalar(refs) for _ in range(k)]
    if rng.random() < 0.15:
        t = rng.choice(list(tables)); a = "q"
        sel.append("(SELECT COUNT(*) FROM %s %s WHERE %s)" % (t, a, pred(refs + [(a, t)], 2, False)))
    d = "DISTINCT " if rng.random() < 0.2 else ""
    return "SELECT %s%s FROM %s%s" % (d, ", ".join(sel), frm, where), len(sel)
made = 0
while made < nq:
    q, w = query()
    try:
        rows = db.execute(q).fetchall()
    except Exception:
        continue
    # skip results sqlite computes with a type MySQL would not (floats from ints never appear here)
    if any(isinstance(v, float) for r in rows for v in r):
        continue
    vals = sorted([[fmt(v) for v in r] for r in rows])
    out.append("query %s rowsort\n%s\n----\n%s\n" % ("I" * w, q, "\n".join(v for r in vals for v in r)))
    made += 1
print("\n".join(out))
