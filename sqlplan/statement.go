package sqlplan

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// Statement is a parsed statement: one of the engine's own statements below, or Vitess.
type Statement interface{ isStatement() }

// Vitess is any statement vitess parses (CREATE TABLE, INSERT, SELECT, ...).
type Vitess struct{ Stmt sqlparser.Statement }

// CreateMaterializedView is CREATE MATERIALIZED VIEW [IF NOT EXISTS] name AS query.
type CreateMaterializedView struct {
	Name        string
	IfNotExists bool
	Query       sqlparser.TableStatement
	QueryText   string
}

// DropMaterializedView is DROP MATERIALIZED VIEW [IF EXISTS] name.
type DropMaterializedView struct {
	Name     string
	IfExists bool
}

// Tail is TAIL view [AS OF lsn] [WITH (SNAPSHOT = bool, PROGRESS = bool)].
type Tail struct {
	View     string
	AsOf     uint64
	HasAsOf  bool
	Snapshot bool
	Progress bool
}

// ShowObjects is SHOW TABLES, SHOW VIEWS or SHOW MATERIALIZED VIEWS.
type ShowObjects struct{ What string } // "tables", "views", "materialized views", "sources", "sinks", "modules"

// ShowCreate is SHOW CREATE TABLE|VIEW|MATERIALIZED VIEW|SOURCE name.
type ShowCreate struct {
	What string // "table", "view", "materialized view", "source", "module"
	Name string
}

// Explain is EXPLAIN of a query, of CREATE MATERIALIZED VIEW, or of an existing view.
type Explain struct {
	Query            sqlparser.TableStatement // set for EXPLAIN SELECT / EXPLAIN CREATE MATERIALIZED VIEW
	MaterializedView string                   // set for EXPLAIN MATERIALIZED VIEW name
}

// Verify is VERIFY [MATERIALIZED] VIEW name, or VERIFY [MATERIALIZED] VIEWS for every one:
// recompute views from their tables and report differences.
type Verify struct {
	View string // empty: every materialized view
}

func (*Verify) isStatement()                 {}
func (*Vitess) isStatement()                 {}
func (*CreateMaterializedView) isStatement() {}
func (*DropMaterializedView) isStatement()   {}
func (*Tail) isStatement()                   {}
func (*ShowObjects) isStatement()            {}
func (*ShowCreate) isStatement()             {}
func (*Explain) isStatement()                {}

var parser = func() *sqlparser.Parser {
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: "8.0.40"})
	if err != nil {
		panic(err) // the version string is a constant
	}
	return p
}()

// Parser returns the vitess parser the engine uses.
func Parser() *sqlparser.Parser { return parser }

