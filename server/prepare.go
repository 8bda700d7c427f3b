package server

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/mysql/sqlerror"
	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"
)

// Server-side prepared statements are emulated: ComPrepare only counts the statement's ?
// placeholders, and ComStmtExecute substitutes each bound value, rendered as a SQL literal,
// for its placeholder and runs the text like ComQuery.

// ComPrepare counts the placeholders of query; the result columns are not described
// (clients read them from the execute response).
func (h *handler) ComPrepare(c *mysql.Conn, query string) ([]*querypb.Field, uint16, error) {
	if h.isShutdown() {
		return nil, 0, errShutdown()
	}
	if err := h.splitError(c); err != nil {
		return nil, 0, err
	}
	n := len(placeholders(query))
	if n > math.MaxUint16 {
		return nil, 0, sqlerror.NewSQLErrorf(sqlerror.ErrorCode(1390), sqlerror.SSUnknownSQLState,
			"Prepared statement contains too many placeholders")
	}
	return nil, uint16(n), nil
}

// ComStmtExecute runs a prepared statement with its bound values substituted.
func (h *handler) ComStmtExecute(c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	if prepare == nil {
		return sqlerror.NewSQLError(sqlerror.ERUnknownStmtHandler, sqlerror.SSUnknownSQLState, "Unknown prepared statement handler")
	}
	query, err := bindQuery(prepare.PrepareStmt, prepare.BindVars)
	if err != nil {
		return err
	}
	return h.ComQuery(c, query, callback)
}

// placeholders returns the byte offsets of the ? placeholders of query: those outside
// string literals, quoted identifiers and comments.
func placeholders(query string) []int {
	var out []int
	for i := 0; i < len(query); i++ {
		switch ch := query[i]; ch {
		case '?':
			out = append(out, i)
		case '\'', '"', '`':
			i = skipQuoted(query, i, ch)
		case '#':
			i = skipLine(query, i)
		case '-':
			if strings.HasPrefix(query[i:], "--") && (i+2 == len(query) || isSpace(query[i+2])) {
				i = skipLine(query, i)
			}
		case '/':
			if strings.HasPrefix(query[i:], "/*") {
				if end := strings.Index(query[i+2:], "*/"); end >= 0 {
					i += 2 + end + 1
				} else {
					i = len(query)
				}
			}
		}
	}
	return out
}

// skipQuoted returns the offset of the quote closing the literal opened at query[i]: a
// doubled quote stays inside, and so does a backslash-escaped character in a string.
func skipQuoted(query string, i int, quote byte) int {
	for j := i + 1; j < len(query); j++ {
		switch query[j] {
		case '\\':
			if quote != '`' {
				j++
			}
		case quote:
			if j+1 < len(query) && query[j+1] == quote {
				j++
				continue
			}
			return j
		}
	}
	return len(query)
}

// skipLine returns the offset of the end of the line containing query[i].
func skipLine(query string, i int) int {
	if end := strings.IndexByte(query[i:], '\n'); end >= 0 {
		return i + end
	}
	return len(query)
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

// bindQuery substitutes the bound values v1, v2, ... for the placeholders of query.
func bindQuery(query string, vars map[string]*querypb.BindVariable) (string, error) {
	pos := placeholders(query)
	var b strings.Builder
	last := 0
	for i, p := range pos {
		bv, ok := vars["v"+strconv.Itoa(i+1)]
		if !ok || bv == nil {
			return "", sqlerror.NewSQLErrorf(sqlerror.ERWrongArguments, sqlerror.SSUnknownSQLState,
				"Incorrect arguments to mysqld_stmt_execute: no value for parameter %d of %d", i+1, len(pos))
		}
		lit, err := literal(bv)
		if err != nil {
			return "", err
		}
		b.WriteString(query[last:p])
		b.WriteString(lit)
		last = p + 1
	}
	if len(vars) > len(pos) {
		return "", sqlerror.NewSQLErrorf(sqlerror.ERWrongArguments, sqlerror.SSUnknownSQLState,
			"Incorrect arguments to mysqld_stmt_execute: %d values for %d parameters", len(vars), len(pos))
	}
	b.WriteString(query[last:])
	return b.String(), nil
}

// literal renders a bound value as a SQL literal.
func literal(bv *querypb.BindVariable) (string, error) {
	v := bv.Value
	switch t := bv.Type; {
	case t == sqltypes.Null:
		return "NULL", nil
	case sqltypes.IsIntegral(t):
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return string(v), nil
		}
		if _, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return string(v), nil
		}
		return "", badArgument(t, v)
	case sqltypes.IsFloat(t):
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return "", badArgument(t, v)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case t == sqltypes.Decimal:
		if _, err := strconv.ParseFloat(string(v), 64); err != nil {
			return "", badArgument(t, v)
		}
		return string(v), nil
	case t == sqltypes.Binary || t == sqltypes.VarBinary || t == sqltypes.Blob || t == sqltypes.Bit:
		return hexLiteral(v), nil
	}
	// Text, and everything sent as text (temporal values, JSON, ...). Clients such as
	// go-sql-driver send strings and []byte alike as MYSQL_TYPE_STRING, so text that is not
	// valid UTF-8 is sent on as bytes.
	if !utf8.Valid(v) {
		return hexLiteral(v), nil
	}
	return quote(string(v)), nil
}

// quote is s as a single-quoted string literal, with quotes and backslashes escaped.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// hexLiteral is v as X'..'.
func hexLiteral(v []byte) string { return "X'" + hex.EncodeToString(v) + "'" }

// badArgument is the error for a bound value that is not a valid value of its type.
func badArgument(t querypb.Type, v []byte) error {
	return sqlerror.NewSQLErrorf(sqlerror.ERWrongArguments, sqlerror.SSUnknownSQLState,
		"Incorrect arguments to mysqld_stmt_execute: %q is not a valid %s", v, t)
}
