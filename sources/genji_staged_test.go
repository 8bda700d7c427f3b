package sources

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// stagedSchema is a keyed table with a unique index and a table without primary key.
var (
	stagedKeyed = TableSchema{Name: "k", Columns: []ColumnSchema{
		{Name: "id", Kind: dataflow.KindInt}, {Name: "u", Kind: dataflow.KindString}, {Name: "v", Kind: dataflow.KindInt},
	}, PrimaryKey: []int{0}}
	stagedBag = TableSchema{Name: "b", Columns: []ColumnSchema{{Name: "x", Kind: dataflow.KindInt}}}
)

// stagedStore opens a store with the two tables and seed rows 0..9 (u = "u<id>").
func stagedStore(t *testing.T) *Store {
	s := openMem(t)
	update(t, s, func(tx *Txn) {
		must(t, tx.CreateTable(stagedKeyed))
		must(t, tx.CreateTable(stagedBag))
		must(t, tx.CreateIndex("ux", "k", []string{"u"}, true))
		for i := range 10 {
			mustKey(t)(tx.Insert(stagedKeyed, keyedRow(i, fmt.Sprintf("u%d", i), i)))
			mustKey(t)(tx.Insert(stagedBag, dataflow.Row{dataflow.NewInt(int64(i % 3))}))
		}
	})
	return s
}

func keyedRow(id int, u string, v int) dataflow.Row {
	uv := dataflow.NewString(u)
	if u == "" {
		uv = dataflow.Datum{}
	}
	return dataflow.Row{dataflow.NewInt(int64(id)), uv, dataflow.NewInt(int64(v))}
}

func keyOf(id int) []byte { return dataflow.AppendKey(nil, dataflow.NewInt(int64(id))) }

// outcome prints what a write returned: its key, or its MySQL error code.
func outcome(key []byte, err error) string {
	switch {
	case errors.Is(err, ErrRowNotFound):
		return "not found"
	case err != nil:
		var e *sqlerr.Error
		if errors.As(err, &e) {
			return fmt.Sprintf("error %d", e.Code)
		}
		return "error " + err.Error()
	}
	return fmt.Sprintf("%x", key)
}

// contents prints a table's rows in scan order (keys for the keyed table; the bag's rows
// sorted, since the two stores draw different row ids).
func contents(t *testing.T, tx *Txn, ts TableSchema) string {
	keys, rows := scanAll(t, tx, ts)
	var out []string
	for i, r := range rows {
		if ts.Name == stagedBag.Name {
			out = append(out, r.String())
		} else {
			out = append(out, fmt.Sprintf("%x=%s", keys[i], r))
		}
	}
	if ts.Name == stagedBag.Name {
		slices.Sort(out)
	}
	return strings.Join(out, " ")
}

// TestStagedMatchesGenji: random writes and reads through a staged transaction answer as the
// same ones through a Genji write transaction (keys, rows, duplicate-key and not-found
// errors, scans in key order), and replaying the staged writes leaves the same tables.
func TestStagedMatchesGenji(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { testStagedMatchesGenji(t, seed) })
	}
}

func testStagedMatchesGenji(t *testing.T, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 7))
	direct, stagedS := stagedStore(t), stagedStore(t)
	d := begin(t, direct, true)
	s, err := stagedS.BeginStaged()
	must(t, err)
	defer s.Rollback()
	var bagKeysD, bagKeysS [][]byte
	for step := range 200 {
		id := rnd.IntN(16)
		u := fmt.Sprintf("u%d", rnd.IntN(16))
		if rnd.IntN(8) == 0 {
			u = "" // NULL: never a duplicate
		}
		var gotD, gotS string
		what := rnd.IntN(7)
		switch what {
		case 0, 1:
			row := keyedRow(id, u, step)
			gotD, gotS = outcome(d.Insert(stagedKeyed, row)), outcome(s.Insert(stagedKeyed, row))
		case 2:
			row := keyedRow(rnd.IntN(16), u, step) // may move the row to another key
			gotD, gotS = outcome(d.Update(stagedKeyed, keyOf(id), row)), outcome(s.Update(stagedKeyed, keyOf(id), row))
		case 3:
			gotD, gotS = outcome(nil, d.Delete(stagedKeyed, keyOf(id))), outcome(nil, s.Delete(stagedKeyed, keyOf(id)))
		case 4:
			rd, fd, errD := d.Get(stagedKeyed, keyOf(id))
			rs, fs, errS := s.Get(stagedKeyed, keyOf(id))
			gotD, gotS = fmt.Sprint(rd, fd, errD), fmt.Sprint(rs, fs, errS)
		case 5:
			row := dataflow.Row{dataflow.NewInt(int64(step))}
			kd, err := d.Insert(stagedBag, row)
			must(t, err)
			ks, err := s.Insert(stagedBag, row)
			must(t, err)
			bagKeysD, bagKeysS = append(bagKeysD, kd), append(bagKeysS, ks)
			if rnd.IntN(2) == 0 {
				i := rnd.IntN(len(bagKeysD))
				must(t, d.Delete(stagedBag, bagKeysD[i]))
				must(t, s.Delete(stagedBag, bagKeysS[i]))
				bagKeysD = slices.Delete(bagKeysD, i, i+1)
				bagKeysS = slices.Delete(bagKeysS, i, i+1)
			}
		default:
			gotD, gotS = contents(t, d, stagedKeyed)+" | "+contents(t, d, stagedBag), contents(t, s, stagedKeyed)+" | "+contents(t, s, stagedBag)
		}
		if gotD != gotS {
			t.Fatalf("step %d (op %d, id %d, u %q): Genji %s, staged %s", step, what, id, u, gotD, gotS)
		}
	}
	want := contents(t, d, stagedKeyed) + " | " + contents(t, d, stagedBag)
	w := begin(t, stagedS, true)
	w.StartStatement()
	_, err = w.ApplyStaged(s)
	must(t, err)
	must(t, w.Commit())
	r := begin(t, stagedS, false)
	if got := contents(t, r, stagedKeyed) + " | " + contents(t, r, stagedBag); got != want {
		t.Fatalf("after replay:\n%s\nwant\n%s", got, want)
	}
}

