package slt

import (
	"regexp"
	"strings"
)

// word is an identifier or keyword found in SQL text, lowercased, with its byte offset.
type word struct {
	text  string
	pos   int
	depth int // parenthesis nesting depth at the word
}

// scanWords returns the words of q outside string literals, with their nesting depth.
//
// Backquoted identifiers count as words.
func scanWords(q string) []word {
	var out []word
	depth := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth > 0 {
				depth--
			}
			i++
		case c == '\'' || c == '"':
			i = skipQuoted(q, i)
		case c == '`':
			end := strings.IndexByte(q[i+1:], '`')
			if end < 0 {
				return out
			}
			out = append(out, word{text: strings.ToLower(q[i+1 : i+1+end]), pos: i, depth: depth})
			i += end + 2
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			out = append(out, word{text: strings.ToLower(q[i:j]), pos: i, depth: depth})
			i = j
		default:
			i++
		}
	}
	return out
}

// skipQuoted returns the offset just past the literal that starts at q[i].
//
// It honours doubled quotes and backslash escapes.
func skipQuoted(q string, i int) int {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			j++
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// keepsOrder lists the words that keep a top-level ORDER BY when they follow it.
//
// They make the order matter (LIMIT) or the clause something other than a trailing sort.
var keepsOrder = map[string]bool{
	"limit": true, "offset": true, "union": true, "except": true, "intersect": true,
	"select": true, "into": true, "for": true,
}

// StripOrderBy removes a query's trailing top-level ORDER BY clause and trailing semicolons.
//
// An ORDER BY followed by LIMIT (or OFFSET, UNION, ...) stays.
func StripOrderBy(q string) string {
	q = strings.TrimRight(q, " \t\r\n;")
	words := scanWords(q)
	last := -1
	for i := 0; i+1 < len(words); i++ {
		if words[i].depth == 0 && words[i].text == "order" && words[i+1].text == "by" && words[i+1].depth == 0 {
			last = i
		}
	}
	if last < 0 {
		return q
	}
	for _, w := range words[last+2:] {
		if w.depth == 0 && keepsOrder[w.text] {
			return q
		}
	}
	return strings.TrimRight(q[:words[last].pos], " \t\r\n")
}

var (
	dropRE       = regexp.MustCompile(`(?is)^\s*DROP\s+(?:MATERIALIZED\s+|TEMPORARY\s+)?(TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(.*?)[\s;]*$`)
	createViewRE = regexp.MustCompile("(?is)^\\s*CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:MATERIALIZED\\s+|TEMP\\s+|TEMPORARY\\s+)?VIEW\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(`[^`]+`|[^\\s(]+)")
)

// DropTargets returns the lowercased names a DROP TABLE or DROP VIEW statement removes.
//
// views reports a DROP VIEW; names is empty for any other statement.
func DropTargets(sql string) (names []string, views bool) {
	m := dropRE.FindStringSubmatch(sql)
	if m == nil {
		return nil, false
	}
	for _, part := range strings.Split(m[2], ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "`") {
			if end := strings.IndexByte(part[1:], '`'); end >= 0 {
				part = part[:end+2]
			}
		} else if f := strings.Fields(part); len(f) > 0 {
			part = f[0]
		}
		if part != "" {
			names = append(names, unquoteIdent(part))
		}
	}
	return names, strings.EqualFold(m[1], "VIEW")
}

// CreatedView returns the lowercased name a CREATE [MATERIALIZED] VIEW statement defines, or "".
func CreatedView(sql string) string {
	m := createViewRE.FindStringSubmatch(sql)
	if m == nil {
		return ""
	}
	return unquoteIdent(m[1])
}

// unquoteIdent returns an identifier lowercased, unquoted and without its qualifier.
func unquoteIdent(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 && !strings.HasPrefix(s, "`") {
		s = s[i+1:]
	}
	s = strings.TrimPrefix(strings.TrimSuffix(s, "`"), "`")
	return strings.ToLower(strings.ReplaceAll(s, "``", "`"))
}
