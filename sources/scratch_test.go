package sources

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/genjidb/genji"
	"github.com/genjidb/genji/types"
)

func dump(t *testing.T, tx *genji.Tx, q string, args ...any) {
	res, err := tx.Query(q, args...)
	if err != nil {
		t.Logf("%s: ERR %v", q, err)
		return
	}
	defer res.Close()
	err = res.Iterate(func(d types.Document) error {
		var s string
		d.Iterate(func(f string, v types.Value) error {
			s += fmt.Sprintf("%s=%v(%s,%#v) ", f, v, v.Type(), v.V())
			return nil
		})
		t.Log(s)
		return nil
	})
	if err != nil {
		t.Logf("iter err %v", err)
	}
}

func TestScratch(t *testing.T) {
	db, err := genji.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, _ := db.Begin(true)
	defer tx.Rollback()
	must := func(q string, args ...any) {
		if err := tx.Exec(q, args...); err != nil {
			t.Logf("%s: ERR %v (%T)", q, err, err)
		}
	}
	must("CREATE TABLE `user` (`key` INTEGER NOT NULL, `size` DOUBLE, `Select` TEXT, `b` BLOB, `we\\`ird.x` TEXT, PRIMARY KEY (`key`))")
	must("INSERT INTO `user` (`key`, `size`, `Select`, `b`, `we\\`ird.x`) VALUES (?, ?, ?, ?, ?)", int64(math.MinInt64), math.NaN(), "", []byte{}, "x")
	must("INSERT INTO `user` (`key`, `size`, `Select`, `b`, `we\\`ird.x`) VALUES (?, ?, ?, ?, ?)", int64(math.MaxInt64), math.Inf(-1), "a\x00b", []byte{0, 0, 1}, nil)
	must("INSERT INTO `user` (`key`, `size`, `Select`, `b`, `we\\`ird.x`) VALUES (?, ?, ?, ?, ?)", int64(0), math.Copysign(0, -1), nil, nil, nil)
	must("INSERT INTO `user` (`key`, `size`, `Select`, `b`, `we\\`ird.x`) VALUES (?, ?, ?, ?, ?)", int64(1), 5e-324, nil, nil, nil)
	must("INSERT INTO `user` (`key`, `size`) VALUES (?, ?)", int64(1), 1.0)
	must("INSERT INTO `user` (`key`, `size`) VALUES (?, ?)", nil, 1.0)
	must("INSERT INTO `user` (`key`, `size`) VALUES (?, ?)", int64(7), int64(3))
	dump(t, tx, "SELECT pk(), `key`, `size`, `Select`, `b`, `we\\`ird.x` FROM `user`")
	dump(t, tx, "SELECT * FROM __genji_catalog")
	must("CREATE TABLE s (a TEXT, b DOUBLE, PRIMARY KEY (a, b))")
	for _, a := range []string{"b", "ab", "a", "", "a\x00", "\xff", "B"} {
		must("INSERT INTO s (a, b) VALUES (?, ?)", a, 1.5)
	}
	must("INSERT INTO s (a, b) VALUES (?, ?)", "a", -1.5)
	must("INSERT INTO s (a, b) VALUES (?, ?)", "a", math.Inf(-1))
	must("INSERT INTO s (a, b) VALUES (?, ?)", "a", math.NaN())
	must("INSERT INTO s (a, b) VALUES (?, ?)", "a", 0.0)
	must("INSERT INTO s (a, b) VALUES (?, ?)", "a", math.Copysign(0, -1))
	dump(t, tx, "SELECT pk(), a, b FROM s")
	dump(t, tx, "EXPLAIN SELECT a, b FROM s WHERE a = ? AND b = ?")
	dump(t, tx, "EXPLAIN UPDATE s SET b = ? WHERE a = ? AND b = ?")
	dump(t, tx, "EXPLAIN DELETE FROM s WHERE a = ? AND b = ?")
	dump(t, tx, "EXPLAIN SELECT a FROM s ORDER BY a DESC LIMIT 1")
	must("CREATE TABLE bag (a INTEGER, b TEXT)")
	must("INSERT INTO bag (a, b) VALUES (1, 'x'), (1, 'x')")
	dump(t, tx, "INSERT INTO bag (a, b) VALUES (2, 'y') RETURNING pk()")
	dump(t, tx, "SELECT pk(), * FROM bag")
	dump(t, tx, "EXPLAIN DELETE FROM bag WHERE pk() = [2]")
	must("CREATE UNIQUE INDEX ub ON bag (b)")
	must("CREATE INDEX ub ON bag (a)")
	must("CREATE TABLE bag (a INTEGER)")
	must("CREATE TABLE ub (a INTEGER)")
	dump(t, tx, "SELECT * FROM __genji_catalog")
	must("CREATE SEQUENCE sq")
	dump(t, tx, "INSERT INTO bag (a, b) VALUES (NEXT VALUE FOR sq, 'z') RETURNING a")
	dump(t, tx, "INSERT INTO bag (a, b) VALUES (NEXT VALUE FOR sq, 'zz') RETURNING a")
	_ = time.Now
}
