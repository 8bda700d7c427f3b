"""Shared helpers of the generators: an SQLite database and a script being written."""
import sqlite3


class Script:
    """A sqllogictest script whose expected results SQLite computes."""

    def __init__(self):
        self.db = sqlite3.connect(":memory:")
        self.out = []

    def header(self, text):
        self.out.append("\n".join("# " + l for l in text.strip().splitlines()))
        self.out.append("")

    def stmt(self, sql):
        self.db.execute(sql)
        self.out.append("statement ok\n" + sql + "\n")

    def query(self, types, sql, comment=None, sort="rowsort", expected=None):
        """Adds a query record; expected rows default to SQLite's result."""
        rows = self.db.execute(sql).fetchall() if expected is None else expected
        lines = [[fmt(v, types[i]) for i, v in enumerate(r)] for r in rows]
        if sort == "rowsort":
            lines.sort()
        if comment:
            self.out.append("\n".join("# " + l for l in comment.strip().splitlines()))
        body = "\n".join(v for r in lines for v in r)
        self.out.append("query %s %s\n%s\n----\n%s\n" % (types, sort, sql, body))

    def print(self):
        print("\n".join(self.out))


def fmt(v, t):
    """Prints a value as sqllogictest does: I integer, T text, R real with 3 decimals."""
    if v is None:
        return "NULL"
    if t == "I":
        return str(int(v))
    if t == "T":
        return "(empty)" if v == "" else str(v)
    return "%.3f" % v
