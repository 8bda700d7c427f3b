package sqlplan

import (
	"fmt"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// INTERSECT and EXCEPT are not in the MySQL grammar of the vitess version the engine uses,
// so rewriteSetOps turns them into UNIONs it parses, whose right operand is a marked
// derived table: A EXCEPT B becomes
//
//	(A) UNION SELECT /* cdc:except */ * FROM (B) AS __setop1
//
// and planUnion plans a union with such an operand as the set operation it marks.
// INTERSECT binds tighter than UNION and EXCEPT, which associate to the left.

// setOpMarkers are the comments that mark a rewritten set operation.
var setOpMarkers = map[string]string{
	"/* cdc:except */": "except", "/* cdc:except_all */": "except all",
	"/* cdc:intersect */": "intersect", "/* cdc:intersect_all */": "intersect all",
}

// sqlToken is a piece of SQL text: a word, a parenthesized group or anything else.
type sqlToken struct {
	start, end int
	word       string // lower-case word, "" otherwise
	group      bool   // a parenthesized group
}

// scanTokens splits sql into tokens at depth 0, skipping strings, quoted names and comments.
func scanTokens(sql string) ([]sqlToken, error) {
	var out []sqlToken
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(sql) && sql[j] != c {
				if sql[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(sql) {
				return nil, syntaxError("unterminated quoted text")
			}
			out = append(out, sqlToken{start: i, end: j + 1})
			i = j + 1
		case c == '(':
			depth, j := 1, i+1
			for j < len(sql) && depth > 0 {
				switch sql[j] {
				case '(':
					depth++
				case ')':
					depth--
				case '\'', '"', '`':
					q := sql[j]
					j++
					for j < len(sql) && sql[j] != q {
						if sql[j] == '\\' && q != '`' {
							j++
						}
						j++
					}
				}
				j++
			}
			if depth > 0 {
				return nil, syntaxError("unbalanced parentheses")
			}
			out = append(out, sqlToken{start: i, end: j, group: true})
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || strings.HasPrefix(sql[i:], "--") || c == '#' || strings.HasPrefix(sql[i:], "/*"):
			j := skipSpace(sql, i)
			if j == i {
				j = i + 1
			}
			i = j
		case isIdentChar(rune(c)):
			j := i
			for j < len(sql) && isIdentChar(rune(sql[j])) {
				j++
			}
			out = append(out, sqlToken{start: i, end: j, word: strings.ToLower(sql[i:j])})
			i = j
		default:
			out = append(out, sqlToken{start: i, end: i + 1})
			i++
		}
	}
	return out, nil
}

// rewriteGrammar rewrites what the vitess grammar lacks: FULL JOIN, INTERSECT and EXCEPT.
func rewriteGrammar(sql string) (string, error) {
	sql, err := rewriteFullJoins(sql)
	if err != nil {
		return "", err
	}
	return rewriteSetOps(sql)
}

// rewriteSetOps rewrites the INTERSECT and EXCEPT operations of sql, at any depth.
func rewriteSetOps(sql string) (string, error) {
	if !containsFold(sql, "intersect") && !containsFold(sql, "except") {
		return sql, nil
	}
	n := 0
	return rewriteSetOpsIn(sql, &n)
}

func rewriteSetOpsIn(sql string, n *int) (string, error) {
	toks, err := scanTokens(sql)
	if err != nil {
		return "", err
	}
	// Inner groups first.
	var b strings.Builder
	last := 0
	for _, t := range toks {
		if !t.group {
			continue
		}
		inner, err := rewriteSetOpsIn(sql[t.start+1:t.end-1], n)
		if err != nil {
			return "", err
		}
		b.WriteString(sql[last:t.start])
		b.WriteString("(" + inner + ")")
		last = t.end
	}
	b.WriteString(sql[last:])
	sql = b.String()
	if toks, err = scanTokens(sql); err != nil {
		return "", err
	}
	// Operands and operators at this level.
	type operator struct{ op, mod string }
	var operands []string
	var ops []operator
	from := 0
	found := false
	for i := 0; i < len(toks); i++ {
		w := toks[i].word
		if w != "union" && w != "intersect" && w != "except" {
			continue
		}
		found = found || w != "union"
		operands = append(operands, strings.TrimSpace(sql[from:toks[i].start]))
		o := operator{op: w}
		from = toks[i].end
		if i+1 < len(toks) && (toks[i+1].word == "all" || toks[i+1].word == "distinct") {
			o.mod = toks[i+1].word
			from = toks[i+1].end
			i++
		}
		ops = append(ops, o)
	}
	if !found {
		return sql, nil
	}
	// The last operand's ORDER BY and LIMIT apply to the whole.
	rest := sql[from:]
	tail := ""
	if rt, err := scanTokens(rest); err == nil {
		for i, t := range rt {
			if (t.word == "order" && i+1 < len(rt) && rt[i+1].word == "by") || t.word == "limit" {
				tail = " " + strings.TrimSpace(rest[t.start:])
				rest = rest[:t.start]
				break
			}
		}
	}
	operands = append(operands, strings.TrimSpace(rest))
	for _, o := range operands {
		if o == "" {
			return "", syntaxError("a set operation needs a query on each side")
		}
	}
	marked := func(kind, mod, left, right string) string {
		*n++
		if mod == "all" {
			kind += "_all"
		}
		return fmt.Sprintf("(%s) UNION SELECT /* cdc:%s */ * FROM (%s) AS __setop%d", left, kind, right, *n)
	}
	// INTERSECT first.
	items := []string{operands[0]}
	var outerOps []operator
	for i, o := range ops {
		if o.op == "intersect" {
			items[len(items)-1] = marked("intersect", o.mod, items[len(items)-1], operands[i+1])
			continue
		}
		items = append(items, operands[i+1])
		outerOps = append(outerOps, o)
	}
	out := items[0]
	for i, o := range outerOps {
		if o.op == "except" {
			out = marked("except", o.mod, out, items[i+1])
			continue
		}
		mod := ""
		if o.mod != "" {
			mod = " " + strings.ToUpper(o.mod)
		}
		out = fmt.Sprintf("(%s) UNION%s (%s)", out, mod, items[i+1])
	}
	return out + tail, nil
}

// setOpOf returns the set operation a union's right operand marks, and its query.
func setOpOf(right sqlparser.TableStatement) (string, sqlparser.TableStatement, bool) {
	sel, ok := right.(*sqlparser.Select)
	if !ok || sel.Comments == nil || len(sel.From) != 1 {
		return "", nil, false
	}
	op := ""
	for _, c := range sel.Comments.GetComments() {
		if o, ok := setOpMarkers[c]; ok {
			op = o
		}
	}
	if op == "" {
		return "", nil, false
	}
	at, ok := sel.From[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return "", nil, false
	}
	dt, ok := at.Expr.(*sqlparser.DerivedTable)
	if !ok {
		return "", nil, false
	}
	return op, dt.Select, true
}

// setOpPlan combines two conformed plans: with per-row counts a and b, EXCEPT ALL keeps
// max(0, a-b) (a threshold of a-b), INTERSECT ALL a - max(0, a-b) = min(a, b), and the
// DISTINCT forms the same over the distinct rows. Rows compare whole, NULLs equal.
func setOpPlan(op string, l, r Plan) Plan {
	if !strings.HasSuffix(op, " all") {
		l, r = &Distinct{Input: l}, &Distinct{Input: r}
	}
	onlyLeft := &Threshold{Input: &Union{Inputs: []Plan{l, &Negate{Input: r}}}}
	if strings.HasPrefix(op, "except") {
		return onlyLeft
	}
	return &Union{Inputs: []Plan{l, &Negate{Input: onlyLeft}}}
}

// Threshold keeps each row max(0, count) times: a bag difference that cannot go negative.
type Threshold struct {
	Input Plan
}

// Columns returns the input's columns.
func (p *Threshold) Columns() []ColumnInfo { return p.Input.Columns() }

// Children returns the input.
func (p *Threshold) Children() []Plan { return []Plan{p.Input} }

// Describe names the node.
func (p *Threshold) Describe() string { return "Threshold" }

// containsFold reports whether s contains the lower-case ASCII word w in any case, without
// copying s: every statement is checked before it is parsed, so it looks only where w's
// first letter is (strings.IndexByte, in either case, each position found once), and a bulk
// INSERT's text is read at memory speed.
func containsFold(s, w string) bool {
	if w == "" {
		return true
	}
	end := len(s) - len(w) + 1 // candidates start before end
	if end <= 0 {
		return false
	}
	lower, upper := w[0], w[0]&^0x20
	nextL, nextU := -2, -2 // the next position of each case at or after i; -2: not searched
	if lower == upper {
		nextU = -1
	}
	for i := 0; i < end; {
		if nextL != -1 && nextL < i {
			nextL = indexFrom(s[:end], lower, i)
		}
		if nextU != -1 && nextU < i {
			nextU = indexFrom(s[:end], upper, i)
		}
		switch {
		case nextL < 0 && nextU < 0:
			return false
		case nextU < 0 || (nextL >= 0 && nextL < nextU):
			i = nextL
		default:
			i = nextU
		}
		j := 1
		for j < len(w) && s[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
		i++
	}
	return false
}

// indexFrom returns the index of the first c in s at or after from, or -1.
func indexFrom(s string, c byte, from int) int {
	if k := strings.IndexByte(s[from:], c); k >= 0 {
		return from + k
	}
	return -1
}
