package sinks

import (
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

func TestObjectNames(t *testing.T) {
	name := ObjectName("feed/", 42)
	if name != "feed/00000000000000000042.jsonl" {
		t.Fatalf("name %s", name)
	}
	if lsn, ok := ParseObjectName("feed/", name); !ok || lsn != 42 {
		t.Fatalf("parse: %d %v", lsn, ok)
	}
	for _, bad := range []string{"other/00000000000000000042.jsonl", "feed/42.jsonl", "feed/00000000000000000042.json", "feed/0000000000000000004x.jsonl"} {
		if _, ok := ParseObjectName("feed/", bad); ok {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestEncodeJSONL(t *testing.T) {
	got, err := EncodeJSONL(7, []string{"id", "name", "img", "score"}, []dataflow.Update{
		{Row: dataflow.Row{dataflow.NewInt(1), dataflow.NewString("ann"), dataflow.NewBytes([]byte{0, 1}), dataflow.NewFloat(1.5)}, Diff: 1},
		{Row: dataflow.Row{dataflow.NewInt(2), dataflow.Null, dataflow.Null, dataflow.NewFloat(0)}, Diff: -2},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"lsn":7,"diff":1,"row":{"id":1,"img":"AAE=","name":"ann","score":1.5}}
{"lsn":7,"diff":-2,"row":{"id":2,"img":null,"name":null,"score":0}}
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRowObjects(t *testing.T) {
	row := func(k string, c dataflow.Datum) dataflow.Row { return dataflow.Row{dataflow.NewString(k), c} }
	bytes := func(s string) dataflow.Datum { return dataflow.NewBytes([]byte(s)) }
	got := RowObjects("t/", []dataflow.Update{
		{Row: row("a", bytes("old")), Diff: -1}, {Row: row("a", bytes("new")), Diff: 1}, // overwrite
		{Row: row("b", bytes("gone")), Diff: -1},                // delete
		{Row: row("c", dataflow.Null), Diff: 1},                 // no content
		{Row: dataflow.Row{dataflow.Null, bytes("x")}, Diff: 1}, // no key
		{Row: row("d", bytes("d1")), Diff: 1},
	}, 0, 1)
	want := []ObjectWrite{{Key: "t/a", Data: []byte("new")}, {Key: "t/b", Delete: true}, {Key: "t/c", Delete: true}, {Key: "t/d", Data: []byte("d1")}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Key != want[i].Key || string(got[i].Data) != string(want[i].Data) || got[i].Delete != want[i].Delete {
			t.Errorf("write %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