// Parse parses one statement, recognising the engine's own statements by their first words
// and handing everything else, and the queries inside, to vitess.
func Parse(sql string) (Statement, error) {
	if insertWithoutQuery(sql) {
		// The rewrites below are of queries; a bulk INSERT's text is long and its values
		// may hold any word.
		stmt, err := parser.Parse(sql)
		if err != nil {
			return nil, syntaxError(err.Error())
		}
		return &Vitess{Stmt: stmt}, nil
	}
	sql = stripAggregateAll(sql)
	words, _ := headWords(sql, 6)
	w := func(i int) string {
		if i < len(words) {
			return words[i].lower
		}
		return ""
	}
	switch {
	case w(0) == "create" && w(1) == "materialized" && w(2) == "view":
		i := 3
		ifNotExists := false
		if w(3) == "if" && w(4) == "not" && w(5) == "exists" {
			ifNotExists, i = true, 6
		}
		name, body, err := nameAs(sql[words[i-1].end:])
		if err != nil {
			return nil, err
		}
		q, err := ParseQuery(body)
		if err != nil {
			return nil, err
		}
		return &CreateMaterializedView{Name: name, IfNotExists: ifNotExists, Query: q, QueryText: strings.TrimSpace(body)}, nil
	case w(0) == "drop" && w(1) == "materialized" && w(2) == "view":
		s := &DropMaterializedView{}
		tail := sql[words[2].end:]
		if w(3) == "if" && w(4) == "exists" {
			s.IfExists, tail = true, sql[words[4].end:]
		}
		name, more := identifier(tail)
		if name == "" || strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(more), ";")) != "" {
			return nil, syntaxError("DROP MATERIALIZED VIEW takes one view name")
		}
		s.Name = name
		return s, nil
	case w(0) == "tail":
		return parseTail(sql[words[0].end:])
	case w(0) == "create" && w(1) == "source":
		return parseCreateSource(sql[words[1].end:])
	case w(0) == "drop" && w(1) == "source":
		return parseDropSource(sql[words[1].end:])
	case w(0) == "create" && w(1) == "module":
		return parseCreateModule(sql[words[1].end:], false)
	case w(0) == "create" && w(1) == "or" && w(2) == "replace" && w(3) == "module":
		return parseCreateModule(sql[words[3].end:], true)
	case w(0) == "drop" && w(1) == "module":
		return parseDropModule(sql[words[1].end:])
	case w(0) == "show" && w(1) == "modules":
		return &ShowObjects{What: "modules"}, nil
	case w(0) == "create" && w(1) == "sink":
		return parseCreateSink(sql[words[1].end:])
	case w(0) == "drop" && w(1) == "sink":
		return parseDropSink(sql[words[1].end:])
	case w(0) == "show" && w(1) == "sinks":
		return &ShowObjects{What: "sinks"}, nil
	case w(0) == "show" && w(1) == "sources":
		return &ShowObjects{What: "sources"}, nil
	case w(0) == "verify":
		at := 1
		if w(1) == "materialized" {
			at = 2
		}
		switch w(at) {
		case "views":
			if rest := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sql[words[at].end:]), ";")); rest != "" {
				return nil, syntaxError("VERIFY VIEWS takes no arguments")
			}
			return &Verify{}, nil
		case "view":
			name, more := identifier(sql[words[at].end:])
			if name == "" || strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(more), ";")) != "" {
				return nil, syntaxError("VERIFY VIEW takes one view name")
			}
			return &Verify{View: name}, nil
		}
		return nil, syntaxError("expected VERIFY VIEW name or VERIFY VIEWS")
	case w(0) == "show" && (w(1) == "tables" || w(1) == "views" || (w(1) == "full" && w(2) == "tables")):
		what := w(1)
		if what == "full" {
			what = "tables"
		}
		return &ShowObjects{What: what}, nil
	case w(0) == "show" && w(1) == "materialized" && w(2) == "views":
		return &ShowObjects{What: "materialized views"}, nil
	case w(0) == "show" && w(1) == "create":
		what, at := w(2), 2
		if what == "materialized" && w(3) == "view" {
			what, at = "materialized view", 3
		}
		if what != "table" && what != "view" && what != "materialized view" && what != "source" && what != "module" {
			break
		}
		name, _ := identifier(sql[words[at].end:])
		return &ShowCreate{What: what, Name: name}, nil
	case w(0) == "explain":
		tail := sql[words[0].end:]
		if w(1) == "materialized" && w(2) == "view" {
			name, _ := identifier(sql[words[2].end:])
			return &Explain{MaterializedView: name}, nil
		}
		if w(1) == "create" && w(2) == "materialized" {
			st, err := Parse(tail)
			if err != nil {
				return nil, err
			}
			return &Explain{Query: st.(*CreateMaterializedView).Query}, nil
		}
		q, err := ParseQuery(tail)
		if err != nil {
			return nil, err
		}
		return &Explain{Query: q}, nil
	}
	rewritten, err := rewriteGrammar(sql)
	if err != nil {
		return nil, err
	}
	stmt, err := parser.Parse(rewritten)
	if err != nil {
		return nil, syntaxError(err.Error())
	}
	return &Vitess{Stmt: stmt}, nil
}

// insertWithoutQuery reports whether sql is an INSERT or REPLACE with no SELECT in it.
func insertWithoutQuery(sql string) bool {
	words, _ := headWords(sql, 1)
	return len(words) == 1 && (words[0].lower == "insert" || words[0].lower == "replace") &&
		!containsFold(sql, "select")
}

