package sqlplan

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// LoadData is LOAD DATA LOCAL INFILE: the client sends the file, whose lines become rows of
// a table, as MySQL reads them.
type LoadData struct {
	File            string
	Table           string
	Replace, Ignore bool
	// FieldsTerminated, Enclosed (0: none) and Escaped (0: none) split a line into fields;
	// LinesStarting and LinesTerminated cut the data into lines.
	FieldsTerminated string
	Enclosed         byte
	Escaped          byte
	LinesStarting    string
	LinesTerminated  string
	IgnoreLines      int
	Columns          []string // nil: every column of the table, in order
}

// ParseLoadData parses a LOAD DATA statement; ok is false for any other statement.
func ParseLoadData(sql string) (ld *LoadData, ok bool, err error) {
	lx := &loadLexer{s: sql}
	if !lx.word("LOAD") || !lx.word("DATA") {
		return nil, false, nil
	}
	syntax := func(what string) error {
		return sqlerr.New(sqlerr.Parse, "You have an error in your SQL syntax near '%s' (LOAD DATA: %s)", lx.rest(), what)
	}
	ld = &LoadData{FieldsTerminated: "\t", Escaped: '\\', LinesTerminated: "\n"}
	if !lx.word("LOW_PRIORITY") {
		lx.word("CONCURRENT")
	}
	if !lx.word("LOCAL") {
		if lx.word("INFILE") {
			return nil, true, sqlerr.New(sqlerr.NotSupported, "LOAD DATA INFILE would read a file on the server, which cdc does not do: use LOAD DATA LOCAL INFILE (the client sends the file)")
		}
		return nil, true, syntax("expected LOCAL INFILE")
	}
	if !lx.word("INFILE") {
		return nil, true, syntax("expected INFILE")
	}
	var okStr bool
	if ld.File, okStr = lx.str(); !okStr {
		return nil, true, syntax("expected the file name as a string")
	}
	switch {
	case lx.word("REPLACE"):
		ld.Replace = true
	case lx.word("IGNORE"):
		ld.Ignore = true
	}
	if !lx.word("INTO") || !lx.word("TABLE") {
		return nil, true, syntax("expected INTO TABLE")
	}
	if ld.Table = lx.ident(); ld.Table == "" {
		return nil, true, syntax("expected a table name")
	}
	if lx.word("CHARACTER") {
		if !lx.word("SET") || lx.ident() == "" {
			return nil, true, syntax("expected CHARACTER SET name")
		}
	}
	if lx.word("FIELDS") || lx.word("COLUMNS") {
		for any := false; ; any = true {
			switch {
			case lx.word("TERMINATED"):
				if ld.FieldsTerminated, okStr = lx.by(); !okStr || ld.FieldsTerminated == "" {
					return nil, true, syntax("expected TERMINATED BY a string")
				}
			case lx.word("OPTIONALLY"), lx.word("ENCLOSED"):
				lx.word("ENCLOSED")
				c, ok := lx.by()
				if !ok || len(c) > 1 {
					return nil, true, syntax("expected ENCLOSED BY one character")
				}
				ld.Enclosed = firstByte(c)
			case lx.word("ESCAPED"):
				c, ok := lx.by()
				if !ok || len(c) > 1 {
					return nil, true, syntax("expected ESCAPED BY one character")
				}
				ld.Escaped = firstByte(c)
			default:
				if !any {
					return nil, true, syntax("expected TERMINATED, ENCLOSED or ESCAPED BY")
				}
				goto lines
			}
		}
	}
lines:
	if lx.word("LINES") {
		for any := false; ; any = true {
			switch {
			case lx.word("STARTING"):
				if ld.LinesStarting, okStr = lx.by(); !okStr {
					return nil, true, syntax("expected STARTING BY a string")
				}
			case lx.word("TERMINATED"):
				if ld.LinesTerminated, okStr = lx.by(); !okStr || ld.LinesTerminated == "" {
					return nil, true, syntax("expected TERMINATED BY a string")
				}
			default:
				if !any {
					return nil, true, syntax("expected STARTING or TERMINATED BY")
				}
				goto ignore
			}
		}
	}
ignore:
	if lx.word("IGNORE") {
		n, err := strconv.Atoi(lx.number())
		if err != nil || n < 0 || !(lx.word("LINES") || lx.word("ROWS")) {
			return nil, true, syntax("expected IGNORE n LINES")
		}
		ld.IgnoreLines = n
	}
	if lx.punct('(') {
		for {
			c := lx.ident()
			if c == "" || strings.HasPrefix(c, "@") {
				return nil, true, syntax("expected a column name (user variables are not supported)")
			}
			ld.Columns = append(ld.Columns, c)
			if lx.punct(')') {
				break
			}
			if !lx.punct(',') {
				return nil, true, syntax("expected , or )")
			}
		}
	}
	if lx.word("SET") {
		return nil, true, sqlerr.New(sqlerr.NotSupported, "LOAD DATA ... SET is not supported yet")
	}
	lx.punct(';')
	if lx.rest() != "" {
		return nil, true, syntax("unexpected text")
	}
	return ld, true, nil
}

func firstByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

// Rows cuts data into lines and fields: each row's values are strings, or NULL for \N
// (with an escape character) and for an unenclosed NULL. The first IgnoreLines lines are
// skipped; a line without LinesStarting is skipped too, as in MySQL.
func (ld *LoadData) Rows(data []byte) [][]dataflow.Datum {
	var rows [][]dataflow.Datum
	skip := ld.IgnoreLines
	for len(data) > 0 {
		if ld.LinesStarting != "" {
			i := bytes.Index(data, []byte(ld.LinesStarting))
			if i < 0 {
				break
			}
			data = data[i+len(ld.LinesStarting):]
		}
		row, rest := ld.line(data)
		data = rest
		if skip > 0 {
			skip--
			continue
		}
		rows = append(rows, row)
	}
	return rows
}

