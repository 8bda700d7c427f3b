// Package sqlerr defines SQL errors with MySQL error numbers and SQLSTATEs, shared by every layer.
package sqlerr

import (
	"errors"
	"fmt"
)

// Error is a SQL error with a MySQL error code and SQLSTATE, as clients expect them.
type Error struct {
	Code  uint16 // MySQL error number, e.g. 1146
	State string // SQLSTATE, e.g. "42S02"
	Msg   string
}

// Error formats the error the way the mysql client prints it.
func (e *Error) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.State, e.Msg)
}

// MySQL error numbers used by the engine.
const (
	Unknown             = 1105 // ER_UNKNOWN_ERROR, HY000
	Parse               = 1064 // ER_PARSE_ERROR, 42000
	NoSuchTable         = 1146 // ER_NO_SUCH_TABLE, 42S02
	TableExists         = 1050 // ER_TABLE_EXISTS_ERROR, 42S01
	BadField            = 1054 // ER_BAD_FIELD_ERROR, 42S22
	DupEntry            = 1062 // ER_DUP_ENTRY, 23000
	BadNull             = 1048 // ER_BAD_NULL_ERROR, 23000
	NonUniq             = 1052 // ER_NON_UNIQ_ERROR (ambiguous column), 23000
	WrongValue          = 1366 // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, HY000
	DataOutOfRange      = 1690 // ER_DATA_OUT_OF_RANGE, 22003
	NotSupported        = 1235 // ER_NOT_SUPPORTED_YET, 42000
	WrongValueCnt       = 1136 // ER_WRONG_VALUE_COUNT_ON_ROW, 21S01
	SubqueryRows        = 1242 // ER_SUBQUERY_NO_1_ROW, 21000
	OperandCols         = 1241 // ER_OPERAND_COLUMNS, 21000
	WrongObject         = 1347 // ER_WRONG_OBJECT, HY000
	KeyNotFound         = 1176 // ER_KEY_DOES_NOT_EXITS, 42000
	InvalidGroup        = 1111 // ER_INVALID_GROUP_FUNC_USE, HY000
	WrongFieldSpec      = 1063 // ER_WRONG_FIELD_SPEC, 42000
	DupKeyName          = 1061 // ER_DUP_KEYNAME, 42000
	CantDropIndex       = 1091 // ER_CANT_DROP_FIELD_OR_KEY, 42000
	Dependent           = 3730 // ER_CANT_DROP_... referenced by a view, HY000
	QueryCanceled       = 1317 // ER_QUERY_INTERRUPTED, 70100
	WrongGroupField     = 1055 // ER_WRONG_FIELD_WITH_GROUP, 42000
	UnionColumns        = 1222 // ER_WRONG_NUMBER_OF_COLUMNS_IN_SELECT, 21000
	OrderNotSelected    = 3065 // ER_FIELD_IN_ORDER_NOT_SELECT, HY000
	NoTablesUsed        = 1096 // ER_NO_TABLES_USED, HY000
	NonUniqTable        = 1066 // ER_NONUNIQ_TABLE, 42000
	DataTooLong         = 1406 // ER_DATA_TOO_LONG, 22001
	DupFieldName        = 1060 // ER_DUP_FIELDNAME, 42S21
	InvalidDefault      = 1067 // ER_INVALID_DEFAULT, 42000
	MultiplePriKey      = 1068 // ER_MULTIPLE_PRI_KEY, 42000
	KeyColumnMissing    = 1072 // ER_KEY_COLUMN_DOES_NOT_EXITS, 42000
	BadTable            = 1051 // ER_BAD_TABLE_ERROR, 42S02
	NoDefault           = 1364 // ER_NO_DEFAULT_FOR_FIELD, HY000
	FieldSpecifiedTwice = 1110 // ER_FIELD_SPECIFIED_TWICE, 42000
	NonUpdatable        = 1288 // ER_NON_UPDATABLE_TABLE, HY000
	DiskFull            = 1021 // ER_DISK_FULL, HY000
	WrongArguments      = 1210 // ER_WRONG_ARGUMENTS, HY000: a module's .proto that does not compile
	TxnRolledBack       = 1402 // ER_XA_RBROLLBACK, XA100: the transaction was rolled back
	QueryTimeout        = 3024 // ER_QUERY_TIMEOUT, HY000: max_execution_time exceeded
	CapacityExceeded    = 3170 // ER_CAPACITY_EXCEEDED, HY000: a statement's memory budget
	PacketTooLarge      = 1153 // ER_NET_PACKET_TOO_LARGE, 08S01
	WrongTableName      = 1103 // ER_WRONG_TABLE_NAME, 42000
	WrongColumnName     = 1166 // ER_WRONG_COLUMN_NAME, 42000
	LockWaitTimeout     = 1205 // ER_LOCK_WAIT_TIMEOUT, HY000
	Deadlock            = 1213 // ER_LOCK_DEADLOCK, 40001: also a serialization failure
	TableDefChanged     = 1412 // ER_TABLE_DEF_CHANGED, HY000
	TooFewFields        = 1261 // ER_WARN_TOO_FEW_RECORDS, 01000 (an error in strict mode)
	TooManyFields       = 1262 // ER_WARN_TOO_MANY_RECORDS, 01000 (an error in strict mode)
	ReadOnlyTxn         = 1792 // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, 25006
	TxnInProgress       = 1568 // ER_CANT_CHANGE_TX_CHARACTERISTICS, 25001
	UnknownSysVarValue  = 1231 // ER_WRONG_VALUE_FOR_VAR, 42000
)

var sqlStates = map[uint16]string{
	Unknown: "HY000", Parse: "42000", NoSuchTable: "42S02", TableExists: "42S01",
	BadField: "42S22", DupEntry: "23000", BadNull: "23000", NonUniq: "23000",
	WrongValue: "HY000", DataOutOfRange: "22003", NotSupported: "42000",
	WrongValueCnt: "21S01", SubqueryRows: "21000", OperandCols: "21000",
	WrongObject: "HY000", KeyNotFound: "42000",
	InvalidGroup: "HY000", WrongFieldSpec: "42000", DupKeyName: "42000",
	CantDropIndex: "42000", Dependent: "HY000", QueryCanceled: "70100",
	WrongGroupField: "42000", UnionColumns: "21000", OrderNotSelected: "HY000", NoTablesUsed: "HY000", NonUniqTable: "42000", DataTooLong: "22001", DupFieldName: "42S21", InvalidDefault: "42000", MultiplePriKey: "42000", KeyColumnMissing: "42000", BadTable: "42S02", NoDefault: "HY000", FieldSpecifiedTwice: "42000", NonUpdatable: "HY000",
	TxnRolledBack: "XA100", QueryTimeout: "HY000", CapacityExceeded: "HY000", PacketTooLarge: "08S01",
	WrongTableName: "42000", WrongColumnName: "42000",
	Deadlock: "40001", ReadOnlyTxn: "25006", TxnInProgress: "25001", UnknownSysVarValue: "42000",
}

// New returns an *Error with the given code, its SQLSTATE and a formatted message.
func New(code uint16, format string, args ...any) *Error {
	state, ok := sqlStates[code]
	if !ok {
		state = "HY000"
	}
	return &Error{Code: code, State: state, Msg: fmt.Sprintf(format, args...)}
}

// As returns err as an *Error, wrapping errors of other types as ER_UNKNOWN_ERROR.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Unknown, State: "HY000", Msg: err.Error()}
}
