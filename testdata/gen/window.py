import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sltgen import Script

script = Script()
header, stmt, query, db = script.header, script.stmt, script.query, script.db
header("""Ranking window functions: ROW_NUMBER(), RANK() and DENSE_RANK() OVER (PARTITION BY ...
ORDER BY ...), and the top-k per group they express when filtered. A row entering a
partition renumbers the rows after it; in view mode every query is also a materialized view
maintained through the writes before it. ROW_NUMBER() orders are unique here, so results do
not depend on how ties are numbered. Expected results were computed by SQLite.""")
stmt("CREATE TABLE p (id INT PRIMARY KEY, team TEXT, score INT)")
stmt("INSERT INTO p VALUES (1, 'red', 10), (2, 'red', 50), (3, 'blue', 30), (4, 'blue', 30), (5, 'red', 20), (6, 'gold', NULL)")
Q = [
 ("III", "SELECT id, ROW_NUMBER() OVER (PARTITION BY team ORDER BY score DESC, id), ROW_NUMBER() OVER (ORDER BY id DESC) FROM p", None),
 ("III", "SELECT id, RANK() OVER (ORDER BY score DESC), DENSE_RANK() OVER (PARTITION BY team ORDER BY score) FROM p", "Ties share a rank; NULL sorts last descending, first ascending."),
 ("IT", "SELECT id, team FROM (SELECT id, team, ROW_NUMBER() OVER (PARTITION BY team ORDER BY score DESC, id) AS rn FROM p) AS x WHERE rn <= 2", "The two best of each team."),
 ("TII", "SELECT team, count(*), RANK() OVER (ORDER BY count(*) DESC) FROM p GROUP BY team", "After GROUP BY."),
 ("II", "SELECT id, rn FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY team ORDER BY id DESC) AS rn FROM p) AS x WHERE 1 >= rn", "A bound on ROW_NUMBER() puts a top-k under the numbering: written any way round."),
 ("II", "SELECT id, rn FROM (SELECT id, team, ROW_NUMBER() OVER (ORDER BY score, id) AS rn FROM p) AS x WHERE rn BETWEEN 2 AND 3 AND team <> 'gold'", None),
 ("II", "SELECT id, r FROM (SELECT id, RANK() OVER (ORDER BY score DESC) AS r FROM p) AS x WHERE r < 3", "RANK() keeps its ties: no top-k under it."),
]
for t, q, c in Q: query(t, q, c)
header("Rows enter, leave and move between partitions.")
stmt("INSERT INTO p VALUES (7, 'red', 99), (8, 'blue', 5)")
stmt("DELETE FROM p WHERE id = 3")
stmt("UPDATE p SET team = 'gold' WHERE id = 5")
stmt("UPDATE p SET score = 40 WHERE id = 6")
for t, q, c in Q: query(t, q, None)
script.print()
