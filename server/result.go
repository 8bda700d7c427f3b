package server

import (
	"strings"

	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
)

// Character sets of result columns: utf8mb4_general_ci for text, binary for everything else.
const (
	charsetUTF8   = 45
	charsetBinary = 63
)

// toResult converts an engine result (rows, or an OK with rows affected) to a vitess result.
func toResult(res *engine.Result) *sqltypes.Result {
	if !res.HasRows() {
		return &sqltypes.Result{RowsAffected: uint64(res.RowsAffected)}
	}
	fields := toFields(res.Columns)
	return &sqltypes.Result{Fields: fields, Rows: toRows(fields, res.Rows)}
}

// toFields describes engine columns as MySQL column definitions.
func toFields(cols []engine.Column) []*querypb.Field {
	fields := make([]*querypb.Field, len(cols))
	for i, c := range cols {
		typ := kindType(c.Kind, c.SQLType)
		cs := uint32(charsetBinary)
		flags := uint32(querypb.MySqlFlag_BINARY_FLAG)
		if typ == sqltypes.VarChar {
			cs, flags = charsetUTF8, 0
		}
		if typ == sqltypes.Uint64 {
			flags |= uint32(querypb.MySqlFlag_UNSIGNED_FLAG)
		}
		if sqltypes.IsNumber(typ) {
			flags |= uint32(querypb.MySqlFlag_NUM_FLAG)
		}
		fields[i] = &querypb.Field{Name: c.Name, Type: typ, Charset: cs, Flags: flags, ColumnLength: columnLength(typ)}
	}
	return fields
}

// kindType maps a dataflow kind to the MySQL type sent to clients.
func kindType(k dataflow.Kind, sqlType string) querypb.Type {
	switch k {
	case dataflow.KindInt:
		if strings.Contains(strings.ToUpper(sqlType), "UNSIGNED") {
			return sqltypes.Uint64
		}
		return sqltypes.Int64
	case dataflow.KindFloat:
		return sqltypes.Float64
	case dataflow.KindDecimal:
		return sqltypes.Decimal
	case dataflow.KindString:
		return sqltypes.VarChar
	case dataflow.KindBytes:
		return sqltypes.Blob
	case dataflow.KindTime:
		return sqltypes.Datetime
	case dataflow.KindNull:
		return sqltypes.Null
	}
	return sqltypes.VarChar
}

// columnLength is a display width clients may use to size columns.
func columnLength(t querypb.Type) uint32 {
	switch t {
	case sqltypes.Int64, sqltypes.Uint64:
		return 20
	case sqltypes.Float64:
		return 22
	case sqltypes.Decimal:
		return 65
	case sqltypes.Datetime:
		return 26
	case sqltypes.Null:
		return 0
	}
	return 65535
}

// toRows formats rows as text values of the fields' types; NULL datums become NULL.
func toRows(fields []*querypb.Field, rows []dataflow.Row) []sqltypes.Row {
	out := make([]sqltypes.Row, len(rows))
	for i, row := range rows {
		r := make(sqltypes.Row, len(row))
		for j, d := range row {
			if d.IsNull() {
				r[j] = sqltypes.NULL
				continue
			}
			typ := sqltypes.VarChar
			if j < len(fields) {
				typ = fields[j].Type
			}
			r[j] = sqltypes.MakeTrusted(typ, []byte(d.String()))
		}
		out[i] = r
	}
	return out
}
