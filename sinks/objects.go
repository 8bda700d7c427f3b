package sinks

import (
	"slices"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
)

// ObjectWrite is one object a sink puts (Data) or deletes.
type ObjectWrite struct {
	Key    string
	Data   []byte
	Delete bool
}

// MarkerName is the object in which a sink of FORMAT = 'objects' keeps the last LSN it wrote.
func MarkerName(prefix string) string { return prefix + ".cdc-sink-lsn" }

// RowObjects turns one LSN's changes of a view into the object writes that keep one object
// per row: the object named prefix + the row's key column holds its content column. Per
// key, a row inserted is put (the last one, if several); a key only retracted is deleted, and
// so is a row whose content is NULL. Rows with a NULL key are skipped. Writes are in key
// order.
func RowObjects(prefix string, updates []dataflow.Update, keyCol, contentCol int) []ObjectWrite {
	byKey := map[string]*ObjectWrite{}
	for _, u := range updates {
		k := u.Row[keyCol]
		if k.Kind() == dataflow.KindNull || u.Diff == 0 {
			continue
		}
		name := prefix + keyText(k)
		w, ok := byKey[name]
		if !ok {
			w = &ObjectWrite{Key: name, Delete: true}
			byKey[name] = w
		}
		if u.Diff > 0 {
			c := u.Row[contentCol]
			if c.Kind() == dataflow.KindNull {
				*w = ObjectWrite{Key: name, Delete: true}
			} else {
				*w = ObjectWrite{Key: name, Data: []byte(c.Str())}
			}
		}
	}
	out := make([]ObjectWrite, 0, len(byKey))
	for _, w := range byKey {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b ObjectWrite) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// keyText is the text of a key value in an object name.
func keyText(d dataflow.Datum) string {
	switch d.Kind() {
	case dataflow.KindString, dataflow.KindBytes:
		return d.Str()
	}
	return d.String()
}
