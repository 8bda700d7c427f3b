package sqlplan

import (
	"strings"
	"testing"
	"time"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// scalarTestScope resolves the columns of scalarTestRow and can intercept COUNT(*).
type scalarTestScope struct {
	offered  []string
	countLit dataflow.Expr // when set, COUNT(*) is replaced by it
}

var scalarTestCols = []struct {
	name string
	kind dataflow.Kind
}{
	{"a", dataflow.KindInt}, {"b", dataflow.KindString}, {"c", dataflow.KindInt},
	{"d", dataflow.KindDecimal}, {"s", dataflow.KindString}, {"t", dataflow.KindTime},
	{"f", dataflow.KindFloat},
}

func scalarTestRow() dataflow.Row {
	d, err := dataflow.NewDecimalText("1.50")
	if err != nil {
		panic(err)
	}
	return dataflow.Row{
		dataflow.NewInt(5), dataflow.NewString("x"), dataflow.Null, d, dataflow.NewString("hello"),
		dataflow.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), dataflow.NewFloat(0.25),
	}
}

func (s *scalarTestScope) Column(col *sqlparser.ColName) (dataflow.Expr, error) {
	for i, c := range scalarTestCols {
		if strings.EqualFold(col.Name.String(), c.name) {
			return dataflow.Col(i, c.kind, c.name), nil
		}
	}
	return nil, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'field list'", sqlparser.String(col))
}

func (s *scalarTestScope) Special(node sqlparser.Expr) (dataflow.Expr, bool, error) {
	s.offered = append(s.offered, sqlparser.String(node))
	if _, ok := node.(*sqlparser.CountStar); ok && s.countLit != nil {
		return s.countLit, true, nil
	}
	return nil, false, nil
}

