package sqlplan

import "strings"

// FULL [OUTER] JOIN is not in the MySQL grammar either: rewriteFullJoins turns
//
//	a FULL JOIN b [AS x] ON ...
//
// into a LEFT JOIN whose right side is b wrapped in a derived table marked as the right
// side of a full join, which planOuterJoin recognizes (fullJoinMarker).
const fullJoinMarker = "/* cdc:full_join */"

// rewriteFullJoins rewrites the FULL JOINs of sql, at any depth.
func rewriteFullJoins(sql string) (string, error) {
	if !containsFold(sql, "full") {
		return sql, nil
	}
	toks, err := scanTokens(sql)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.group {
			inner, err := rewriteFullJoins(sql[t.start+1 : t.end-1])
			if err != nil {
				return "", err
			}
			b.WriteString(sql[last:t.start])
			b.WriteString("(" + inner + ")")
			last = t.end
			continue
		}
		if t.word != "full" {
			continue
		}
		j := i + 1
		if j < len(toks) && toks[j].word == "outer" {
			j++
		}
		if j >= len(toks) || toks[j].word != "join" || j+1 >= len(toks) {
			continue
		}
		// The right operand: a (possibly qualified) name or a parenthesized group, then an
		// optional alias.
		k := j + 1
		opStart := toks[k].start
		name := ""
		if toks[k].group {
			inner, err := rewriteFullJoins(sql[toks[k].start+1 : toks[k].end-1])
			if err != nil {
				return "", err
			}
			b.WriteString(sql[last:t.start])
			last = toks[k].end
			k++
			alias, next := aliasAt(sql, toks, k)
			if alias == "" {
				return "", syntaxError("a derived table in FULL JOIN needs an alias")
			}
			b.WriteString("LEFT JOIN (SELECT " + fullJoinMarker + " * FROM (" + inner + ") AS " + alias + ") AS " + alias)
			last = toks[next-1].end
			i = next - 1
			continue
		}
		if toks[k].word == "" && sql[toks[k].start] != '`' {
			continue
		}
		name = sql[toks[k].start:toks[k].end]
		k++
		for k+1 < len(toks) && sql[toks[k].start:toks[k].end] == "." {
			name += "." + sql[toks[k+1].start:toks[k+1].end]
			k += 2
		}
		alias, next := aliasAt(sql, toks, k)
		end := toks[next-1].end
		if alias == "" {
			alias = sql[toks[k-1].start:toks[k-1].end] // the table's own name
		}
		b.WriteString(sql[last:t.start])
		b.WriteString("LEFT JOIN (SELECT " + fullJoinMarker + " * FROM " + sql[opStart:end] + ") AS " + alias)
		last = end
		i = next - 1
	}
	b.WriteString(sql[last:])
	return b.String(), nil
}

// aliasAt reads an optional [AS] alias at token k and returns it and the next token's index.
func aliasAt(sql string, toks []sqlToken, k int) (string, int) {
	if k < len(toks) && toks[k].word == "as" && k+1 < len(toks) {
		return sql[toks[k+1].start:toks[k+1].end], k + 2
	}
	if k < len(toks) && (toks[k].word != "" || sql[toks[k].start] == '`') && !joinKeyword[toks[k].word] {
		return sql[toks[k].start:toks[k].end], k + 1
	}
	return "", k
}

// joinKeyword lists the words that may follow a joined table instead of an alias.
var joinKeyword = map[string]bool{"on": true, "using": true, "where": true, "join": true, "left": true, "right": true,
	"inner": true, "cross": true, "natural": true, "straight_join": true, "full": true, "group": true, "order": true,
	"limit": true, "having": true, "union": true, "intersect": true, "except": true, "window": true}
