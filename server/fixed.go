package server

import (
	"strings"

	"vitess.io/vitess/go/sqltypes"
	querypb "vitess.io/vitess/go/vt/proto/query"
)

// Fixed answers about the server, which has one database.
const (
	versionComment = "cdc"
	databaseName   = "cdc"
)

// sysVars are the @@variables clients read on connect, with their values.
var sysVars = map[string]string{
	"version_comment":          versionComment,
	"max_allowed_packet":       "67108864",
	"auto_increment_increment": "1",
	"character_set_client":     "utf8mb4",
	"character_set_results":    "utf8mb4",
	"collation_connection":     "utf8mb4_general_ci",
	"transaction_isolation":    "SERIALIZABLE",
	"tx_isolation":             "SERIALIZABLE",
	"autocommit":               "1",
	"sql_mode":                 "",
	"time_zone":                "+00:00",
	"system_time_zone":         "UTC",
	"lower_case_table_names":   "1",
	"wait_timeout":             "28800",
	"interactive_timeout":      "28800",
}

// fixedAnswer answers the statements clients send on connect that are about the server
// rather than data: SELECT @@var, SELECT DATABASE(), SHOW DATABASES.
func fixedAnswer(query string) (*sqltypes.Result, bool) {
	q := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(query), ";"))
	norm := strings.ToLower(strings.Join(strings.Fields(q), " "))
	switch norm {
	case "select database()", "select schema()":
		return oneRow([]string{q[len("select "):]}, []string{databaseName}), true
	case "show databases", "show schemas":
		return oneRow([]string{"Database"}, []string{databaseName}), true
	}
	return selectSysVars(q, norm)
}

// selectSysVars answers SELECT @@a [, @@b ...] [LIMIT 1] when every variable is known.
func selectSysVars(q, norm string) (*sqltypes.Result, bool) {
	if !strings.HasPrefix(norm, "select @@") {
		return nil, false
	}
	list := strings.TrimSpace(q[len("select"):])
	if i := strings.LastIndex(strings.ToLower(list), " limit "); i >= 0 {
		list = list[:i]
	}
	var names, values []string
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		name := strings.ToLower(strings.TrimPrefix(item, "@@"))
		name = strings.TrimPrefix(strings.TrimPrefix(name, "session."), "global.")
		v, ok := sysVars[name]
		if !strings.HasPrefix(item, "@@") || !ok {
			return nil, false
		}
		names, values = append(names, item), append(values, v)
	}
	return oneRow(names, values), true
}

// oneRow is a result of one row of text columns.
func oneRow(names, values []string) *sqltypes.Result {
	res := &sqltypes.Result{}
	row := make(sqltypes.Row, len(values))
	for i, n := range names {
		res.Fields = append(res.Fields, &querypb.Field{Name: n, Type: sqltypes.VarChar, Charset: charsetUTF8, ColumnLength: 1024})
		row[i] = sqltypes.NewVarChar(values[i])
	}
	res.Rows = []sqltypes.Row{row}
	return res
}
