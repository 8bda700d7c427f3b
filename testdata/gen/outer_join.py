import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sltgen import Script

script = Script()
header, stmt, query, db = script.header, script.stmt, script.query, script.db
header("""Outer joins (LEFT, RIGHT and FULL): the inner join plus the preserved side's rows that match nothing, padded
with NULLs. In view mode every query is also a materialized view created before the first
row arrives, so the last match of a row disappearing (and coming back) is checked
incrementally. Expected results were computed by SQLite.""")
stmt("CREATE TABLE cust (id INT PRIMARY KEY, name TEXT, city TEXT)")
stmt("CREATE TABLE ord (id INT PRIMARY KEY, cust INT, amount INT)")
stmt("CREATE TABLE city (name TEXT, country TEXT)")
stmt("INSERT INTO cust VALUES (1, 'ann', 'oslo'), (2, 'bob', 'rome'), (3, 'cyd', NULL), (4, 'dan', 'oslo')")
stmt("INSERT INTO ord VALUES (10, 1, 5), (11, 1, 50), (12, 2, 20), (13, 9, 7), (14, NULL, 1)")
stmt("INSERT INTO city VALUES ('oslo', 'no'), ('oslo', 'no'), ('rome', 'it')")
Q = [
 ("TII", "SELECT c.name, o.id, o.amount FROM cust c LEFT JOIN ord o ON o.cust = c.id", "An equality: customers without orders appear once, with NULLs."),
 ("TI", "SELECT c.name, o.id FROM cust c LEFT JOIN ord o ON o.cust = c.id AND o.amount > 10", "ON mixes an equality and another predicate: it filters the matches, never the preserved rows."),
 ("TI", "SELECT c.name, o.id FROM cust c LEFT JOIN ord o ON o.cust = c.id AND c.city = 'oslo'", "A predicate on the preserved side only in ON."),
 ("IT", "SELECT o.id, c.name FROM cust c RIGHT JOIN ord o ON o.cust = c.id", "RIGHT JOIN: every order, with its customer if any."),
 ("TI", "SELECT c.name, count(o.id) FROM cust c LEFT JOIN ord o ON o.cust = c.id GROUP BY c.name", "Aggregating over an outer join: COUNT of the padded side is 0."),
 ("T", "SELECT c.name FROM cust c LEFT JOIN ord o ON o.cust = c.id WHERE o.id IS NULL", "The anti-join idiom."),
 ("TTT", "SELECT c.name, o.id, t.country FROM cust c LEFT JOIN ord o ON o.cust = c.id LEFT JOIN city t ON t.name = c.city", "Chained outer joins; duplicate city rows double the matches, and a NULL city matches nothing."),
 ("TIT", "SELECT c.name, o.id, t.country FROM cust c JOIN city t ON t.name = c.city LEFT JOIN ord o ON o.cust = c.id AND o.amount < length(t.name) * 10", "An inner join, then an outer join whose condition reads both earlier relations."),
 ("II", "SELECT o.id, c.id FROM ord o LEFT JOIN cust c ON c.id = o.cust AND o.amount > 6", None),
 ("TI", "SELECT c.name, o.id FROM cust c FULL OUTER JOIN ord o ON o.cust = c.id", "FULL JOIN: both sides' unmatched rows, padded."),
 ("TI", "SELECT c.name, o.id FROM cust AS c FULL JOIN (SELECT id, cust FROM ord WHERE amount > 5) AS o ON o.cust = c.id AND c.city IS NOT NULL", None),
]
for t, q, c in Q: query(t, q, c)
header("The last match of a customer goes, a new one comes, keys change.")
stmt("DELETE FROM ord WHERE id = 12")
stmt("UPDATE ord SET cust = 3 WHERE id = 13")
stmt("UPDATE cust SET id = 9 WHERE id = 4")
stmt("INSERT INTO ord VALUES (15, 4, 100)")
stmt("UPDATE cust SET city = 'rome' WHERE id = 1")
stmt("DELETE FROM city WHERE country = 'it'")
for t, q, c in Q: query(t, q, None)
script.print()