// TestStagedIsolation: two staged transactions do not see each other's writes nor later
// commits; replaying the second after the first fails on a key both inserted (1062), and
// its undo takes back the part of it already replayed.
func TestStagedIsolation(t *testing.T) {
	st := stagedStore(t)
	a, err := st.BeginStaged()
	must(t, err)
	defer a.Rollback()
	b, err := st.BeginStaged()
	must(t, err)
	defer b.Rollback()
	mustKey(t)(a.Insert(stagedKeyed, keyedRow(20, "a", 1)))
	mustKey(t)(b.Insert(stagedKeyed, keyedRow(20, "b", 2)))
	must(t, b.Delete(stagedKeyed, keyOf(2)))                         // replayed before b's insert fails
	mustKey(t)(b.Update(stagedKeyed, keyOf(3), keyedRow(3, "x", 3))) // so is this
	must(t, a.Delete(stagedKeyed, keyOf(1)))
	if _, found, _ := b.Get(stagedKeyed, keyOf(1)); !found {
		t.Fatal("b sees a's delete")
	}
	w := begin(t, st, true)
	_, err = w.ApplyStaged(a)
	must(t, err)
	must(t, w.Commit())
	if _, found, _ := b.Get(stagedKeyed, keyOf(20)); found {
		if r, _, _ := b.Get(stagedKeyed, keyOf(20)); r[1].String() != "b" {
			t.Fatal("b sees a's commit")
		}
	}
	w = begin(t, st, true)
	w.StartStatement()
	undo, err := w.ApplyStaged(b)
	if code := outcome(nil, err); code != "error 1062" {
		t.Fatalf("replaying b: %s, want 1062", code)
	}
	must(t, w.Undo(undo))
	must(t, w.Commit())
	r := begin(t, st, false)
	if row, found, _ := r.Get(stagedKeyed, keyOf(20)); !found || row[1].String() != "a" {
		t.Fatalf("row 20 after a: %v %v", row, found)
	}
	if _, found, _ := r.Get(stagedKeyed, keyOf(2)); !found {
		t.Fatal("undoing b's replay did not bring back row 2")
	}
	if row, _, _ := r.Get(stagedKeyed, keyOf(3)); row[1].String() != "u3" {
		t.Fatalf("undoing b's replay left row 3 as %v", row)
	}
}

// TestStagedDeferredChecks: with DeferChecks a new row is not looked up in the snapshot, and
// the replay refuses a key or unique value the last commit holds (1062); collisions among
// the transaction's own rows are still refused at once.
func TestStagedDeferredChecks(t *testing.T) {
	st := stagedStore(t)
	for _, row := range []dataflow.Row{keyedRow(1, "new", 1), keyedRow(30, "u2", 1)} {
		tx, err := st.BeginStaged()
		must(t, err)
		tx.DeferChecks()
		mustKey(t)(tx.Insert(stagedKeyed, row)) // collides with a committed row: not seen yet
		if _, err := tx.Insert(stagedKeyed, row); outcome(nil, err) != "error 1062" {
			t.Fatalf("the same row twice in one transaction: %v", err)
		}
		w := begin(t, st, true)
		w.StartStatement()
		undo, err := w.ApplyStaged(tx)
		if outcome(nil, err) != "error 1062" {
			t.Fatalf("replaying %v: %v, want 1062", row, err)
		}
		must(t, w.Undo(undo))
		must(t, w.Rollback())
		must(t, tx.Rollback())
	}
}
