package slt

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseGlob parses every script whose path matches pattern, in name order; a pattern that
// matches nothing is an error.
func ParseGlob(pattern string) ([][]Record, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", pattern, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no script matches %s", pattern)
	}
	out := make([][]Record, 0, len(files))
	for _, f := range files {
		recs, err := ParseFile(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		out = append(out, recs)
	}
	return out, nil
}

// Statements returns the SQL of every statement and query record of the scripts, in order.
func Statements(scripts [][]Record) []string {
	var out []string
	for _, recs := range scripts {
		for _, r := range recs {
			if (r.Kind == KindStatement || r.Kind == KindQuery) && r.SQL != "" {
				out = append(out, r.SQL)
			}
		}
	}
	return out
}

// ParseFile reads and parses the script at path.
func ParseFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// Parse reads a sqllogictest script. A malformed record becomes a KindInvalid record that
// names its line and problem; an error is returned only when the script cannot be read.
//
// Records are separated by blank lines; lines starting with '#' outside a result block are
// comments; skipif/onlyif lines attach to the record that follows them.
func Parse(r io.Reader) ([]Record, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 256<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	p := &parser{lines: lines}
	return p.parse()
}

// parser walks the lines of a script.
type parser struct {
	lines []string
	i     int // index of the next line to look at
}

func isBlank(line string) bool   { return strings.TrimSpace(line) == "" }
func isComment(line string) bool { return strings.HasPrefix(line, "#") }

// parse returns every record of the script in order.
func (p *parser) parse() ([]Record, error) {
	var recs []Record
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		if isBlank(line) || isComment(line) {
			p.i++
			continue
		}
		start := p.i
		rec, err := p.record()
		if err != nil {
			// A malformed record fails on its own; the script goes on after it.
			rec.Kind, rec.Problem, rec.Line = KindInvalid, err.Error(), start+1
			var sql []string
			for p.i = start; p.i < len(p.lines) && !isBlank(p.lines[p.i]); p.i++ {
				sql = append(sql, p.lines[p.i])
			}
			rec.SQL = strings.Join(sql, "\n")
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// record parses the record starting at the current line, which is neither blank nor a comment.
func (p *parser) record() (Record, error) {
	rec := Record{Line: p.i + 1}
	for {
		if p.i >= len(p.lines) || isBlank(p.lines[p.i]) {
			return rec, fmt.Errorf("line %d: skipif/onlyif without a record", rec.Line)
		}
		line := p.lines[p.i]
		if isComment(line) {
			p.i++
			continue
		}
		f := strings.Fields(line)
		if f[0] != "skipif" && f[0] != "onlyif" {
			break
		}
		if len(f) < 2 {
			return rec, fmt.Errorf("line %d: %s needs an engine name", p.i+1, f[0])
		}
		rec.Conditions = append(rec.Conditions, Condition{OnlyIf: f[0] == "onlyif", Engine: f[1]})
		p.i++
	}
	head := p.i + 1
	f := strings.Fields(p.lines[p.i])
	p.i++
	switch f[0] {
	case "statement":
		if len(f) < 2 || (f[1] != "ok" && f[1] != "error") {
			return rec, fmt.Errorf("line %d: want \"statement ok\" or \"statement error\"", head)
		}
		rec.Kind = KindStatement
		rec.ExpectError = f[1] == "error"
		sql, _ := p.sqlLines()
		if sql == "" {
			return rec, fmt.Errorf("line %d: statement without SQL", head)
		}
		rec.SQL = sql
	case "query":
		if err := parseQueryHead(&rec, f, head); err != nil {
			return rec, err
		}
		sql, sep := p.sqlLines()
		if sql == "" {
			return rec, fmt.Errorf("line %d: query without SQL", head)
		}
		rec.SQL = sql
		if sep {
			rec.HasExpected = true
			rec.Expected = p.resultLines()
		}
	case "hash-threshold":
		if len(f) < 2 {
			return rec, fmt.Errorf("line %d: hash-threshold needs a number", head)
		}
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 {
			return rec, fmt.Errorf("line %d: bad hash-threshold %q", head, f[1])
		}
		rec.Kind = KindHashThreshold
		rec.Threshold = n
	case "halt":
		rec.Kind = KindHalt
	default:
		return rec, fmt.Errorf("line %d: unknown record %q", head, f[0])
	}
	return rec, nil
}

// parseQueryHead fills the types, sort mode and label of a query record from its first line.
func parseQueryHead(rec *Record, f []string, line int) error {
	rec.Kind = KindQuery
	if len(f) < 2 {
		return fmt.Errorf("line %d: query needs column types", line)
	}
	for _, c := range f[1] {
		if c != 'I' && c != 'R' && c != 'T' {
			return fmt.Errorf("line %d: bad column type %q in %q", line, c, f[1])
		}
	}
	rec.Types = f[1]
	if len(f) >= 3 {
		switch f[2] {
		case "nosort":
			rec.Sort = NoSort
		case "rowsort":
			rec.Sort = RowSort
		case "valuesort":
			rec.Sort = ValueSort
		default:
			return fmt.Errorf("line %d: bad sort mode %q", line, f[2])
		}
	}
	if len(f) >= 4 {
		rec.Label = f[3]
	}
	return nil
}

// sqlLines collects SQL lines up to a blank line or "----"; sep reports whether "----" ended them.
func (p *parser) sqlLines() (sql string, sep bool) {
	var b []string
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		if isBlank(line) {
			break
		}
		p.i++
		if strings.TrimRight(line, " \t") == "----" {
			sep = true
			break
		}
		if isComment(line) {
			continue
		}
		b = append(b, line)
	}
	return strings.Join(b, "\n"), sep
}

// resultLines collects the expected values up to a blank line, keeping them verbatim.
func (p *parser) resultLines() []string {
	out := []string{}
	for p.i < len(p.lines) && !isBlank(p.lines[p.i]) {
		out = append(out, p.lines[p.i])
		p.i++
	}
	return out
}
