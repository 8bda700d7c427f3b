package slt

import (
	"slices"
	"testing"
)

func TestStripOrderBy(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT a FROM t1 ORDER BY 1", "SELECT a FROM t1"},
		{"SELECT a\n  FROM t1\n ORDER BY a DESC, 2;", "SELECT a\n  FROM t1"},
		{"SELECT a FROM t1 order\n by 1", "SELECT a FROM t1"},
		{"SELECT a FROM t1 ORDER BY 1 LIMIT 3", "SELECT a FROM t1 ORDER BY 1 LIMIT 3"},
		{"SELECT a FROM t1 ORDER BY 1 LIMIT 3 OFFSET 1", "SELECT a FROM t1 ORDER BY 1 LIMIT 3 OFFSET 1"},
		{"SELECT (SELECT b FROM t2 ORDER BY b LIMIT 1) FROM t1", "SELECT (SELECT b FROM t2 ORDER BY b LIMIT 1) FROM t1"},
		{"SELECT a FROM (SELECT a FROM t1 ORDER BY a) AS x ORDER BY a", "SELECT a FROM (SELECT a FROM t1 ORDER BY a) AS x"},
		{"SELECT 'ORDER BY 1' FROM t1", "SELECT 'ORDER BY 1' FROM t1"},
		{"SELECT 'it''s' FROM t1 ORDER BY 1", "SELECT 'it''s' FROM t1"},
		{"SELECT a FROM t1 ORDER BY a UNION SELECT b FROM t2", "SELECT a FROM t1 ORDER BY a UNION SELECT b FROM t2"},
		{"SELECT a FROM t1 UNION SELECT b FROM t2 ORDER BY 1", "SELECT a FROM t1 UNION SELECT b FROM t2"},
		{"SELECT a, (SELECT MAX(x) FROM t2 WHERE x < a) AS m FROM t1 WHERE a > 0 ORDER BY m", "SELECT a, (SELECT MAX(x) FROM t2 WHERE x < a) AS m FROM t1 WHERE a > 0"},
		{"SELECT `order` FROM t1", "SELECT `order` FROM t1"},
		{"SELECT 1;", "SELECT 1"},
	} {
		if got := StripOrderBy(c.in); got != c.want {
			t.Errorf("StripOrderBy(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDropTargetsAndCreatedView(t *testing.T) {
	for _, c := range []struct {
		sql   string
		names []string
		views bool
	}{
		{"DROP TABLE tab0", []string{"tab0"}, false},
		{"drop table if exists T1, `t 2`;", []string{"t1", "t 2"}, false},
		{"DROP VIEW view1", []string{"view1"}, true},
		{"DROP MATERIALIZED VIEW db.v", []string{"v"}, true},
		{"DROP INDEX i1 ON t1", nil, false},
		{"DELETE FROM t1", nil, false},
	} {
		names, views := DropTargets(c.sql)
		if !slices.Equal(names, c.names) || views != c.views {
			t.Errorf("DropTargets(%q) = %q, %v; want %q, %v", c.sql, names, views, c.names, c.views)
		}
	}
	for sql, want := range map[string]string{
		"CREATE VIEW view1 AS SELECT x FROM t1":               "view1",
		"CREATE TEMP VIEW view2 AS SELECT 1":                  "view2",
		"create materialized view `MV`(a) AS SELECT 1":        "mv",
		"CREATE OR REPLACE VIEW v3 AS SELECT 1":               "v3",
		"CREATE VIEW IF NOT EXISTS v4 AS SELECT 1":            "v4",
		"CREATE TABLE t1(a INTEGER)":                          "",
		"CREATE INDEX view_idx ON t1(a)":                      "",
		"INSERT INTO t1 SELECT * FROM view1 WHERE x > 1":      "",
		"  CREATE  MATERIALIZED\n VIEW v5 AS SELECT * FROM t": "v5",
	} {
		if got := CreatedView(sql); got != want {
			t.Errorf("CreatedView(%q) = %q, want %q", sql, got, want)
		}
	}
}

func TestViewReads(t *testing.T) {
	v := &view{sql: "SELECT x FROM tab10 AS cor0 WHERE 'tab1' <> `Tab2`"}
	for names, want := range map[string]bool{
		"tab10": true, "tab1": false, "tab2": true, "cor0": true, "tab": false,
	} {
		if got := v.reads(map[string]bool{names: true}); got != want {
			t.Errorf("reads(%s) = %v, want %v", names, got, want)
		}
	}
	if v.reads(nil) {
		t.Error("reads(nil) = true")
	}
}
