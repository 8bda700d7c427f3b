package sqlplan

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// maxIdentChars is MySQL's limit on the length of a table, column, index or view name.
const maxIdentChars = 64

// CheckName refuses a name MySQL would refuse for a new object: not valid UTF-8, with a NUL
// character, longer than 64 characters, or (for tables and views) ending with a space. Such
// names cannot be typed back reliably (clients and the parser replace invalid bytes), so an
// object created with one could not be reached again. what is "table" or "column".
func CheckName(what, name string) error {
	reason := ""
	switch {
	case name == "":
		reason = "names cannot be empty"
	case !utf8.ValidString(name):
		reason = "names must be valid UTF-8"
	case strings.ContainsRune(name, 0):
		reason = "names cannot contain the NUL character"
	case utf8.RuneCountInString(name) > maxIdentChars:
		reason = "names are at most 64 characters long"
	case what != "column" && strings.HasSuffix(name, " "):
		reason = "names cannot end with a space"
	}
	if reason == "" {
		return nil
	}
	code := uint16(sqlerr.WrongTableName)
	if what == "column" {
		code = sqlerr.WrongColumnName
	}
	return sqlerr.New(code, "Incorrect %s name %s: %s", what, quoteName(name), reason)
}

// quoteName shows a name in an error message with its invalid bytes and control characters
// escaped, so that the message itself is valid UTF-8.
func quoteName(name string) string {
	q := strconv.Quote(name)
	return "'" + q[1:len(q)-1] + "'"
}

// CheckNewNames refuses a statement that creates an object whose name, or the name of one
// of its columns, indexes or aliases, CheckName refuses. Statements that only use names
// (SELECT, DROP, INSERT) are not checked, so an object named badly by an earlier build can
// still be dropped.
func CheckNewNames(stmt Statement) error {
	switch st := stmt.(type) {
	case *Vitess:
		switch st.Stmt.(type) {
		case *sqlparser.CreateTable, *sqlparser.CreateView, *sqlparser.AlterTable:
			return checkIdentifiers(st.Stmt)
		}
	case *CreateMaterializedView:
		if err := CheckName("table", st.Name); err != nil {
			return err
		}
		return checkIdentifiers(st.Query)
	case *CreateSource:
		return CheckName("table", st.Name)
	case *CreateSink:
		return CheckName("table", st.Name)
	case *CreateModule:
		return CheckName("table", st.Name)
	}
	return nil
}

// checkIdentifiers checks every identifier of a vitess statement: table names as tables,
// the others as columns (column, index and alias names).
func checkIdentifiers(node sqlparser.SQLNode) error {
	var err error
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch id := n.(type) {
		case sqlparser.TableName:
			if !id.Name.IsEmpty() {
				err = CheckName("table", id.Name.String())
			}
			return false, err
		case sqlparser.IdentifierCS:
			if !id.IsEmpty() {
				err = CheckName("table", id.String())
			}
		case sqlparser.IdentifierCI:
			if !id.IsEmpty() {
				err = CheckName("column", id.String())
			}
		}
		return err == nil, err
	}, node)
	return err
}