// ParseQuery parses a SELECT or UNION.
func ParseQuery(sql string) (sqlparser.TableStatement, error) {
	sql = stripAggregateAll(sql)
	sql, err := rewriteGrammar(sql)
	if err != nil {
		return nil, err
	}
	stmt, err := parser.Parse(sql)
	if err != nil {
		return nil, syntaxError(err.Error())
	}
	q, ok := stmt.(sqlparser.TableStatement)
	if !ok {
		return nil, syntaxError("expected a SELECT statement")
	}
	return q, nil
}

func syntaxError(msg string) error {
	return sqlerr.New(sqlerr.Parse, "You have an error in your SQL syntax: %s", msg)
}

type word struct {
	lower    string
	end      int
	quoted   bool
	original string
}

// headWords returns up to n leading words of sql (identifiers, numbers, or single
// punctuation), skipping spaces and comments.
func headWords(sql string, n int) ([]word, string) {
	var out []word
	i := 0
	for len(out) < n {
		i = skipSpace(sql, i)
		if i >= len(sql) {
			break
		}
		start := i
		if sql[i] == '`' {
			j := strings.IndexByte(sql[i+1:], '`')
			if j < 0 {
				break
			}
			out = append(out, word{lower: strings.ToLower(sql[i+1 : i+1+j]), original: sql[i+1 : i+1+j], end: i + j + 2, quoted: true})
			i += j + 2
			continue
		}
		for i < len(sql) && (isIdentChar(rune(sql[i]))) {
			i++
		}
		if i == start {
			i++
		}
		out = append(out, word{lower: strings.ToLower(sql[start:i]), original: sql[start:i], end: i})
	}
	return out, sql[i:]
}

func isIdentChar(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r) || r >= 0x80
}

// skipSpace skips white space and comments.
func skipSpace(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r':
			i++
		case strings.HasPrefix(s[i:], "--") || s[i] == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return len(s)
			}
			i += j + 1
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return len(s)
			}
			i += j + 4
		default:
			return i
		}
	}
	return i
}

// identifier reads one (possibly backquoted) identifier and returns the rest.
func identifier(s string) (string, string) {
	ws, _ := headWords(s, 1)
	if len(ws) == 0 || (!ws[0].quoted && !isIdentChar(rune(ws[0].original[0]))) {
		return "", s
	}
	return ws[0].original, s[ws[0].end:]
}

// nameAs reads "name AS body".
func nameAs(s string) (string, string, error) {
	name, rest := identifier(s)
	if name == "" {
		return "", "", syntaxError("expected a view name")
	}
	ws, _ := headWords(rest, 1)
	if len(ws) == 0 || ws[0].lower != "as" {
		return "", "", syntaxError("expected AS after the view name")
	}
	return name, rest[ws[0].end:], nil
}

// parseTail parses the rest of TAIL view [AS OF lsn] [WITH (option = value, ...)].
func parseTail(s string) (*Tail, error) {
	t := &Tail{Snapshot: true}
	name, rest := identifier(s)
	if name == "" {
		return nil, syntaxError("TAIL needs a view name")
	}
	t.View = name
	ws, _ := headWords(rest, 64)
	i := 0
	next := func() string {
		if i < len(ws) {
			i++
			return ws[i-1].lower
		}
		return ""
	}
	for i < len(ws) {
		switch next() {
		case "as":
			if next() != "of" {
				return nil, syntaxError("expected AS OF <lsn>")
			}
			n, err := strconv.ParseUint(next(), 10, 64)
			if err != nil {
				return nil, syntaxError("AS OF takes an LSN")
			}
			t.AsOf, t.HasAsOf = n, true
		case "with":
			if next() != "(" {
				return nil, syntaxError("expected ( after WITH")
			}
			for {
				opt := next()
				if opt == ")" {
					break
				}
				if opt == "," {
					continue
				}
				if next() != "=" {
					return nil, syntaxError("expected = after " + opt)
				}
				v := next()
				b := v == "true" || v == "1" || v == "on"
				if !b && v != "false" && v != "0" && v != "off" {
					return nil, syntaxError("option " + opt + " takes true or false")
				}
				switch opt {
				case "snapshot":
					t.Snapshot = b
				case "progress":
					t.Progress = b
				default:
					return nil, syntaxError("unknown TAIL option " + opt)
				}
			}
		case ";":
		default:
			return nil, syntaxError("unexpected " + ws[i-1].original + " in TAIL")
		}
	}
	return t, nil
}
