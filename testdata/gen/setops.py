import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sltgen import Script

script = Script()
header, stmt, query, db = script.header, script.stmt, script.query, script.db
header("""INTERSECT and EXCEPT, with and without ALL, which the engine maintains from per-row
counts: EXCEPT ALL keeps max(0, a-b) copies, INTERSECT ALL min(a, b); rows compare whole and
NULLs are equal. In view mode each query is also a materialized view maintained through the
writes before it. Expected results of the DISTINCT forms were computed by SQLite; those of
the ALL forms and of mixed precedence (INTERSECT binds tighter in MySQL, not in SQLite) by
hand from the counts.""")
stmt("CREATE TABLE l (a INT, b TEXT)")
stmt("CREATE TABLE r (a INT, b TEXT)")
stmt("INSERT INTO l VALUES (1, 'x'), (1, 'x'), (2, 'y'), (3, NULL), (NULL, 'z'), (NULL, 'z')")
stmt("INSERT INTO r VALUES (1, 'x'), (3, NULL), (3, NULL), (NULL, 'z'), (4, 'w')")
def counts(rows):
    c = {}
    for r in rows: c[r] = c.get(r, 0) + 1
    return c
def all_ops():
    L = counts(db.execute("SELECT a, b FROM l").fetchall())
    R = counts(db.execute("SELECT a, b FROM r").fetchall())
    ex = [k for k, v in L.items() for _ in range(max(0, v - R.get(k, 0)))]
    it = [k for k, v in L.items() for _ in range(min(v, R.get(k, 0)))]
    return ex, it
def queries(first):
    query("IT", "SELECT a, b FROM l INTERSECT SELECT a, b FROM r", "Rows in both; NULLs are equal." if first else None)
    query("IT", "SELECT a, b FROM l EXCEPT SELECT a, b FROM r", "Rows of the left only." if first else None)
    ex, it = all_ops()
    query("IT", "SELECT a, b FROM l EXCEPT ALL SELECT a, b FROM r", "max(0, a-b) copies of each row." if first else None, expected=ex)
    query("IT", "SELECT a, b FROM l INTERSECT ALL SELECT a, b FROM r", "min(a, b) copies of each row." if first else None, expected=it)
    query("I", "SELECT count(*) FROM (SELECT a FROM l EXCEPT SELECT a FROM r) AS d", "In a derived table." if first else None)
    # MySQL precedence: l UNION (r INTERSECT l) = l UNION (l INTERSECT r) distinct
    rows = db.execute("SELECT a FROM l UNION SELECT a FROM (SELECT a FROM r INTERSECT SELECT a FROM l)").fetchall()
    query("I", "SELECT a FROM l EXCEPT SELECT a FROM r UNION SELECT a FROM r INTERSECT SELECT a FROM l",
          "INTERSECT first, then EXCEPT and UNION from the left: (l EXCEPT r) UNION (r INTERSECT l)." if first else None,
          expected=db.execute("SELECT a FROM (SELECT a FROM l EXCEPT SELECT a FROM r) UNION SELECT a FROM (SELECT a FROM r INTERSECT SELECT a FROM l)").fetchall())
queries(True)
header("Counts change on both sides.")
stmt("DELETE FROM r WHERE a = 1")
stmt("INSERT INTO r VALUES (2, 'y'), (NULL, 'z'), (NULL, 'z')")
stmt("UPDATE l SET a = 3 WHERE a = 1")
stmt("INSERT INTO l VALUES (3, NULL)")
queries(False)
script.print()
