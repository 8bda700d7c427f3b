package engine

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/mysql/decimal"
)

// columnRule is what a column's declared type demands beyond its kind.
type columnRule struct {
	maxChars int   // CHAR(n)/VARCHAR(n) length, 0 for none
	scale    int32 // DECIMAL(m,d) scale, -1 for none
}

// columnType maps a declared SQL type to the kind that stores it and its rule.
func columnType(typ string, length, scale *int) (dataflow.Kind, columnRule, error) {
	rule := columnRule{scale: -1}
	switch strings.ToLower(typ) {
	case "int", "integer", "bigint", "smallint", "tinyint", "mediumint", "bool", "boolean", "bit", "year":
		return dataflow.KindInt, rule, nil
	case "float", "double", "real", "double precision":
		return dataflow.KindFloat, rule, nil
	case "decimal", "numeric", "dec", "fixed":
		rule.scale = 0
		if scale != nil {
			rule.scale = int32(*scale)
		}
		return dataflow.KindDecimal, rule, nil
	case "char", "varchar", "nchar", "nvarchar", "character", "national char":
		if length != nil {
			rule.maxChars = *length
		} else if strings.EqualFold(typ, "char") {
			rule.maxChars = 1
		}
		return dataflow.KindString, rule, nil
	case "text", "tinytext", "mediumtext", "longtext", "json", "enum", "set", "time":
		return dataflow.KindString, rule, nil
	case "blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary":
		return dataflow.KindBytes, rule, nil
	case "datetime", "timestamp", "date":
		return dataflow.KindTime, rule, nil
	}
	return 0, rule, sqlerr.New(sqlerr.NotSupported, "column type %s is not supported", typ)
}

// coerce converts a value to a column's type as MySQL's strict mode does: lossless or
// rounding conversions succeed, anything else is an error naming the column.
func coerce(d dataflow.Datum, col sources.ColumnSchema, rule columnRule, rowNum int) (dataflow.Datum, error) {
	if d.IsNull() {
		if col.NotNull {
			return d, sqlerr.New(sqlerr.BadNull, "Column '%s' cannot be null", col.Name)
		}
		return d, nil
	}
	bad := func() error {
		return sqlerr.New(sqlerr.WrongValue, "Incorrect %s value: '%s' for column '%s' at row %d",
			strings.ToLower(col.Kind.String()), d.String(), col.Name, rowNum)
	}
	switch col.Kind {
	case dataflow.KindInt:
		switch d.Kind() {
		case dataflow.KindInt:
			return d, nil
		case dataflow.KindFloat:
			return intFromFloat(d.Float(), col)
		case dataflow.KindDecimal:
			f, _ := d.Decimal().Round(0).Float64()
			return intFromFloat(f, col)
		case dataflow.KindString:
			s := strings.TrimSpace(d.Str())
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return dataflow.NewInt(n), nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return intFromFloat(f, col)
			}
		}
		return d, bad()
	case dataflow.KindFloat:
		switch d.Kind() {
		case dataflow.KindFloat:
			return d, nil
		case dataflow.KindInt, dataflow.KindDecimal:
			f, _ := d.ToFloat()
			return dataflow.NewFloat(f), nil
		case dataflow.KindString:
			if f, err := strconv.ParseFloat(strings.TrimSpace(d.Str()), 64); err == nil {
				return dataflow.NewFloat(f), nil
			}
		}
		return d, bad()
	case dataflow.KindDecimal:
		var v decimal.Decimal
		switch d.Kind() {
		case dataflow.KindDecimal:
			v = d.Decimal()
		case dataflow.KindInt:
			v = decimal.NewFromInt(d.Int())
		case dataflow.KindFloat:
			v = decimal.NewFromFloat(d.Float())
		case dataflow.KindString:
			p, err := decimal.NewFromString(strings.TrimSpace(d.Str()))
			if err != nil {
				return d, bad()
			}
			v = p
		default:
			return d, bad()
		}
		if rule.scale >= 0 {
			// DECIMAL(m,d) keeps exactly d digits after the point, as MySQL prints them.
			return dataflow.NewDecimalText(v.StringFixed(rule.scale))
		}
		return dataflow.NewDecimal(v), nil
	case dataflow.KindString:
		var s string
		switch d.Kind() {
		case dataflow.KindString, dataflow.KindBytes:
			s = d.Str()
		default:
			s = d.String()
		}
		if rule.maxChars > 0 && utf8.RuneCountInString(s) > rule.maxChars {
			return d, sqlerr.New(sqlerr.DataTooLong, "Data too long for column '%s' at row %d", col.Name, rowNum)
		}
		return dataflow.NewString(s), nil
	case dataflow.KindBytes:
		switch d.Kind() {
		case dataflow.KindBytes:
			return d, nil
		case dataflow.KindString:
			return dataflow.NewBytes([]byte(d.Str())), nil
		}
		return dataflow.NewBytes([]byte(d.String())), nil
	case dataflow.KindTime:
		switch d.Kind() {
		case dataflow.KindTime:
			return d, nil
		case dataflow.KindString:
			if us, ok := dataflow.ParseDateTime(d.Str()); ok {
				return dataflow.NewTimeMicros(us), nil
			}
		}
		return d, sqlerr.New(sqlerr.WrongValue, "Incorrect datetime value: '%s' for column '%s' at row %d", d.String(), col.Name, rowNum)
	}
	return d, bad()
}

func intFromFloat(f float64, col sources.ColumnSchema) (dataflow.Datum, error) {
	r := math.RoundToEven(f)
	if math.Abs(f-math.Trunc(f)) == 0.5 {
		r = math.Round(f) // MySQL rounds half away from zero
	}
	if r >= 9.223372036854775807e18 || r < -9.223372036854775808e18 || math.IsNaN(r) {
		return dataflow.Null, sqlerr.New(sqlerr.DataOutOfRange, "Out of range value for column '%s'", col.Name)
	}
	return dataflow.NewInt(int64(r)), nil
}
