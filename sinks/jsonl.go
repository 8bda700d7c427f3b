// Package sinks turns a view's changes into what external systems keep: objects of JSON
// lines named by LSN. It is pure: the engine reads the changes and writes the objects.
package sinks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
)

// ObjectName is the name of the object that holds the changes of one LSN: the prefix and the
// LSN zero-padded to 20 digits, so that names sort like LSNs. Writing the same LSN again
// rewrites the same object, which makes a retried write idempotent.
func ObjectName(prefix string, lsn uint64) string {
	return fmt.Sprintf("%s%020d.jsonl", prefix, lsn)
}

// ParseObjectName returns the LSN of an object name made by ObjectName with prefix.
func ParseObjectName(prefix, name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, ".jsonl")
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// EncodeJSONL encodes one LSN's changes as JSON lines {"lsn":n,"diff":d,"row":{...}}, a line
// per update, with the row's values under the view's column names. Integers are numbers,
// decimals and times strings ("2026-11-27 10:00:00"), bytes base64, NULL null.
func EncodeJSONL(lsn uint64, columns []string, updates []dataflow.Update) ([]byte, error) {
	var b strings.Builder
	for _, u := range updates {
		row := make(map[string]any, len(columns))
		for i, c := range columns {
			if i < len(u.Row) {
				row[c] = jsonValue(u.Row[i])
			}
		}
		line, err := json.Marshal(struct {
			LSN  uint64         `json:"lsn"`
			Diff int64          `json:"diff"`
			Row  map[string]any `json:"row"`
		}{lsn, u.Diff, row})
		if err != nil {
			return nil, fmt.Errorf("encode change at LSN %d: %w", lsn, err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// jsonValue is the JSON form of a datum.
func jsonValue(d dataflow.Datum) any {
	switch d.Kind() {
	case dataflow.KindNull:
		return nil
	case dataflow.KindInt:
		return d.Int()
	case dataflow.KindFloat:
		return d.Float()
	case dataflow.KindBytes:
		return base64.StdEncoding.EncodeToString([]byte(d.Str()))
	default:
		return d.String()
	}
}
