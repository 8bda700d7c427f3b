package slt

import (
	"math"
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
)

// Literal renders a datum as an SQL literal that compares equal to it.
//
// Integers print in decimal, floats with the shortest exact form (strconv 'g', -1), decimals in
// their canonical text, strings, blobs and times quoted (see quoteString), NULL as NULL. ok is
// false for values that have no literal (NaN and infinities).
func Literal(d dataflow.Datum) (lit string, ok bool) {
	switch d.Kind() {
	case dataflow.KindNull:
		return "NULL", true
	case dataflow.KindInt:
		return strconv.FormatInt(d.Int(), 10), true
	case dataflow.KindFloat:
		f := d.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", false
		}
		return strconv.FormatFloat(f, 'g', -1, 64), true
	case dataflow.KindDecimal:
		return d.Str(), true
	case dataflow.KindString, dataflow.KindBytes:
		return quoteString(d.Str()), true
	case dataflow.KindTime:
		return quoteString(d.String()), true
	}
	return "", false
}

// quoteString quotes s as a MySQL string literal.
//
// Single quotes are doubled and backslashes escaped, since MySQL (and vitess's parser) read
// backslash escapes in literals.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// QuoteIdent backquotes an identifier, doubling backquotes inside it, so keywords are safe.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// DeleteOne builds the statement that deletes one copy of row from table.
//
// It reads "DELETE FROM t WHERE c1 <=> v1 AND ... LIMIT 1"; ok is false when a value has no
// literal or the widths differ.
func DeleteOne(table string, cols []string, row dataflow.Row) (sql string, ok bool) {
	if len(cols) != len(row) || len(cols) == 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(QuoteIdent(table))
	b.WriteString(" WHERE ")
	for i, c := range cols {
		lit, ok := Literal(row[i])
		if !ok {
			return "", false
		}
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(QuoteIdent(c))
		b.WriteString(" <=> ")
		b.WriteString(lit)
	}
	b.WriteString(" LIMIT 1")
	return b.String(), true
}
