package sources

import (
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/genjidb/genji"
	"github.com/genjidb/genji/document"
)

// Genji's CREATE INDEX adds the index to its in-memory catalog, which has no lock of its own
// (catMu stands in), and then builds it, in one statement: the catalog lock would be held
// for the whole build, and every read of a table waits for it (12 s for 1M text keys). So
// the store runs the two halves apart: Genji's Catalog.CreateIndex under the catalog lock,
// then REINDEX, which only reads the catalog, without it. Catalog.CreateIndex takes
// arguments of types internal to Genji, so it is called through reflection, with the
// transaction taken out of genji.Tx; genjiIndexCall checks, once, that the types are the
// ones this code expects.

// testBeforeIndexBuild, set by tests, runs before CREATE INDEX builds the index.
var testBeforeIndexBuild func(*Store)

// genjiIndexCall is the reflective call of Genji's Catalog.CreateIndex, set up once.
type genjiIndexCall struct {
	err      error
	txType   reflect.Type // *database.Transaction
	infoType reflect.Type // database.IndexInfo
	txOffset uintptr      // of genji.Tx's *database.Transaction
}

var indexCall = func() *genjiIndexCall {
	c := &genjiIndexCall{}
	fail := func(format string, args ...any) *genjiIndexCall {
		c.err = fmt.Errorf("create index: Genji's catalog API is not the expected one: "+format, args...)
		return c
	}
	dbField, ok := reflect.TypeOf(genji.DB{}).FieldByName("DB")
	if !ok {
		return fail("genji.DB has no field DB")
	}
	catalogField, ok := dbField.Type.Elem().FieldByName("Catalog")
	if !ok {
		return fail("database.Database has no Catalog")
	}
	create, ok := catalogField.Type.MethodByName("CreateIndex")
	if !ok || create.Type.NumIn() != 3 || create.Type.NumOut() != 1 {
		return fail("Catalog.CreateIndex is missing or has another signature")
	}
	c.txType, c.infoType = create.Type.In(1), create.Type.In(2)
	if c.txType.Kind() != reflect.Pointer || c.infoType.Kind() != reflect.Pointer {
		return fail("Catalog.CreateIndex takes %v, %v", c.txType, c.infoType)
	}
	c.infoType = c.infoType.Elem()
	txField, ok := reflect.TypeOf(genji.Tx{}).FieldByName("tx")
	if !ok || txField.Type != c.txType {
		return fail("genji.Tx holds no %v", c.txType)
	}
	c.txOffset = txField.Offset
	for name, kind := range map[string]reflect.Kind{"IndexName": reflect.String, "Paths": reflect.Slice, "Unique": reflect.Bool, "Owner": reflect.Struct} {
		if f, ok := c.infoType.FieldByName(name); !ok || f.Type.Kind() != kind {
			return fail("IndexInfo.%s", name)
		}
	}
	if f, _ := c.infoType.FieldByName("Paths"); f.Type != reflect.TypeOf([]document.Path(nil)) {
		return fail("IndexInfo.Paths is %v", f.Type)
	}
	if f, _ := c.infoType.FieldByName("Owner"); !hasStringField(f.Type, "TableName") {
		return fail("IndexInfo.Owner.TableName")
	}
	return c
}()

// hasStringField reports whether struct type t has a string field of that name.
func hasStringField(t reflect.Type, name string) bool {
	f, ok := t.FieldByName(name)
	return ok && f.Type.Kind() == reflect.String
}

// createIndexUnbuilt adds index gidx on the given fields of Genji table gtable to Genji's
// catalog, in the transaction, with no entries: REINDEX builds them. It holds the catalog
// lock while it changes the catalog.
func (t *Txn) createIndexUnbuilt(gidx, gtable string, fields []string, unique bool) error {
	c := indexCall
	if c.err != nil {
		return c.err
	}
	info := reflect.New(c.infoType)
	info.Elem().FieldByName("IndexName").SetString(gidx)
	paths := make([]document.Path, len(fields))
	for i, f := range fields {
		paths[i] = document.Path{document.PathFragment{FieldName: f}}
	}
	info.Elem().FieldByName("Paths").Set(reflect.ValueOf(paths))
	info.Elem().FieldByName("Unique").SetBool(unique)
	info.Elem().FieldByName("Owner").FieldByName("TableName").SetString(gtable)
	inner := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(t.tx), c.txOffset))
	if inner == nil {
		return errors.New("create index: the transaction has no Genji transaction")
	}
	t.s.catMu.Lock()
	defer t.s.catMu.Unlock()
	t.changeCatalog()
	out := reflect.ValueOf(t.s.db.DB.Catalog).MethodByName("CreateIndex").Call(
		[]reflect.Value{reflect.NewAt(c.txType.Elem(), inner), info})
	if err, _ := out[0].Interface().(error); err != nil {
		return err
	}
	return nil
}