// parseScalar parses SELECT <expr> and returns the expression.
func parseScalar(t *testing.T, expr string) sqlparser.Expr {
	t.Helper()
	parser, err := sqlparser.New(sqlparser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := parser.Parse("SELECT " + expr)
	if err != nil {
		t.Fatalf("parse %q: %v", expr, err)
	}
	sel, ok := stmt.(*sqlparser.Select)
	if !ok || len(sel.SelectExprs.Exprs) != 1 {
		t.Fatalf("parse %q: not a one-column SELECT", expr)
	}
	ae, ok := sel.SelectExprs.Exprs[0].(*sqlparser.AliasedExpr)
	if !ok {
		t.Fatalf("parse %q: not an expression", expr)
	}
	return ae.Expr
}

// evalScalar converts and evaluates expr against scalarTestRow.
func evalScalar(t *testing.T, scope ScalarScope, expr string) (dataflow.Datum, dataflow.Expr, error) {
	t.Helper()
	e, err := ConvertScalar(scope, parseScalar(t, expr))
	if err != nil {
		return dataflow.Null, nil, err
	}
	d, err := e.Eval(scalarTestRow())
	return d, e, err
}

func TestScalarConvert(t *testing.T) {
	I, D, F, S, B, T := dataflow.KindInt, dataflow.KindDecimal, dataflow.KindFloat, dataflow.KindString, dataflow.KindBytes, dataflow.KindTime
	cases := []struct {
		expr string
		want string
		kind dataflow.Kind
	}{
		{"1/2", "0.5000", D},
		{"7 DIV 2", "3", I},
		{"-7 % 2", "-1", I},
		{"-7 MOD 2", "-1", I},
		{"MOD(-7, 2)", "-1", I},
		{"NULL = NULL", "NULL", I},
		{"NULL <=> NULL", "1", I},
		{"1 <=> NULL", "0", I},
		{"'10' = 10", "1", I},
		{"'abc' = 0", "1", I},
		{"'abc' LIKE 'a%'", "1", I},
		{"'abc' NOT LIKE 'a%'", "0", I},
		{"'a%' LIKE 'a\\%'", "1", I},
		{"'ab' LIKE 'a\\%'", "0", I},
		{"'a%' LIKE 'a|%' ESCAPE '|'", "1", I},
		{"CASE WHEN 1 THEN 'x' END", "x", S},
		{"CASE WHEN 0 THEN 'x' END", "NULL", S},
		{"CASE a WHEN 5 THEN 'five' ELSE 'other' END", "five", S},
		{"CASE a WHEN 6 THEN 1 ELSE 2.5 END", "2.5", D},
		{"COALESCE(NULL, 2)", "2", I},
		{"COALESCE(c, d)", "1.50", D},
		{"IFNULL(c, 7)", "7", I},
		{"IF(a > 3, 'big', 'small')", "big", S},
		{"NULLIF(a, 5)", "NULL", I},
		{"CAST('12abc' AS SIGNED)", "12", I},
		{"CAST(a AS CHAR)", "5", S},
		{"CAST(1 AS DECIMAL(5,2))", "1.00", D},
		{"CAST(d AS DECIMAL)", "2", D},
		{"CONVERT(s, CHAR(2))", "he", S},
		{"CAST('2024-01-02' AS DATETIME)", "2024-01-02 00:00:00", T},
		{"CAST(t AS TIME)", "03:04:05", S},
		{"CAST('ab' AS BINARY)", "ab", B},
		{"CONVERT('abc' USING utf8mb4)", "abc", S},
		{"SUBSTRING('hello', 2, 3)", "ell", S},
		{"SUBSTRING(s FROM 2 FOR 2)", "el", S},
		{"SUBSTR(s, -3)", "llo", S},
		{"MID(s, 2, 3)", "ell", S},
		{"1 IN (2, NULL)", "NULL", I},
		{"1 IN (1, NULL)", "1", I},
		{"3 NOT IN (1, 2)", "1", I},
		{"a IN (4, 5)", "1", I},
		{"ROUND(2.5)", "3", D},
		{"ROUND(-2.5)", "-3", D},
		{"ROUND(2.5e0)", "2", F},
		{"ROUND(d, 1)", "1.5", D},
		{"TRUNCATE(1.999, 2)", "1.99", D},
		{"10/4", "2.5000", D},
		{"1.00/3", "0.333333", D},
		{"2/3", "0.6667", D},
		{"1/0", "NULL", D},
		{"1/2e0", "0.5", F},
		{"a / 2", "2.5000", D},
		{"d * 2", "3.00", D},
		{"f * 4", "1", F},
		{"a + 1", "6", I},
		{"a - -1", "6", I},
		{"-a", "-5", I},
		{"+a", "5", I},
		{"-(a + 1)", "-6", I},
		{"-9223372036854775808", "-9223372036854775808", I},
		{"9223372036854775808", "9223372036854775808", D},
		{"18446744073709551616 + 1", "18446744073709551617", D},
		{"1.50", "1.50", D},
		{".5 + 1", "1.5", D},
		{"- 1.5", "-1.5", D},
		{"1.5e0 + 1", "2.5", F},
		{"-1.5e0", "-1.5", F},
		{"TRUE + 1", "2", I},
		{"FALSE", "0", I},
		{"NULL", "NULL", dataflow.KindNull},
		{"c IS NULL", "1", I},
		{"a IS NOT NULL", "1", I},
		{"a IS TRUE", "1", I},
		{"c IS NOT FALSE", "1", I},
		{"0 IS FALSE", "1", I},
		{"c IS NOT TRUE", "1", I},
		{"a BETWEEN 1 AND 10", "1", I},
		{"a NOT BETWEEN 1 AND 10", "0", I},
		{"NOT a", "0", I},
		{"!0", "1", I},
		{"a XOR 0", "1", I},
		{"a > 1 AND b = 'x' AND c IS NULL", "1", I},
		{"c = 1 AND a = 0", "0", I},
		{"c = 1 OR a = 5", "1", I},
		{"c = 1 OR a = 0", "NULL", I},
		{"t = '2024-01-02 03:04:05'", "1", I},
		{"t > '2024-01-01'", "1", I},
		{"t = TIMESTAMP '2024-01-02 03:04:05'", "1", I},
		{"CONCAT('a', b, 1)", "ax1", S},
		{"CONCAT_WS('-', 'a', c, 'b')", "a-b", S},
		{"LOCATE('l', s)", "3", I},
		{"LOCATE('l', s, 4)", "4", I},
		{"POSITION('l' IN s)", "3", I},
		{"INSTR(s, 'lo')", "4", I},
		{"TRIM(LEADING 'h' FROM s)", "ello", S},
		{"TRIM(TRAILING 'o' FROM s)", "hell", S},
		{"TRIM(BOTH 'x' FROM 'xxaxx')", "a", S},
		{"TRIM('  x ')", "x", S},
		{"LTRIM('  x ')", "x ", S},
		{"RTRIM('  x ')", "  x", S},
		{"UPPER(s)", "HELLO", S},
		{"LENGTH(s)", "5", I},
		{"CHAR_LENGTH('héllo')", "5", I},
		{"REPLACE(s, 'l', 'L')", "heLLo", S},
		{"LEFT(s, 2)", "he", S},
		{"RIGHT(s, 2)", "lo", S},
		{"LPAD(s, 7, '*')", "**hello", S},
		{"REVERSE(s)", "olleh", S},
		{"REPEAT('ab', 2)", "abab", S},
		{"HEX('A')", "41", S},
		{"ASCII(s)", "104", I},
		{"STRCMP('a', 'b')", "-1", I},
		{"ABS(-5)", "5", I},
		{"GREATEST(1, 2.5)", "2.5", D},
		{"LEAST(a, 3)", "3", I},
		{"POW(2, 3)", "8", F},
		{"SQRT(16)", "4", F},
		{"FLOOR(1.5)", "1", D},
		{"CEIL(1.2)", "2", D},
		{"SIGN(-3)", "-1", I},
		{"X'41'", "A", B},
		{"0x41", "A", B},
		{"0x141", "\x01A", B},
		{"b'1000001'", "A", B},
		{"DATE '2024-01-02'", "2024-01-02 00:00:00", T},
		{"TIMESTAMP '2024-01-02 03:04:05.5'", "2024-01-02 03:04:05.5", T},
		{"TIME '12:34:56'", "12:34:56", S},
		{"CHAR(65, 66)", "AB", B},
		{"CHAR(65 USING utf8mb4)", "A", S},
		{"INTERVAL(5, 1, 10)", "1", I},
		{"INSERT('abc', 2, 1, 'X')", "aXc", S},
		{"_utf8mb4'abc'", "abc", S},
		{"_binary'abc'", "abc", B},
		{"'a' COLLATE utf8mb4_bin = 'a'", "1", I},
		{"N'abc'", "abc", S},
		{"'it''s'", "it's", S},
	}
	for _, c := range cases {
		d, e, err := evalScalar(t, &scalarTestScope{}, c.expr)
		if err != nil {
			t.Errorf("%s: unexpected error %v", c.expr, err)
			continue
		}
		if d.String() != c.want {
			t.Errorf("%s = %q (%s), want %q", c.expr, d.String(), d.Kind(), c.want)
		}
		if !d.IsNull() && d.Kind() != c.kind {
			t.Errorf("%s: kind %s, want %s", c.expr, d.Kind(), c.kind)
		}
		if e.Type() != c.kind {
			t.Errorf("%s: Type() %s, want %s", c.expr, e.Type(), c.kind)
		}
	}
}

// TestScalarDateForms checks the date syntax vitess parses into its own nodes (DATE_ADD,
// date + INTERVAL, EXTRACT, TIMESTAMPDIFF, ...) and the functions of the dataflow registry; t is
// 2024-01-02 03:04:05. Values quoted from the MySQL 8.0 manual are marked "manual".
func TestScalarDateForms(t *testing.T) {
	I, D, F, S, B, T := dataflow.KindInt, dataflow.KindDecimal, dataflow.KindFloat, dataflow.KindString, dataflow.KindBytes, dataflow.KindTime
	cases := []struct {
		expr string
		want string
		kind dataflow.Kind
	}{
		// manual: SELECT DATE_ADD('2018-05-01',INTERVAL 1 DAY); -> '2018-05-02'
		{"DATE_ADD('2018-05-01', INTERVAL 1 DAY)", "2018-05-02", S},
		// manual: SELECT DATE_SUB('2018-05-01',INTERVAL 1 YEAR); -> '2017-05-01'
		{"DATE_SUB('2018-05-01', INTERVAL 1 YEAR)", "2017-05-01", S},
		// manual: SELECT DATE_ADD('2020-12-31 23:59:59', INTERVAL 1 SECOND); -> '2021-01-01 00:00:00'
		{"DATE_ADD('2020-12-31 23:59:59', INTERVAL 1 SECOND)", "2021-01-01 00:00:00", S},
		// manual: SELECT DATE_ADD('2018-12-31 23:59:59', INTERVAL 1 DAY); -> '2019-01-01 23:59:59'
		{"DATE_ADD('2018-12-31 23:59:59', INTERVAL 1 DAY)", "2019-01-01 23:59:59", S},
		// manual: SELECT DATE_ADD('2100-12-31 23:59:59', INTERVAL '1:1' MINUTE_SECOND); -> '2101-01-01 00:01:00'
		{"DATE_ADD('2100-12-31 23:59:59', INTERVAL '1:1' MINUTE_SECOND)", "2101-01-01 00:01:00", S},
		// manual: SELECT DATE_SUB('2025-01-01 00:00:00', INTERVAL '1 1:1:1' DAY_SECOND); -> '2024-12-30 22:58:59'
		{"DATE_SUB('2025-01-01 00:00:00', INTERVAL '1 1:1:1' DAY_SECOND)", "2024-12-30 22:58:59", S},
		// manual: SELECT DATE_ADD('1900-01-01 00:00:00', INTERVAL '-1 10' DAY_HOUR); -> '1899-12-30 14:00:00'
		{"DATE_ADD('1900-01-01 00:00:00', INTERVAL '-1 10' DAY_HOUR)", "1899-12-30 14:00:00", S},
		// manual: SELECT DATE_SUB('1998-01-02', INTERVAL 31 DAY); -> '1997-12-02'
		{"DATE_SUB('1998-01-02', INTERVAL 31 DAY)", "1997-12-02", S},
		// manual: SELECT DATE_ADD('1992-12-31 23:59:59.000002', INTERVAL '1.999999' SECOND_MICROSECOND); -> '1993-01-01 00:00:01.000001'
		{"DATE_ADD('1992-12-31 23:59:59.000002', INTERVAL '1.999999' SECOND_MICROSECOND)", "1993-01-01 00:00:01.000001", S},
		// manual: SELECT DATE_ADD('2024-03-30', INTERVAL 1 MONTH); -> '2024-04-30'
		{"DATE_ADD('2024-03-30', INTERVAL 1 MONTH)", "2024-04-30", S},
		// manual: SELECT DATE_ADD('2024-03-31', INTERVAL 1 MONTH); -> '2024-04-30'
		{"DATE_ADD('2024-03-31', INTERVAL 1 MONTH)", "2024-04-30", S},
		{"DATE_ADD('2024-01-31', INTERVAL 1 MONTH)", "2024-02-29", S},
		{"DATE_ADD('2023-01-31', INTERVAL 1 MONTH)", "2023-02-28", S},
		{"DATE_ADD('2024-02-29', INTERVAL 1 YEAR)", "2025-02-28", S},
		{"DATE_SUB('2024-05-31', INTERVAL 1 QUARTER)", "2024-02-29", S},
		{"DATE_ADD('2024-01-01', INTERVAL 2 WEEK)", "2024-01-15", S},
		{"DATE_ADD('2024-01-01', INTERVAL 90 MINUTE)", "2024-01-01 01:30:00", S},
		{"DATE_ADD('2024-01-01', INTERVAL 5 MICROSECOND)", "2024-01-01 00:00:00.000005", S},
		{"DATE_ADD('2024-01-01', INTERVAL 1 HOUR)", "2024-01-01 01:00:00", S},
		// manual: SELECT '2018-12-31 23:59:59' + INTERVAL 1 SECOND; -> '2019-01-01 00:00:00'
		{"'2018-12-31 23:59:59' + INTERVAL 1 SECOND", "2019-01-01 00:00:00", S},
		// manual: SELECT INTERVAL 1 DAY + '2018-12-31'; -> '2019-01-01'
		{"INTERVAL 1 DAY + '2018-12-31'", "2019-01-01", S},
		// manual: SELECT '2025-01-01' - INTERVAL 1 SECOND; -> '2024-12-31 23:59:59'
		{"'2025-01-01' - INTERVAL 1 SECOND", "2024-12-31 23:59:59", S},
		// manual: SELECT ADDDATE('2008-01-02', INTERVAL 31 DAY); -> '2008-02-02'
		{"ADDDATE('2008-01-02', INTERVAL 31 DAY)", "2008-02-02", S},
		// manual: SELECT ADDDATE('2008-01-02', 31); -> '2008-02-02'
		{"ADDDATE('2008-01-02', 31)", "2008-02-02", S},
		// manual: SELECT SUBDATE('2008-01-02', 31); -> '2007-12-02'
		{"SUBDATE('2008-01-02', 31)", "2007-12-02", S},
		// manual: SELECT TIMESTAMPADD(MINUTE, 1, '2003-01-02'); -> '2003-01-02 00:01:00'
		{"TIMESTAMPADD(MINUTE, 1, '2003-01-02')", "2003-01-02 00:01:00", S},
		// manual: SELECT TIMESTAMPADD(WEEK,1,'2003-01-02'); -> '2003-01-09'
		{"TIMESTAMPADD(WEEK, 1, '2003-01-02')", "2003-01-09", S},
		// A DATETIME stays one.
		{"t + INTERVAL 1 DAY", "2024-01-03 03:04:05", T},
		{"t - INTERVAL 1 MONTH", "2023-12-02 03:04:05", T},
		{"DATE_ADD(t, INTERVAL a HOUR)", "2024-01-02 08:04:05", T},
		{"DATE_ADD(t, INTERVAL c DAY)", "NULL", T},
		{"DATE_ADD(NULL, INTERVAL 1 DAY)", "NULL", S},
		{"DATE_ADD('2024-02-30', INTERVAL 1 DAY)", "NULL", S},
		{"DATE_ADD(DATE('2024-01-31'), INTERVAL 1 MONTH)", "2024-02-29 00:00:00", T},
		// manual: SELECT EXTRACT(YEAR FROM '2019-07-02'); -> 2019
		{"EXTRACT(YEAR FROM '2019-07-02')", "2019", I},
		// manual: SELECT EXTRACT(YEAR_MONTH FROM '2019-07-02 01:02:03'); -> 201907
		{"EXTRACT(YEAR_MONTH FROM '2019-07-02 01:02:03')", "201907", I},
		// manual: SELECT EXTRACT(DAY_MINUTE FROM '2019-07-02 01:02:03'); -> 20102
		{"EXTRACT(DAY_MINUTE FROM '2019-07-02 01:02:03')", "20102", I},
		// manual: SELECT EXTRACT(MICROSECOND FROM '2003-01-02 10:30:00.000123'); -> 123
		{"EXTRACT(MICROSECOND FROM '2003-01-02 10:30:00.000123')", "123", I},
		{"EXTRACT(HOUR FROM t)", "3", I},
		{"EXTRACT(QUARTER FROM t)", "1", I},
		{"EXTRACT(WEEK FROM '2008-02-20')", "7", I},
		{"EXTRACT(HOUR_SECOND FROM '10:20:30')", "102030", I},
		{"EXTRACT(DAY FROM NULL)", "NULL", I},
		// manual: SELECT TIMESTAMPDIFF(MONTH,'2003-02-01','2003-05-01'); -> 3
		{"TIMESTAMPDIFF(MONTH, '2003-02-01', '2003-05-01')", "3", I},
		// manual: SELECT TIMESTAMPDIFF(YEAR,'2002-05-01','2001-01-01'); -> -1
		{"TIMESTAMPDIFF(YEAR, '2002-05-01', '2001-01-01')", "-1", I},
		// manual: SELECT TIMESTAMPDIFF(MINUTE,'2003-02-01','2003-05-01 12:05:55'); -> 128885
		{"TIMESTAMPDIFF(MINUTE, '2003-02-01', '2003-05-01 12:05:55')", "128885", I},
		{"TIMESTAMPDIFF(MONTH, '2024-01-31', '2024-02-29')", "0", I},
		{"TIMESTAMPDIFF(MONTH, '2024-01-31', '2024-03-31')", "2", I},
		{"TIMESTAMPDIFF(MONTH, '2024-03-31', '2024-01-31 00:00:01')", "-1", I},
		{"TIMESTAMPDIFF(QUARTER, '2024-01-01', '2024-12-31')", "3", I},
		{"TIMESTAMPDIFF(DAY, t, '2024-01-01')", "-1", I},
		{"TIMESTAMPDIFF(DAY, t, '2024-01-01 03:04:06')", "0", I},
		{"TIMESTAMPDIFF(SECOND, '2024-01-01', t)", "97445", I},
		{"TIMESTAMPDIFF(WEEK, '2024-01-01', '2024-01-15')", "2", I},
		{"TIMESTAMPDIFF(HOUR, c, t)", "NULL", I},
		{"YEAR(t)", "2024", I},
		{"DATE(t)", "2024-01-02 00:00:00", T},
		{"DAYOFWEEK(t)", "3", I},
		{"DATE_FORMAT(t, '%Y-%m-%d %H:%i:%s')", "2024-01-02 03:04:05", S},
		{"UNIX_TIMESTAMP(t)", "1704164645", D},
		{"FROM_UNIXTIME(1704164645)", "2024-01-02 03:04:05", T},
		{"STR_TO_DATE('02/01/2024', '%d/%m/%Y')", "2024-01-02 00:00:00", T},
		{"DATEDIFF(t, '2023-12-25 23:00:00')", "8", I},
		{"SUBSTRING_INDEX('www.mysql.com', '.', 2)", "www.mysql", S},
		{"FIELD('Bb', 'Aa', 'Bb', 'Cc')", "2", I},
		{"UNHEX('4D7953514C')", "MySQL", B},
		{"FORMAT(12332.123456, 4)", "12,332.1235", S},
		{"ATAN(-2, 2)", "-0.7853981633974483", F},
		{"PI()", "3.141592653589793", F},
		{"UNIX_TIMESTAMP('2015-11-13 10:20:19.012')", "1447410019.012", D},
		{"CRC32('MySQL')", "3259397556", I},
	}
	for _, c := range cases {
		d, e, err := evalScalar(t, &scalarTestScope{}, c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if d.String() != c.want {
			t.Errorf("%s = %q (%s), want %q", c.expr, d.String(), d.Kind(), c.want)
		}
		if !d.IsNull() && d.Kind() != c.kind {
			t.Errorf("%s: kind %s, want %s", c.expr, d.Kind(), c.kind)
		}
		if e.Type() != c.kind {
			t.Errorf("%s: Type() %s, want %s", c.expr, e.Type(), c.kind)
		}
	}
}

func TestScalarErrors(t *testing.T) {
	cases := []struct {
		expr string
		code uint16
		msg  string // substring of the message
	}{
		{"9223372036854775807+1", sqlerr.DataOutOfRange, "BIGINT value is out of range in '(9223372036854775807 + 1)'"},
		{"-9223372036854775808 - 1", sqlerr.DataOutOfRange, "BIGINT"},
		{"a * 9223372036854775807", sqlerr.DataOutOfRange, "BIGINT value is out of range in '(a * 9223372036854775807)'"},
		{"NOW()", sqlerr.NotSupported, "not deterministic"},
		{"CURRENT_TIMESTAMP", sqlerr.NotSupported, "not deterministic"},
		{"SYSDATE()", sqlerr.NotSupported, "not deterministic"},
		{"CURDATE()", sqlerr.NotSupported, "not deterministic"},
		{"RAND()", sqlerr.NotSupported, "not deterministic"},
		{"UUID()", sqlerr.NotSupported, "not deterministic"},
		{"a | 1", sqlerr.NotSupported, "a | 1"},
		{"a << 1", sqlerr.NotSupported, "a << 1"},
		{"~a", sqlerr.NotSupported, "~a"},
		{"a IN (SELECT 1)", sqlerr.NotSupported, "select 1"},
		{"a = (SELECT 1)", sqlerr.NotSupported, "select 1"},
		{"a = ANY (SELECT 1)", sqlerr.NotSupported, "any"},
		{"EXISTS (SELECT 1)", sqlerr.NotSupported, "exists"},
		{"COUNT(*)", sqlerr.InvalidGroup, "group function"},
		{"SUM(a) + 1", sqlerr.InvalidGroup, "group function"},
		{":v1", sqlerr.NotSupported, "bind variable"},
		{"@x", sqlerr.NotSupported, "@x"},
		{"a REGEXP 'x'", sqlerr.NotSupported, "REGEXP"},
		{"NO_SUCH_FN(1)", sqlerr.NotSupported, "NO_SUCH_FN"},
		{"zz + 1", sqlerr.BadField, "zz"},
		{"1e500", 1367, "1e500"},
		{"(1, 2) = (1, 2)", sqlerr.NotSupported, "row comparison"},
		{"1 IN ((1, 2))", sqlerr.OperandCols, "1 column"},
		{"DATE '2024-13-01'", 1525, "2024-13-01"},
		{"WEIGHT_STRING(a)", sqlerr.NotSupported, "weight_string(a)"},
		{"NOW()", sqlerr.NotSupported, "its value changes without any write, so no materialized view"},
		{"UNIX_TIMESTAMP()", sqlerr.NotSupported, "function UNIX_TIMESTAMP is not deterministic"},
		{"LOCALTIME", sqlerr.NotSupported, "function LOCALTIME is not deterministic"},
		{"LOCALTIMESTAMP()", sqlerr.NotSupported, "function LOCALTIMESTAMP is not deterministic"},
		{"UTC_TIMESTAMP()", sqlerr.NotSupported, "function UTC_TIMESTAMP is not deterministic"},
		{"UTC_DATE", sqlerr.NotSupported, "function UTC_DATE is not deterministic"},
		{"UTC_TIME()", sqlerr.NotSupported, "function UTC_TIME is not deterministic"},
		{"CURRENT_DATE", sqlerr.NotSupported, "function CURRENT_DATE is not deterministic"},
		{"CURRENT_TIME", sqlerr.NotSupported, "function CURRENT_TIME is not deterministic"},
		{"CONNECTION_ID()", sqlerr.NotSupported, "function CONNECTION_ID is not deterministic"},
		{"LAST_INSERT_ID()", sqlerr.NotSupported, "function LAST_INSERT_ID is not deterministic"},
		{"USER()", sqlerr.NotSupported, "function USER is not deterministic"},
		{"DATABASE()", sqlerr.NotSupported, "function DATABASE is not deterministic"},
		{"DATE_ADD(NOW(), INTERVAL 1 DAY)", sqlerr.NotSupported, "not deterministic"},
		{"YEAR(t, 1)", 1582, "YEAR"},
		{"DATE_FORMAT(t)", 1582, "DATE_FORMAT"},
		{"PI(1)", 1582, "PI"},
		{"SHA2('a')", 1582, "SHA2"},
		{"COT(0)", sqlerr.DataOutOfRange, "DOUBLE value is out of range in 'cot(0)'"},
		{"JSON_EXTRACT('{}', '$')", sqlerr.NotSupported, "json_extract"},
		{"ABS(1, 2)", 1582, "ABS"},
		{"CAST(a AS JSON)", sqlerr.NotSupported, "JSON"},
		{"'a' LIKE 'a' ESCAPE 'xy'", 1210, "ESCAPE"},
		{"VALUES(a)", sqlerr.NotSupported, "values(a)"},
	}
	for _, c := range cases {
		_, _, err := evalScalar(t, &scalarTestScope{}, c.expr)
		if err == nil {
			t.Errorf("%s: no error, want %d", c.expr, c.code)
			continue
		}
		se := sqlerr.As(err)
		if se.Code != c.code || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%s: error %v, want code %d containing %q", c.expr, err, c.code, c.msg)
		}
	}
}

func TestScalarSpecial(t *testing.T) {
	scope := &scalarTestScope{countLit: dataflow.Lit(dataflow.NewInt(42))}
	d, _, err := evalScalar(t, scope, "COUNT(*) + 1")
	if err != nil || d.String() != "43" {
		t.Fatalf("COUNT(*) + 1 = %v, %v", d, err)
	}
	scope = &scalarTestScope{}
	if _, _, err := evalScalar(t, scope, "a + 1 > 2"); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(scope.offered, " | "), "a + 1 > 2 | a + 1 | a | 1 | 2"; got != want {
		t.Errorf("offered %q, want %q", got, want)
	}
	// A nil scope still converts constant expressions and rejects columns.
	e, err := ConvertScalar(nil, parseScalar(t, "1 + 2"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.Eval(nil); d.String() != "3" {
		t.Errorf("1 + 2 = %s", d)
	}
	if _, err := ConvertScalar(nil, parseScalar(t, "a")); err == nil {
		t.Errorf("a column with a nil scope should fail")
	}
	if _, err := ConvertScalar(scope, nil); err == nil {
		t.Errorf("a nil expression should fail")
	}
}

func TestScalarString(t *testing.T) {
	e, err := ConvertScalar(&scalarTestScope{}, parseScalar(t, "a + 1 > 2 AND s LIKE 'h%' AND c IS NULL"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), "(((a + 1) > 2) and (s like 'h%') and (c is null))"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
