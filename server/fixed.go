package server

import (
	"strconv"
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
	"max_allowed_packet":       strconv.Itoa(maxAllowedPacket),
	"auto_increment_increment": "1",
	"character_set_client":     "utf8mb4",
	"character_set_results":    "utf8mb4",
	"collation_connection":     "utf8mb4_general_ci",
	"sql_mode":                 "",
	"time_zone":                "+00:00",
	"system_time_zone":         "UTC",
	"lower_case_table_names":   "1",
	"wait_timeout":             "28800",
	"interactive_timeout":      "28800",
	"character_set_connection": "utf8mb4",
	"character_set_server":     "utf8mb4",
	"character_set_database":   "utf8mb4",
	"collation_server":         "utf8mb4_general_ci",
	"collation_database":       "utf8mb4_general_ci",
	"version_compile_os":       "Linux",
	"version_compile_machine":  "x86_64",
}

// session is what the fixed answers say about the connection.
type session struct {
	user    string // the client's login, e.g. root
	host    string // the client's address without port
	connID  uint32
	version string // the version sent in the handshake
	// maxExecTime is the session's max_execution_time (milliseconds), lockWait its
	// innodb_lock_wait_timeout (seconds).
	maxExecTime, lockWait int64
	// autocommit, isolation and readOnly are its transaction characteristics.
	autocommit, readOnly bool
	isolation            string
}

// onOff is a boolean variable's value as MySQL shows it in a SELECT.
func onOff(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fixedAnswer answers the statements clients send on connect that are about the server
// rather than data: SHOW DATABASES, and SELECT lists of @@variables and functions such as
// DATABASE(), USER() and VERSION() (the mariadb client's status command sends
// SELECT DATABASE(), USER() LIMIT 1).
func fixedAnswer(query string, sess session) (*sqltypes.Result, bool) {
	if !mayBeFixed(query) {
		return nil, false
	}
	q := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(query), ";"))
	norm := strings.ToLower(strings.Join(strings.Fields(q), " "))
	switch norm {
	case "show databases", "show schemas":
		return oneRow([]string{"Database"}, []string{databaseName}), true
	}
	return selectFixed(q, norm, sess)
}

// mayBeFixed reports whether query starts with SHOW or SELECT (case-insensitively), the
// only statements fixedAnswer answers: any other is passed on without normalizing its text,
// which for a large INSERT costs more than answering it.
func mayBeFixed(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n")
	return len(q) >= 4 && strings.EqualFold(q[:4], "show") || len(q) >= 6 && strings.EqualFold(q[:6], "select")
}

// selectFixed answers SELECT item [, item ...] [LIMIT 1] when every item is a known
// @@variable or function of the server.
func selectFixed(q, norm string, sess session) (*sqltypes.Result, bool) {
	if !strings.HasPrefix(norm, "select ") {
		return nil, false
	}
	list := strings.TrimSpace(q[len("select"):])
	if i := strings.LastIndex(strings.ToLower(list), " limit "); i >= 0 {
		if strings.TrimSpace(list[i+len(" limit "):]) != "1" {
			return nil, false
		}
		list = list[:i]
	}
	var names, values []string
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		v, ok := fixedItem(item, sess)
		if !ok {
			return nil, false
		}
		names, values = append(names, item), append(values, v)
	}
	return oneRow(names, values), true
}

// fixedItem is the value of one fixed select item.
func fixedItem(item string, sess session) (string, bool) {
	lower := strings.ToLower(strings.Join(strings.Fields(item), ""))
	if strings.HasPrefix(lower, "@@") {
		name := strings.TrimPrefix(lower, "@@")
		name = strings.TrimPrefix(strings.TrimPrefix(name, "session."), "global.")
		switch name {
		case "version":
			return sess.version, true
		case "max_execution_time":
			return strconv.FormatInt(sess.maxExecTime, 10), true
		case "innodb_lock_wait_timeout", "lock_wait_timeout":
			if sess.lockWait == 0 {
				return "50", true
			}
			return strconv.FormatInt(sess.lockWait, 10), true
		case "autocommit":
			return onOff(sess.autocommit), true
		case "transaction_isolation", "tx_isolation":
			return sess.isolation, true
		case "transaction_read_only", "tx_read_only":
			return onOff(sess.readOnly), true
		}
		v, ok := sysVars[name]
		return v, ok
	}
	switch lower {
	case "database()", "schema()":
		return databaseName, true
	case "user()", "session_user()", "system_user()":
		return sess.user + "@" + sess.host, true
	case "current_user()", "current_user":
		return sess.user + "@%", true
	case "version()":
		return sess.version, true
	case "connection_id()":
		return strconv.FormatUint(uint64(sess.connID), 10), true
	}
	return "", false
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
