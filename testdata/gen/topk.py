import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sltgen import Script

script = Script()
header, stmt, query, db = script.header, script.stmt, script.query, script.db
header("""ORDER BY ... LIMIT maintained as top-k: in views, derived tables and (per domain value)
correlated subqueries. In view mode every query is also a materialized view created before
the first row arrives, so rows entering and leaving the top-k are checked incrementally.
Order keys are unique, so the results do not depend on how ties are broken. Expected
results were computed by SQLite.""")
stmt("CREATE TABLE player (id INT PRIMARY KEY, team TEXT, score INT)")
stmt("INSERT INTO player VALUES (1, 'red', 10), (2, 'red', 50), (3, 'blue', 30), (4, 'blue', 40), (5, 'red', 20), (6, 'green', NULL)")
Q = [
 ("II", "SELECT id, score FROM player ORDER BY score DESC, id LIMIT 3", "The three best; NULL sorts last descending.", "nosort"),
 ("I", "SELECT id FROM player ORDER BY score, id LIMIT 2 OFFSET 1", "OFFSET skips; NULL sorts first ascending.", "nosort"),
 ("TI", "SELECT team, (SELECT p.id FROM player p WHERE p.team = t.team ORDER BY p.score DESC, p.id LIMIT 1) FROM (SELECT DISTINCT team FROM player) AS t", "The best of each team: a top-1 per domain value.", "rowsort"),
 ("I", "SELECT sum(score) FROM (SELECT score FROM player ORDER BY score DESC, id LIMIT 2) AS best", "A derived table with LIMIT.", "rowsort"),
 ("TI", "SELECT team, count(*) FROM (SELECT team FROM player ORDER BY id DESC LIMIT 4) AS recent GROUP BY team", None, "rowsort"),
]
for t, q, c, s in Q: query(t, q, c, s)
header("The best leaves, a new best arrives, a team empties, scores change order.")
stmt("DELETE FROM player WHERE id = 2")
stmt("INSERT INTO player VALUES (7, 'blue', 99), (8, 'green', 0)")
stmt("UPDATE player SET score = 35 WHERE id = 1")
stmt("DELETE FROM player WHERE team = 'green'")
stmt("UPDATE player SET team = 'red' WHERE id = 4")
for t, q, c, s in Q: query(t, q, None, s)
script.print()
