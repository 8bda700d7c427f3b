package sqlplan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

func TestParseLoadData(t *testing.T) {
	ld, ok, err := ParseLoadData("load data local infile '/tmp/x.csv' replace into table `my t` character set utf8mb4 " +
		"fields terminated by ',' optionally enclosed by '\"' escaped by '\\\\' lines starting by 'L:' terminated by '\\r\\n' ignore 1 lines (a, `b c`);")
	if err != nil || !ok {
		t.Fatalf("parse: %v %v", ok, err)
	}
	got := fmt.Sprintf("%q %q %v %q %q %q %q %q %d %q", ld.File, ld.Table, ld.Replace, ld.FieldsTerminated, ld.Enclosed, ld.Escaped, ld.LinesStarting, ld.LinesTerminated, ld.IgnoreLines, ld.Columns)
	want := `"/tmp/x.csv" "my t" true "," '"' '\\' "L:" "\r\n" 1 ["a" "b c"]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, ok, _ := ParseLoadData("SELECT 1"); ok {
		t.Error("SELECT 1 is a LOAD DATA")
	}
	for q, code := range map[string]uint16{
		"LOAD DATA INFILE '/etc/passwd' INTO TABLE t":             sqlerr.NotSupported,
		"LOAD DATA LOCAL INFILE x INTO TABLE t":                   sqlerr.Parse,
		"LOAD DATA LOCAL INFILE 'x' INTO TABLE t (@v)":            sqlerr.Parse,
		"LOAD DATA LOCAL INFILE 'x' INTO TABLE t SET a = 1":       sqlerr.NotSupported,
		"LOAD DATA LOCAL INFILE 'x' INTO TABLE t FIELDS junk":     sqlerr.Parse,
		"LOAD DATA LOCAL INFILE 'x' INTO TABLE t trailing":        sqlerr.Parse,
		"LOAD DATA LOCAL INFILE 'x' INTO TABLE t IGNORE -1 LINES": sqlerr.Parse,
	} {
		if _, ok, err := ParseLoadData(q); !ok || sqlerr.As(err) == nil || sqlerr.As(err).Code != code {
			t.Errorf("%s: ok %v, %v, want code %d", q, ok, err, code)
		}
	}
}

func TestLoadDataRows(t *testing.T) {
	show := func(rows [][]dataflow.Datum) string {
		var out []string
		for _, r := range rows {
			var fs []string
			for _, d := range r {
				if d.IsNull() {
					fs = append(fs, "NULL")
				} else {
					fs = append(fs, fmt.Sprintf("%q", d.Str()))
				}
			}
			out = append(out, strings.Join(fs, ","))
		}
		return strings.Join(out, " | ")
	}
	tsv := &LoadData{FieldsTerminated: "\t", Escaped: '\\', LinesTerminated: "\n"}
	if got := show(tsv.Rows([]byte("1\ta\\tb\t\\N\n2\t\t\\\\N\n3"))); got != `"1","a\tb",NULL | "2","","\\N" | "3"` {
		t.Errorf("tab-separated: %s", got)
	}
	csv := &LoadData{FieldsTerminated: ",", Enclosed: '"', Escaped: '\\', LinesTerminated: "\r\n", IgnoreLines: 1}
	if got := show(csv.Rows([]byte("id,text\r\n1,\"a, \"\"b\"\"\",NULL\r\n2,\"x\\ny\",\"NULL\"\r\n"))); got != `"1","a, \"b\"",NULL | "2","x\ny","NULL"` {
		t.Errorf("csv: %s", got)
	}
	starting := &LoadData{FieldsTerminated: ",", LinesStarting: "xx", LinesTerminated: "\n"}
	if got := show(starting.Rows([]byte("skip\nxx1,2\nnoise xx3,4\n"))); got != `"1","2" | "3","4"` {
		t.Errorf("lines starting by: %s", got)
	}
}

// FuzzLoadData: any statement text parses or fails cleanly, and any file cuts into rows
// without a panic, every row having at least one field, no more rows than the data has
// line terminators plus one.
func FuzzLoadData(f *testing.F) {
	f.Add("LOAD DATA LOCAL INFILE 'f' INTO TABLE t", []byte("1\ta\n2\t\\N\n"))
	f.Add("load data local infile 'x.csv' replace into table `t` fields terminated by ',' optionally enclosed by '\"' escaped by '\\\\' lines starting by 'L' terminated by '\\r\\n' ignore 2 lines (a, b)",
		[]byte("id,x\r\nL1,\"a,\"\"b\"\r\nL2,\\N\r\n"))
	f.Add("LOAD DATA LOCAL INFILE 'f' INTO TABLE t FIELDS ENCLOSED BY '' ESCAPED BY '' LINES TERMINATED BY ';'", []byte(";;\"\\"))
	f.Fuzz(func(t *testing.T, stmt string, data []byte) {
		ld, ok, err := ParseLoadData(stmt)
		if !ok || err != nil {
			return
		}
		rows := ld.Rows(data)
		if max := strings.Count(string(data), ld.LinesTerminated) + 1; len(rows) > max {
			t.Fatalf("%d rows from data with %d line terminators", len(rows), max-1)
		}
		for _, r := range rows {
			if len(r) == 0 {
				t.Fatal("a row without fields")
			}
		}
	})
}
