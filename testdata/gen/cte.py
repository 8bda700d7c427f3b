import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sltgen import Script

script = Script()
header, stmt, query = script.header, script.stmt, script.query
header("""Common table expressions (WITH, not RECURSIVE): named queries inlined where they are
used, each seeing those before it, in one-shot queries and in views (in view mode every
query is also a materialized view maintained through the writes before it). Expected
results were computed by SQLite.""")
stmt("CREATE TABLE t (id INT PRIMARY KEY, g INT, v INT)")
stmt("INSERT INTO t VALUES (1, 1, 10), (2, 1, 20), (3, 2, 5), (4, 3, NULL)")
Q = [
 ("I", "WITH s AS (SELECT g, SUM(v) AS total FROM t GROUP BY g), big AS (SELECT g FROM s WHERE total > 10) SELECT t.id FROM t JOIN big ON big.g = t.g", "A CTE using the one before it, joined."),
 ("III", "WITH s (grp, total) AS (SELECT g, SUM(v) FROM t GROUP BY g) SELECT grp, total, (SELECT count(*) FROM s AS s2 WHERE s2.total >= s.total) FROM s", "Column names, and a correlated subquery over the same CTE."),
 ("II", "WITH x AS (SELECT id, v FROM t WHERE v IS NOT NULL) SELECT a.id, b.id FROM x AS a LEFT JOIN x AS b ON b.v > a.v AND b.v < a.v + 15", "One CTE used twice."),
 ("I", "SELECT id FROM t WHERE g IN (WITH w AS (SELECT g FROM t WHERE v >= 20) SELECT g FROM w)", "WITH inside a subquery."),
]
for t, q, c in Q:
    query(t, q, c)
header("Writes under the CTEs.")
stmt("INSERT INTO t VALUES (5, 2, 100), (6, 3, 1)")
stmt("UPDATE t SET g = 3 WHERE id = 1")
stmt("DELETE FROM t WHERE id = 2")
for t, q, c in Q:
    query(t, q, None)
script.print()
