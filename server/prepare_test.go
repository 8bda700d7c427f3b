package server

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"vitess.io/vitess/go/sqltypes"
)

// TestPreparedStatements runs statements with parameters through the binary protocol
// (go-sql-driver without interpolateParams prepares every statement that has arguments).
func TestPreparedStatements(t *testing.T) {
	tenth := 0.1
	addr := startServer(t, "")
	db := openDB(t, addr, "root", "")
	ctx := testCtx(t)
	mustExec(t, ctx, db, "CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(50), c DOUBLE)")

	res, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?)", 1, "x", 1.5)
	if err != nil {
		t.Fatalf("insert with params: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("rows affected = %d, want 1", n)
	}
	for _, args := range [][]any{
		{2, nil, nil},                         // NULL parameters
		{3, "it's a \\ 'quote'", tenth + 0.2}, // quotes, a backslash, a float needing 17 digits
		{int64(math.MaxInt64), "?", -1e300},   // a ? inside a value is not a placeholder
	} {
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?)", args...); err != nil {
			t.Fatalf("insert %v: %v", args, err)
		}
	}

	// Typed scans of a prepared SELECT (binary result rows).
	var a int64
	var b string
	var c float64
	if err := db.QueryRowContext(ctx, "SELECT * FROM t WHERE a = ?", 1).Scan(&a, &b, &c); err != nil {
		t.Fatalf("select with a param: %v", err)
	}
	if a != 1 || b != "x" || c != 1.5 {
		t.Errorf("row 1 = %d %q %v", a, b, c)
	}
	if err := db.QueryRowContext(ctx, "SELECT b, c FROM t WHERE a = ?", 3).Scan(&b, &c); err != nil {
		t.Fatal(err)
	}
	if b != "it's a \\ 'quote'" || c != tenth+0.2 {
		t.Errorf("row 3 = %q %v, want %q %v", b, c, "it's a \\ 'quote'", tenth+0.2)
	}
	got := queryStrings(t, testCtx(t), db, "SELECT a, b, c FROM t WHERE a >= ? AND b = '?' ORDER BY a", 2)
	sameRows(t, "? in a literal", got, [][]string{{fmt.Sprint(int64(math.MaxInt64)), "?", "-1e+300"}})
	got = queryStrings(t, testCtx(t), db, "SELECT a, b, c FROM t WHERE b IS NULL /* ? */ AND a = ? -- ?\n", 2)
	sameRows(t, "NULL row", got, [][]string{{"2", "NULL", "NULL"}})
	got = queryStrings(t, testCtx(t), db, "SELECT a FROM t WHERE b = ? ORDER BY a", "it's a \\ 'quote'")
	sameRows(t, "string param", got, [][]string{{"3"}})

	// A statement prepared once and executed several times.
	stmt, err := db.PrepareContext(ctx, "SELECT b FROM t WHERE a = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for id, want := range map[int]string{1: "x", 3: "it's a \\ 'quote'"} {
		if err := stmt.QueryRowContext(ctx, id).Scan(&b); err != nil || b != want {
			t.Errorf("stmt(%d) = %q, %v; want %q", id, b, err, want)
		}
	}
	// The wrong number of arguments is an error (reported by database/sql, which reads the
	// parameter count the server returned at prepare).
	if _, err := stmt.QueryContext(ctx, 1, 2); err == nil || !strings.Contains(err.Error(), "expected 1 arguments, got 2") {
		t.Errorf("two arguments for one placeholder: got %v", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?)", 9, "y"); err == nil || !strings.Contains(err.Error(), "expected 3 arguments, got 2") {
		t.Errorf("two arguments for three placeholders: got %v", err)
	}

	// Engine errors come back with their codes.
	_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?)", 1, "dup", 0)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 {
		t.Errorf("duplicate key through a prepared statement: got %v, want 1062", err)
	}
	// The connection pool still works.
	sameRows(t, "count", queryStrings(t, ctx, db, "SELECT COUNT(*) FROM t"), [][]string{{"4"}})
}

func TestPlaceholders(t *testing.T) {
	for q, want := range map[string]int{
		"SELECT ?":                                1,
		"SELECT '?', \"?\", `?`, ?":               1,
		"SELECT 'it''s ?', 'a\\'?', ? # ?\n, ?":   2,
		"SELECT /* ? */ ? -- ?\n, ?--?":           3,
		"SELECT 1 -- ?":                           0,
		"INSERT INTO t VALUES (?, ?), (?, '?')":   3,
		"SELECT * FROM t WHERE a = ? AND b = '?'": 1,
	} {
		if got := len(placeholders(q)); got != want {
			t.Errorf("placeholders(%q) = %d, want %d", q, got, want)
		}
	}
}

func TestLiteral(t *testing.T) {
	tenth := 0.1
	for _, c := range []struct {
		v    sqltypes.Value
		want string
	}{
		{sqltypes.NULL, "NULL"},
		{sqltypes.NewInt64(-7), "-7"},
		{sqltypes.NewUint64(math.MaxUint64), "18446744073709551615"},
		{sqltypes.NewFloat64(tenth + 0.2), "0.30000000000000004"},
		{sqltypes.NewVarChar("a'b\\c"), `'a\'b\\c'`},
		{sqltypes.NewVarBinary("\x00\xff"), "X'00ff'"},
		{sqltypes.MakeTrusted(sqltypes.Char, []byte("\xff")), "X'ff'"},
	} {
		got, err := literal(sqltypes.ValueBindVariable(c.v))
		if err != nil || got != c.want {
			t.Errorf("literal(%v) = %s, %v; want %s", c.v, got, err, c.want)
		}
	}
}

// TestPreparedBytes sends []byte parameters that are not text (go-sql-driver sends strings
// and []byte alike as MYSQL_TYPE_STRING).
func TestPreparedBytes(t *testing.T) {
	addr := startServer(t, "")
	db := openDB(t, addr, "root", "")
	ctx := testCtx(t)
	mustExec(t, ctx, db, "CREATE TABLE b (id INT PRIMARY KEY, v BLOB)")
	want := []byte{0, 0xff, '\'', '\\', 0x80}
	if _, err := db.ExecContext(ctx, "INSERT INTO b VALUES (?, ?)", 1, want); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := db.QueryRowContext(ctx, "SELECT v FROM b WHERE id = ?", 1).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("bytes round trip: got %x, want %x", got, want)
	}
}