// line reads the fields of one line and returns them with the data after its terminator.
func (ld *LoadData) line(data []byte) ([]dataflow.Datum, []byte) {
	var row []dataflow.Datum
	ft, lt := []byte(ld.FieldsTerminated), []byte(ld.LinesTerminated)
	for {
		var field []byte
		enclosed, escapedNull := false, false
		i := 0
		if ld.Enclosed != 0 && len(data) > 0 && data[0] == ld.Enclosed {
			enclosed = true
			i = 1
			for i < len(data) {
				c := data[i]
				switch {
				case ld.Escaped != 0 && c == ld.Escaped && i+1 < len(data):
					field = append(field, unescape(data[i+1]))
					i += 2
				case c == ld.Enclosed && i+1 < len(data) && data[i+1] == ld.Enclosed:
					field = append(field, c)
					i += 2
				case c == ld.Enclosed:
					i++
					goto closed
				default:
					field = append(field, c)
					i++
				}
			}
		closed:
		}
		for i < len(data) && !bytes.HasPrefix(data[i:], ft) && !bytes.HasPrefix(data[i:], lt) {
			c := data[i]
			if ld.Escaped != 0 && c == ld.Escaped && i+1 < len(data) {
				if data[i+1] == 'N' && len(field) == 0 && !enclosed {
					escapedNull = true
				}
				field = append(field, unescape(data[i+1]))
				i += 2
				continue
			}
			field = append(field, c)
			i++
		}
		switch {
		case escapedNull && string(field) == "N":
			row = append(row, dataflow.Null)
		case !enclosed && string(field) == "NULL" && ld.Enclosed != 0:
			row = append(row, dataflow.Null)
		default:
			row = append(row, dataflow.NewString(string(field)))
		}
		data = data[i:]
		switch {
		case bytes.HasPrefix(data, ft):
			data = data[len(ft):]
		case bytes.HasPrefix(data, lt):
			return row, data[len(lt):]
		default:
			return row, nil
		}
	}
}

// unescape is the character an escape sequence stands for (MySQL's: \0 \b \n \r \t \Z).
func unescape(c byte) byte {
	switch c {
	case '0':
		return 0
	case 'b':
		return '\b'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'Z':
		return 26
	}
	return c
}

// loadLexer reads the words, strings and punctuation of a LOAD DATA statement.
type loadLexer struct {
	s   string
	pos int
}

func (lx *loadLexer) space() {
	for lx.pos < len(lx.s) && unicode.IsSpace(rune(lx.s[lx.pos])) {
		lx.pos++
	}
}

func (lx *loadLexer) rest() string {
	lx.space()
	return lx.s[lx.pos:]
}

// word consumes the keyword w (any case) if it comes next.
func (lx *loadLexer) word(w string) bool {
	lx.space()
	end := lx.pos + len(w)
	if end > len(lx.s) || !strings.EqualFold(lx.s[lx.pos:end], w) {
		return false
	}
	if end < len(lx.s) && isIdentByte(lx.s[end]) {
		return false
	}
	lx.pos = end
	return true
}

func (lx *loadLexer) punct(c byte) bool {
	lx.space()
	if lx.pos < len(lx.s) && lx.s[lx.pos] == c {
		lx.pos++
		return true
	}
	return false
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c == '@' || c >= 0x80 || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
}

// ident reads a name, bare or in backquotes ("" if none comes next).
func (lx *loadLexer) ident() string {
	lx.space()
	if lx.pos < len(lx.s) && lx.s[lx.pos] == '`' {
		var b strings.Builder
		for i := lx.pos + 1; i < len(lx.s); i++ {
			if lx.s[i] == '`' {
				if i+1 < len(lx.s) && lx.s[i+1] == '`' {
					b.WriteByte('`')
					i++
					continue
				}
				lx.pos = i + 1
				return b.String()
			}
			b.WriteByte(lx.s[i])
		}
		return ""
	}
	start := lx.pos
	for lx.pos < len(lx.s) && (isIdentByte(lx.s[lx.pos]) || lx.s[lx.pos] == '.') {
		lx.pos++
	}
	return lx.s[start:lx.pos]
}

func (lx *loadLexer) number() string {
	lx.space()
	start := lx.pos
	for lx.pos < len(lx.s) && lx.s[lx.pos] >= '0' && lx.s[lx.pos] <= '9' {
		lx.pos++
	}
	return lx.s[start:lx.pos]
}

// by reads BY 'string'.
func (lx *loadLexer) by() (string, bool) {
	if !lx.word("BY") {
		return "", false
	}
	return lx.str()
}

// str reads a quoted string with MySQL's escapes.
func (lx *loadLexer) str() (string, bool) {
	lx.space()
	if lx.pos >= len(lx.s) || (lx.s[lx.pos] != '\'' && lx.s[lx.pos] != '"') {
		return "", false
	}
	q := lx.s[lx.pos]
	var b strings.Builder
	for i := lx.pos + 1; i < len(lx.s); i++ {
		c := lx.s[i]
		switch {
		case c == '\\' && i+1 < len(lx.s):
			b.WriteByte(unescape(lx.s[i+1]))
			i++
		case c == q && i+1 < len(lx.s) && lx.s[i+1] == q:
			b.WriteByte(q)
			i++
		case c == q:
			lx.pos = i + 1
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}
