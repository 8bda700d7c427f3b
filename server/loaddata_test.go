package server

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestLoadDataLocalInfile: go-sql-driver sends a CSV file for LOAD DATA LOCAL INFILE; its
// rows land in the table as one statement (a view over it follows), a file with a bad value
// changes nothing and the connection goes on.
func TestLoadDataLocalInfile(t *testing.T) {
	srv := startServerFull(t, "")
	db := openDB(t, srv.Addr(), "root", "")
	ctx := context.Background()
	mustExec(t, ctx, db, "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40), score INT)",
		"CREATE MATERIALIZED VIEW total AS SELECT COUNT(*) AS n, SUM(score) AS s FROM people")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	var b strings.Builder
	b.WriteString("id,name,score\n")
	for i := 1; i <= 1000; i++ {
		b.WriteString(strings.Join([]string{itoa(i), `"name, ` + itoa(i) + `"`, itoa(i % 10)}, ",") + "\n")
	}
	b.WriteString(`1001,"with ""quotes""",\N` + "\n")
	if err := os.WriteFile(good, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("2000,x,1\n2001,y,notanumber\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mysql.RegisterLocalFile(good)
	mysql.RegisterLocalFile(bad)
	defer mysql.DeregisterLocalFile(good)
	defer mysql.DeregisterLocalFile(bad)

	res, err := db.ExecContext(ctx, "LOAD DATA LOCAL INFILE '"+good+"' INTO TABLE people FIELDS TERMINATED BY ',' ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, name, score)")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1001 {
		t.Errorf("rows affected: %d, want 1001", n)
	}
	var n, s int
	var name string
	if err := db.QueryRowContext(ctx, "SELECT n, s FROM total").Scan(&n, &s); err != nil || n != 1001 || s != 4500 {
		t.Errorf("view after the load: n=%d s=%d %v, want 1001 4500", n, s, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT name FROM people WHERE id = 1001 AND score IS NULL").Scan(&name); err != nil || name != `with "quotes"` {
		t.Errorf("row 1001: %q %v", name, err)
	}
	if _, err := db.ExecContext(ctx, "LOAD DATA LOCAL INFILE '"+bad+"' INTO TABLE people FIELDS TERMINATED BY ','"); err == nil || !strings.Contains(err.Error(), "1366") {
		t.Errorf("a file with a bad value: %v, want error 1366", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM people WHERE id >= 2000").Scan(&n); err != nil || n != 0 {
		t.Errorf("rows of the refused file: %d %v", n, err)
	}
	// In autocommit a file goes in transactions of 1,000 rows: one far larger than a
	// transaction may hold loads, and a bad row stops the load with the chunks before it kept.
	big := filepath.Join(dir, "big.csv")
	b.Reset()
	for i := 10_000; i < 40_000; i++ {
		b.WriteString(itoa(i) + ",pad pad pad pad," + itoa(i%7) + "\n")
		if i == 37_500 {
			b.WriteString("x,bad,1\n")
		}
	}
	if err := os.WriteFile(big, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mysql.RegisterLocalFile(big)
	defer mysql.DeregisterLocalFile(big)
	_, err = db.ExecContext(ctx, "LOAD DATA LOCAL INFILE '"+big+"' INTO TABLE people FIELDS TERMINATED BY ','")
	if err == nil || !strings.Contains(err.Error(), "the 27000 rows before them were committed") {
		t.Errorf("a large file with a bad row: %v", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT n FROM total").Scan(&n); err != nil || n != 1001+27000 {
		t.Errorf("view after the large load: %d %v, want %d", n, err, 1001+27000)
	}
	if _, err := db.ExecContext(ctx, "LOAD DATA INFILE '/etc/passwd' INTO TABLE people"); err == nil || !strings.Contains(err.Error(), "1235") {
		t.Errorf("LOAD DATA INFILE of a server file: %v, want 1235", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
