package sqlplan

import (
	"strings"
)

// aggregateNames are the functions whose argument may start with the quantifier ALL.
var aggregateNames = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "avg": true, "group_concat": true}

// stripAggregateAll removes the redundant quantifier in COUNT(ALL x), SUM(ALL x), ..., which
// MySQL accepts and vitess does not parse. Quoted strings and identifiers are left alone.
func stripAggregateAll(sql string) string {
	if !containsFold(sql, "all") {
		return sql
	}
	var b strings.Builder
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(sql) {
				if sql[j] == '\\' && c != '`' {
					j += 2
					continue
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(sql) {
				j = len(sql) - 1
			}
			b.WriteString(sql[i : j+1])
			i = j + 1
		case isIdentChar(rune(c)):
			j := i
			for j < len(sql) && isIdentChar(rune(sql[j])) {
				j++
			}
			word := sql[i:j]
			b.WriteString(word)
			i = j
			if !aggregateNames[strings.ToLower(word)] {
				continue
			}
			k := skipSpace(sql, i)
			if k >= len(sql) || sql[k] != '(' {
				continue
			}
			m := skipSpace(sql, k+1)
			if m+3 <= len(sql) && strings.EqualFold(sql[m:m+3], "all") && (m+3 == len(sql) || !isIdentChar(rune(sql[m+3]))) {
				b.WriteString(sql[i : k+1])
				i = m + 3
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
