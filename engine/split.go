package engine

import (
	"strings"

	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// SplitStatements cuts a script into statements at semicolons outside quotes and comments,
// dropping empty ones and ones that hold only comments.
func SplitStatements(script string) (_ []string, err error) {
	defer func() {
		// vitess v0.24's splitter panics on some unterminated strings (";'''0", found by
		// FuzzExec): that is a syntax error of the script.
		if r := recover(); r != nil {
			err = sqlerr.New(sqlerr.Parse, "You have an error in your SQL syntax: unterminated string or comment")
		}
	}()
	pieces, err := sqlplan.Parser().SplitStatementToPieces(script)
	if err != nil {
		return nil, sqlerr.New(sqlerr.Parse, "You have an error in your SQL syntax: %v", err)
	}
	var out []string
	for _, p := range pieces {
		if p = strings.TrimSpace(p); p != "" && !onlyComments(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// onlyComments reports whether a piece of script holds nothing but comments.
func onlyComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "--") && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}
