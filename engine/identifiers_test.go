package engine

import (
	"context"
	"testing"

	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// TestBadIdentifiersRefused: names that are not valid UTF-8, hold a NUL, are too long or
// end with a space are refused for every kind of new object (issue 12: such a table could
// not be selected or dropped after a restart).
func TestBadIdentifiersRefused(t *testing.T) {
	ctx := context.Background()
	s := memSession(t)
	if _, err := s.Exec(ctx, "CREATE TABLE ok (id INT PRIMARY KEY, v INT)"); err != nil {
		t.Fatal(err)
	}
	long := "t234567890123456789012345678901234567890123456789012345678901234"
	for _, c := range []struct {
		sql  string
		code uint16
	}{
		{"CREATE TABLE `\xff\xfe` (id INT)", sqlerr.WrongTableName},
		{"CREATE TABLE `a\x00b` (id INT)", sqlerr.WrongTableName},
		{"CREATE TABLE `" + long + "1` (id INT)", sqlerr.WrongTableName},
		{"CREATE TABLE `trailing ` (id INT)", sqlerr.WrongTableName},
		{"CREATE TABLE good (`\xff` INT)", sqlerr.WrongColumnName},
		{"CREATE TABLE good (`a\x00` INT)", sqlerr.WrongColumnName},
		{"CREATE INDEX `i\xff` ON ok (v)", sqlerr.WrongColumnName},
		{"ALTER TABLE ok ADD COLUMN `\xfe` INT", sqlerr.WrongColumnName},
		{"CREATE MATERIALIZED VIEW `v\xff` AS SELECT id FROM ok", sqlerr.WrongTableName},
		{"CREATE MATERIALIZED VIEW v AS SELECT id AS `\xff` FROM ok", sqlerr.WrongColumnName},
		{"CREATE VIEW `p\x00` AS SELECT id FROM ok", sqlerr.WrongTableName},
	} {
		_, err := s.Exec(ctx, c.sql)
		if got := sqlerr.As(err); err == nil || got.Code != c.code {
			t.Errorf("%q: %v, want error %d", c.sql, err, c.code)
		}
	}
	// A name of 64 characters, and any valid Unicode, are fine.
	for _, q := range []string{"CREATE TABLE `" + long + "` (id INT)", "CREATE TABLE `héllo wörld` (`çolumn` INT)"} {
		if _, err := s.Exec(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	res, err := s.Exec(ctx, "SHOW TABLES")
	if err != nil || len(res.Rows) != 3 {
		t.Fatalf("SHOW TABLES: %v %v", res, err)
	}
}

// TestBadIdentifierOfEarlierBuildDroppable: a table an earlier build created with a name
// that is not valid UTF-8 is still listed, and can be dropped, after a restart.
func TestBadIdentifierOfEarlierBuildDroppable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := e.NewSession()
	// As earlier builds did: no name check.
	st, err := sqlplan.Parse("CREATE TABLE `\xff\xfe` (id INT PRIMARY KEY)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.execVitess(ctx, st.(*sqlplan.Vitess).Stmt); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, "CREATE TABLE other (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	e.Close()

	e, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s = e.NewSession()
	defer s.Close()
	if _, err := s.Exec(ctx, "SELECT * FROM `\xff\xfe`"); err != nil {
		t.Errorf("SELECT from the badly named table: %v", err)
	}
	if _, err := s.Exec(ctx, "DROP TABLE `\xff\xfe`"); err != nil {
		t.Fatalf("DROP TABLE: %v", err)
	}
	res, err := s.Exec(ctx, "SHOW TABLES")
	if err != nil || len(res.Rows) != 1 || res.Rows[0].String() != "other" {
		t.Fatalf("SHOW TABLES after the DROP: %v %v", res, err)
	}
}
