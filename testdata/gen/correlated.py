import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sltgen import Script

script = Script()
header, stmt, query, db = script.header, script.stmt, script.query, script.db
header("""Correlated subqueries, decorrelated with their domain into joins, reductions and
anti-joins. In view mode every query is also a materialized view created before the first
row arrives, so each result is also checked incrementally through the writes before it
(and the deletes at the end of the file). Expected results were computed by SQLite.""")
stmt("CREATE TABLE dept (id INT PRIMARY KEY, name TEXT, budget INT)")
stmt("CREATE TABLE emp (id INT PRIMARY KEY, dept INT, salary INT, boss INT)")
stmt("INSERT INTO dept VALUES (1, 'eng', 100), (2, 'ops', 50), (3, 'art', 10), (4, 'law', NULL)")
stmt("INSERT INTO emp VALUES (1, 1, 90, NULL), (2, 1, 70, 1), (3, 1, 70, 1), (4, 2, 60, 1), (5, 2, NULL, 4), (6, NULL, 50, 1), (7, 3, 40, 4)")

Q = [
 ("T", "SELECT name FROM dept d WHERE EXISTS (SELECT 1 FROM emp e WHERE e.dept = d.id)", "EXISTS and NOT EXISTS with an equality: a semi-join and an anti-join on the domain."),
 ("T", "SELECT name FROM dept d WHERE NOT EXISTS (SELECT * FROM emp e WHERE e.dept = d.id AND e.salary > 45)", None),
 ("II", "SELECT id, (SELECT count(*) FROM emp x WHERE x.salary > e.salary) FROM emp e", "A count over an inequality: no match is 0, and a NULL salary matches nothing."),
 ("TII", "SELECT d.name, (SELECT max(salary) FROM emp e WHERE e.dept = d.id), (SELECT count(salary) FROM emp e WHERE e.dept = d.id) FROM dept d", "Aggregates over no rows: NULL, and 0 for COUNT."),
 ("TI", "SELECT d.name, (SELECT e.id FROM emp e WHERE e.boss IS NULL AND e.dept = d.id) FROM dept d", "A scalar subquery without aggregate: its one row's value, or NULL."),
 ("I", "SELECT id FROM emp e WHERE salary IN (SELECT x.salary FROM emp x WHERE x.dept = e.dept AND x.id <> e.id)", "IN, correlated."),
 ("II", "SELECT id, salary NOT IN (SELECT x.salary FROM emp x WHERE x.dept = e.dept AND x.id < e.id) FROM emp e", "NOT IN with NULLs on both sides: NULL where a NULL is compared, 1 for an empty subquery."),
 ("I", "SELECT id FROM emp e WHERE salary > (SELECT avg(salary) FROM emp x WHERE x.dept = e.dept)", "A comparison with a correlated aggregate in WHERE."),
 ("T", "SELECT d.name FROM dept d WHERE EXISTS (SELECT 1 FROM emp e WHERE e.dept = d.id AND EXISTS (SELECT 1 FROM emp b WHERE b.id = e.boss AND b.dept <> d.id))", "Two levels: the inner subquery reads both enclosing queries."),
 ("II", "SELECT e.id, (SELECT count(*) FROM emp x WHERE x.dept = e.dept) FROM emp e", "A NULL correlation key equals nothing."),
 ("TI", "SELECT name, budget - (SELECT sum(salary) FROM emp e WHERE e.dept = d.id) FROM dept d WHERE budget > (SELECT count(*) FROM emp e WHERE e.dept = d.id)", "Several correlated subqueries in one query, in the select list and in WHERE."),
 ("ITI", "SELECT dept, (SELECT name FROM dept d WHERE d.id = e.dept), count(*) FROM emp e GROUP BY dept", "After GROUP BY: the subquery reads the group's columns."),
 ("II", "SELECT dept, max(salary) FROM emp e GROUP BY dept HAVING max(salary) >= (SELECT budget FROM dept d WHERE d.id = e.dept) - 40", None),
 ("I", "SELECT id FROM emp e WHERE (SELECT count(*) FROM emp x WHERE x.dept = e.dept) NOT IN (SELECT count(*) FROM emp y WHERE y.salary > e.salary)", "A subquery inside the left operand of IN."),
]
for t, q, c in Q: query(t, q, c)

header("Writes that move rows in and out of every subquery's domain and results.")
stmt("UPDATE emp SET dept = 3 WHERE id = 3")
stmt("UPDATE emp SET salary = 95 WHERE id = 2")
stmt("DELETE FROM emp WHERE id = 1")
stmt("INSERT INTO emp VALUES (8, 4, NULL, 2), (9, 1, 95, 2)")
stmt("UPDATE dept SET budget = 0 WHERE id = 2")
stmt("UPDATE emp SET dept = NULL WHERE id = 7")
for t, q, c in Q: query(t, q, None)
script.print()
