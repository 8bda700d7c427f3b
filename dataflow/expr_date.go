package dataflow

import (
	"math"
	"strconv"
	"strings"
	"time"

	"vitess.io/vitess/go/mysql/datetime"
	"vitess.io/vitess/go/mysql/decimal"

	"github.com/cdc-dev/cdc/sqlerr"
)

// The engine has one temporal kind, KindTime: a DATETIME in microseconds since the epoch, UTC.
// A DATE is a KindTime at midnight (as CAST(x AS DATE) and DATE columns are), and a TIME is
// its text, as CAST(x AS TIME) is.

const microsPerDay = 86400 * 1000000

// registerDate adds the date and time functions to the registry.
func registerDate() {
	register(funcBuilder{1, 1, buildDatePart}, "DATE", "YEAR", "MONTH", "DAY", "DAYOFMONTH",
		"DAYOFWEEK", "WEEKDAY", "DAYOFYEAR", "QUARTER", "LAST_DAY", "TO_DAYS", "TO_SECONDS",
		"DAYNAME", "MONTHNAME", "WEEKOFYEAR")
	register(funcBuilder{1, 1, buildClockPart}, "HOUR", "MINUTE", "SECOND", "MICROSECOND", "TIME_TO_SEC")
	register(funcBuilder{1, 2, buildWeek}, "WEEK")
	register(funcBuilder{2, 2, buildDateDiff}, "DATEDIFF")
	register(funcBuilder{2, 2, buildDateFormat}, "DATE_FORMAT")
	register(funcBuilder{1, 1, buildUnixTimestamp}, "UNIX_TIMESTAMP")
	register(funcBuilder{1, 2, buildFromUnixtime}, "FROM_UNIXTIME")
	register(funcBuilder{2, 2, buildStrToDate}, "STR_TO_DATE")
	register(funcBuilder{2, 2, buildMakeDate}, "MAKEDATE")
	register(funcBuilder{1, 1, buildFromDays}, "FROM_DAYS")
}

// clockOf splits microseconds since the epoch into the UTC date and time fields.
func clockOf(us int64) time.Time { return time.UnixMicro(us).UTC() }

// microsToDT converts microseconds since the epoch to a vitess DateTime.
func microsToDT(us int64) datetime.DateTime { return datetime.NewDateTimeFromStd(clockOf(us)) }

// dtToMicros converts a vitess DateTime back; ok is false outside 0001-01-01 .. 9999-12-31.
func dtToMicros(dt datetime.DateTime) (int64, bool) {
	return makeDateTime(dt.Date.Year(), dt.Date.Month(), dt.Date.Day(), dt.Time.Hour(),
		dt.Time.Minute(), dt.Time.Second(), int64(dt.Time.Nanosecond()/1000))
}

// dayStart truncates microseconds since the epoch to midnight.
func dayStart(us int64) int64 {
	r := us % microsPerDay
	if r < 0 {
		r += microsPerDay
	}
	return us - r
}

// dayNumber is MySQL's TO_DAYS of the date part of us.
func dayNumber(us int64) int64 {
	t := clockOf(us)
	return int64(datetime.MysqlDayNumber(t.Year(), int(t.Month()), t.Day()))
}

// dateFromDayNumber is FROM_DAYS: ok is false for day numbers before 0001-01-01 or past 9999-12-31.
func dateFromDayNumber(n int64) (int64, bool) {
	if n < 366 || n > 3652424 {
		return 0, false
	}
	d := datetime.DateFromDayNumber(int(n))
	return makeDateTime(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0)
}

// buildDatePart builds the functions of the date part of one DATETIME argument.
func buildDatePart(name string, args []Expr) (Expr, error) {
	kind := KindInt
	switch name {
	case "date", "last_day":
		kind = KindTime
	case "dayname", "monthname":
		kind = KindString
	}
	f := &funcExpr{name: name, args: args, kind: kind, strict: true}
	f.f1 = func(a Datum) (Datum, error) {
		us, ok := toTimeMicros(a)
		if !ok {
			return Null, nil
		}
		t := clockOf(us)
		switch name {
		case "date":
			return NewTimeMicros(dayStart(us)), nil
		case "year":
			return NewInt(int64(t.Year())), nil
		case "month":
			return NewInt(int64(t.Month())), nil
		case "day", "dayofmonth":
			return NewInt(int64(t.Day())), nil
		case "dayofweek":
			return NewInt(int64(t.Weekday()) + 1), nil
		case "weekday":
			return NewInt((int64(t.Weekday()) + 6) % 7), nil
		case "dayofyear":
			return NewInt(int64(t.YearDay())), nil
		case "quarter":
			return NewInt(int64(t.Month()+2) / 3), nil
		case "last_day":
			first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
			return NewTime(first.AddDate(0, 1, -1)), nil
		case "to_days":
			return NewInt(dayNumber(us)), nil
		case "to_seconds":
			h, m, s := t.Clock()
			return NewInt(dayNumber(us)*86400 + int64(h*3600+m*60+s)), nil
		case "dayname":
			return NewString(t.Weekday().String()), nil
		case "monthname":
			return NewString(t.Month().String()), nil
		case "weekofyear":
			return NewInt(int64(microsToDT(us).Date.Week(3))), nil
		}
		return Null, nil
	}
	return f, nil
}

// clockFields parses a TIME, DATETIME or their text into hours (unbounded, as in TIME), minutes,
// seconds and microseconds, as HOUR, MINUTE, SECOND and MICROSECOND read their argument.
func clockFields(d Datum) (neg bool, h, m, s, us int64, ok bool) {
	text, ok := castTimeText(d, 6)
	if !ok {
		return false, 0, 0, 0, 0, false
	}
	if strings.HasPrefix(text, "-") {
		neg, text = true, text[1:]
	}
	hh, rest, _ := strings.Cut(text, ":")
	mm, rest, _ := strings.Cut(rest, ":")
	ss, frac, _ := strings.Cut(rest, ".")
	hv, _ := strconv.ParseInt(hh, 10, 64)
	mv, _ := strconv.ParseInt(mm, 10, 64)
	sv, _ := strconv.ParseInt(ss, 10, 64)
	return neg, hv, mv, sv, fracMicros(frac), true
}

// buildClockPart builds HOUR, MINUTE, SECOND, MICROSECOND and TIME_TO_SEC, which read their
// argument as a TIME ('272:59:59' has hour 272) or the time of day of a DATETIME.
func buildClockPart(name string, args []Expr) (Expr, error) {
	f := &funcExpr{name: name, args: args, kind: KindInt, strict: true}
	f.f1 = func(a Datum) (Datum, error) {
		neg, h, m, s, us, ok := clockFields(a)
		if !ok {
			return Null, nil
		}
		switch name {
		case "hour":
			return NewInt(h), nil
		case "minute":
			return NewInt(m), nil
		case "second":
			return NewInt(s), nil
		case "microsecond":
			return NewInt(us), nil
		}
		secs := h*3600 + m*60 + s
		if neg {
			secs = -secs
		}
		return NewInt(secs), nil
	}
	return f, nil
}

// buildWeek builds WEEK(date[, mode]); the default mode is 0 (default_week_format).
func buildWeek(name string, args []Expr) (Expr, error) {
	f := &funcExpr{name: name, args: args, kind: KindInt, strict: true}
	week := func(a Datum, mode int64) (Datum, error) {
		us, ok := toTimeMicros(a)
		if !ok {
			return Null, nil
		}
		return NewInt(int64(microsToDT(us).Date.Week(int(mode & 7)))), nil
	}
	f.f1 = func(a Datum) (Datum, error) { return week(a, 0) }
	f.f2 = func(a, b Datum) (Datum, error) { return week(a, toInt(b)) }
	return f, nil
}

// buildDateDiff builds DATEDIFF(a, b): the days from the date of b to the date of a.
func buildDateDiff(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f2: func(a, b Datum) (Datum, error) {
		x, ok1 := toTimeMicros(a)
		y, ok2 := toTimeMicros(b)
		if !ok1 || !ok2 {
			return Null, nil
		}
		return NewInt((dayStart(x) - dayStart(y)) / microsPerDay), nil
	}}, nil
}

// formatDate is DATE_FORMAT: MySQL's strftime with the specifiers of the manual.
func formatDate(us int64, format string) string {
	trailing := ""
	if n := len(format) - len(strings.TrimRight(format, "%")); n%2 == 1 {
		// MySQL prints a lone % at the end of the format; vitess refuses it.
		format, trailing = format[:len(format)-1], "%"
	}
	b, err := datetime.Format(format, microsToDT(us), 6)
	if err != nil {
		return ""
	}
	return string(b) + trailing
}

// buildDateFormat builds DATE_FORMAT(date, format).
func buildDateFormat(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindString, strict: true, f2: func(a, b Datum) (Datum, error) {
		us, ok := toTimeMicros(a)
		if !ok {
			return Null, nil
		}
		return NewString(formatDate(us, toStr(b))), nil
	}}, nil
}

// Unix time limits: UNIX_TIMESTAMP gives 0 outside them (MySQL 8.0.28+ on 64-bit platforms),
// FROM_UNIXTIME gives NULL.
const maxUnixMicros = 32536771199*1000000 + 999999

// buildUnixTimestamp builds the one-argument UNIX_TIMESTAMP(date): seconds since the epoch, with
// the fractional digits of the argument (six for a DATETIME that has microseconds).
func buildUnixTimestamp(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindDecimal, strict: true, f1: func(a Datum) (Datum, error) {
		us, ok := toTimeMicros(a)
		if !ok {
			return Null, nil
		}
		scale := int32(0)
		if a.k == KindTime {
			if us%1000000 != 0 {
				scale = 6
			}
		} else {
			_, _, prec, _ := dateArg(a)
			scale = int32(prec)
		}
		if us < 0 || us > maxUnixMicros {
			us = 0
		}
		return decDatum(decimal.New(us, -6), scale), nil
	}}, nil
}

// buildFromUnixtime builds FROM_UNIXTIME(seconds[, format]).
func buildFromUnixtime(name string, args []Expr) (Expr, error) {
	kind := KindTime
	if len(args) == 2 {
		kind = KindString
	}
	f := &funcExpr{name: name, args: args, kind: kind, strict: true}
	toMicros := func(a Datum) (int64, bool) {
		var us int64
		switch a.k {
		case KindInt:
			if a.i < 0 || a.i > maxUnixMicros/1000000 {
				return 0, false
			}
			us = a.i * 1000000
		default:
			x, _ := toDec(a)
			if x.Sign() < 0 {
				return 0, false
			}
			m, ok := x.Mul(decimal.New(1000000, 0)).Round(0).Int64()
			if !ok {
				return 0, false
			}
			us = m
		}
		return us, us <= maxUnixMicros
	}
	f.f1 = func(a Datum) (Datum, error) {
		us, ok := toMicros(a)
		if !ok {
			return Null, nil
		}
		return NewTimeMicros(us), nil
	}
	f.f2 = func(a, b Datum) (Datum, error) {
		us, ok := toMicros(a)
		if !ok {
			return Null, nil
		}
		return NewString(formatDate(us, toStr(b))), nil
	}
	return f, nil
}

// buildMakeDate builds MAKEDATE(year, dayofyear).
func buildMakeDate(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindTime, strict: true, f2: func(a, b Datum) (Datum, error) {
		y, yd := toInt(a), toInt(b)
		if yd <= 0 || y < 0 || y > 9999 {
			return Null, nil
		}
		if y < 100 {
			y = int64(twoDigitYear(int(y)))
		}
		n := int64(datetime.MysqlDayNumber(int(y), 1, 1)) + yd - 1
		us, ok := dateFromDayNumber(n)
		if !ok {
			return Null, nil
		}
		return NewTimeMicros(us), nil
	}}, nil
}

// buildFromDays builds FROM_DAYS(n); days before 0001-01-01 (the zero date in MySQL) are NULL.
func buildFromDays(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindTime, strict: true, f1: func(a Datum) (Datum, error) {
		us, ok := dateFromDayNumber(toInt(a))
		if !ok {
			return Null, nil
		}
		return NewTimeMicros(us), nil
	}}, nil
}

// dateArg reads the first argument of DATE_ADD and its relatives: its microseconds, whether it
// is text without a time part, and the fractional digits it was written with.
func dateArg(d Datum) (us int64, dateOnly bool, prec uint8, ok bool) {
	us, ok = toTimeMicros(d)
	if !ok || d.k == KindTime {
		return us, false, 0, ok
	}
	s := strings.TrimSpace(toStr(d))
	num, frac, hasFrac := strings.Cut(s, ".")
	if allDigits(num) {
		if len(num) <= 8 {
			return us, true, 0, true
		}
		if hasFrac {
			prec = uint8(min(len(frac), 6))
		}
		return us, false, prec, true
	}
	sp := strings.IndexAny(s, " T")
	if sp < 0 {
		return us, true, 0, true
	}
	if i := strings.LastIndexByte(s, '.'); i > sp {
		prec = uint8(min(len(s)-i-1, 6))
	}
	return us, false, prec, true
}

// toInterval converts the value of INTERVAL v unit; nil if it is not one.
func toInterval(v Datum, unit datetime.IntervalType, sub bool) *datetime.Interval {
	switch v.k {
	case KindInt:
		return datetime.ParseIntervalInt64(v.i, unit, sub)
	case KindFloat:
		return datetime.ParseIntervalFloat(v.Float(), unit, sub)
	case KindDecimal:
		d := v.Decimal()
		return datetime.ParseIntervalDecimal(d, decScale(v.s), unit, sub)
	}
	s := toStr(v)
	if !strings.ContainsAny(s, "0123456789") {
		// vitess's parser needs a field; MySQL gives NULL for an interval without a number.
		return nil
	}
	return datetime.ParseInterval(s, unit, sub)
}

// dateAddExpr is DATE_ADD, DATE_SUB, ADDDATE, SUBDATE, TIMESTAMPADD and date ± INTERVAL.
type dateAddExpr struct {
	name     string
	date     Expr
	interval Expr
	unit     datetime.IntervalType
	sub      bool
	kind     Kind
}

// DateAdd returns date + INTERVAL interval unit (date - ... if sub). Like MySQL, the result is a
// DATETIME when date is one, and text otherwise: 'YYYY-MM-DD' when date is text without a time
// part and unit has none, else 'YYYY-MM-DD hh:mm:ss[.ffffff]'. Month and year arithmetic clamps
// the day to the end of the month. A unit of datetime.IntervalNone means days (ADDDATE(d, n)).
func DateAdd(name string, date, interval Expr, unit datetime.IntervalType, sub bool) (Expr, error) {
	if date == nil || interval == nil {
		return nil, sqlerr.New(sqlerr.Parse, "function %s has a missing argument", strings.ToUpper(name))
	}
	if unit == datetime.IntervalNone {
		unit = datetime.IntervalDay
	}
	if unit.ToString() == "[unknown IntervalType]" {
		return nil, sqlerr.New(sqlerr.NotSupported, "interval unit %d is not supported", unit)
	}
	kind := KindString
	if date.Type() == KindTime {
		kind = KindTime
	}
	return &dateAddExpr{name: strings.ToLower(name), date: date, interval: interval, unit: unit, sub: sub, kind: kind}, nil
}

// Eval adds the interval; NULL for NULL arguments, invalid dates or results out of range.
func (e *dateAddExpr) Eval(row Row) (Datum, error) {
	d, err := e.date.Eval(row)
	if err != nil || d.k == KindNull {
		return Null, err
	}
	v, err := e.interval.Eval(row)
	if err != nil || v.k == KindNull {
		return Null, err
	}
	us, dateOnly, prec, ok := dateArg(d)
	if !ok {
		return Null, nil
	}
	if e.unit == datetime.IntervalYear {
		// vitess checks only positive year intervals; a large negative one would wrap around.
		if n := toFloat(v); n > 10000 || n < -10000 {
			return Null, nil
		}
	}
	var r int64
	var outPrec uint8
	if step, ok := timeUnitMicros[e.unit]; ok && v.k != KindString && v.k != KindBytes && v.k != KindTime {
		// A number of one time unit: exact microsecond arithmetic (vitess adds time intervals as
		// a time.Duration, which overflows past 292 years).
		var n float64
		if e.unit == datetime.IntervalSecond {
			n = math.Round(toFloat(v) * 1e6)
			if n != math.Trunc(toFloat(v))*1e6 {
				outPrec = 6
			}
		} else {
			n = math.Round(toFloat(v)) * float64(step)
			if e.unit == datetime.IntervalMicrosecond {
				outPrec = 6
			}
		}
		if e.sub {
			n = -n
		}
		if math.Abs(n) > 4e17 {
			return Null, nil
		}
		r = us + int64(n)
		if t := clockOf(r); t.Year() < 1 || t.Year() > 9999 {
			return Null, nil
		}
		outPrec = max(outPrec, prec)
	} else {
		if e.unit.HasTimeParts() && !timeFieldsFit(toStr(v), e.unit) {
			return Null, nil
		}
		itv := toInterval(v, e.unit, e.sub)
		if itv == nil {
			return Null, nil
		}
		var dt datetime.DateTime
		dt, outPrec, ok = microsToDT(us).AddInterval(itv, prec, e.kind != KindTime)
		if !ok {
			return Null, nil
		}
		if r, ok = dtToMicros(dt); !ok {
			return Null, nil
		}
	}
	if e.kind == KindTime {
		return NewTimeMicros(r), nil
	}
	if dateOnly && !e.unit.HasTimeParts() {
		return NewString(clockOf(r).Format("2006-01-02")), nil
	}
	return NewString(formatDateTime(r, int(outPrec))), nil
}

// timeUnitMicros are the microseconds of the single time units.
var timeUnitMicros = map[datetime.IntervalType]int64{
	datetime.IntervalMicrosecond: 1, datetime.IntervalSecond: 1000000,
	datetime.IntervalMinute: 60 * 1000000, datetime.IntervalHour: 3600 * 1000000,
}

// timeFieldsFit reports whether an interval text with time parts is small enough for vitess,
// which adds it as a time.Duration (at most 292 years): every number in it, taken in the largest
// unit of the interval, must stay under 9e9 seconds. Larger intervals give NULL.
func timeFieldsFit(s string, unit datetime.IntervalType) bool {
	largest := int64(1)
	switch {
	case unit&datetime.IntervalDay != 0:
		largest = 86400
	case unit&datetime.IntervalHour != 0:
		largest = 3600
	case unit&datetime.IntervalMinute != 0:
		largest = 60
	}
	var n int64
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int64(s[i]-'0')
			if n > 9e9 {
				return false
			}
			continue
		}
		if n*largest > 9e9 {
			return false
		}
		n = 0
	}
	return true
}

// formatDateTime prints a DATETIME with exactly fsp fractional digits.
func formatDateTime(us int64, fsp int) string {
	s := clockOf(us).Format("2006-01-02 15:04:05")
	if fsp > 0 {
		frac := strconv.FormatInt(1000000+(us%1000000+1000000)%1000000, 10)[1:]
		s += "." + frac[:fsp]
	}
	return s
}

// Type is DATETIME for a DATETIME argument, else text.
func (e *dateAddExpr) Type() Kind { return e.kind }

// String prints the call the way MySQL prints it.
func (e *dateAddExpr) String() string {
	fn := "date_add"
	if e.sub {
		fn = "date_sub"
	}
	return fn + "(" + e.date.String() + ", interval " + e.interval.String() + " " + e.unit.ToString() + ")"
}

// Extract returns EXTRACT(unit FROM e).
func Extract(unit datetime.IntervalType, e Expr) (Expr, error) {
	if e == nil {
		return nil, sqlerr.New(sqlerr.Parse, "EXTRACT has a missing argument")
	}
	name := unit.ToString()
	if unit == datetime.IntervalNone || name == "[unknown IntervalType]" {
		return nil, sqlerr.New(sqlerr.NotSupported, "EXTRACT unit %d is not supported", unit)
	}
	f := &funcExpr{name: "extract", args: []Expr{e}, kind: KindInt, strict: true}
	f.f1 = func(a Datum) (Datum, error) {
		if !unit.HasDateParts() {
			// Time units read a TIME, as HOUR() does.
			neg, h, m, s, us, ok := clockFields(a)
			if !ok {
				return Null, nil
			}
			n := extractFields(unit, 0, 0, 0, h, m, s, us)
			if neg {
				n = -n
			}
			return NewInt(n), nil
		}
		us, ok := toTimeMicros(a)
		if !ok {
			return Null, nil
		}
		t := clockOf(us)
		switch unit {
		case datetime.IntervalWeek:
			return NewInt(int64(microsToDT(us).Date.Week(0))), nil
		case datetime.IntervalQuarter:
			return NewInt(int64(t.Month()+2) / 3), nil
		}
		h, m, s := t.Clock()
		return NewInt(extractFields(unit, int64(t.Year()), int64(t.Month()), int64(t.Day()),
			int64(h), int64(m), int64(s), us-us/1000000*1000000)), nil
	}
	return &extractExpr{funcExpr: f, unit: name}, nil
}

// extractFields concatenates the fields of a compound unit as MySQL does: DAY_MINUTE of
// 2019-07-02 01:02:03 is 20102 (day, then two digits each for hour and minute).
func extractFields(unit datetime.IntervalType, y, mo, d, h, mi, s, us int64) int64 {
	fields := []struct {
		bit   datetime.IntervalType
		v     int64
		scale int64
	}{
		{datetime.IntervalYear, y, 1}, {datetime.IntervalMonth, mo, 100}, {datetime.IntervalDay, d, 100},
		{datetime.IntervalHour, h, 100}, {datetime.IntervalMinute, mi, 100},
		{datetime.IntervalSecond, s, 100}, {datetime.IntervalMicrosecond, us, 1000000},
	}
	var n int64
	for _, f := range fields {
		if unit&f.bit != 0 {
			n = n*f.scale + f.v
		}
	}
	return n
}

// extractExpr prints EXTRACT(unit FROM e).
type extractExpr struct {
	*funcExpr
	unit string
}

// String prints the call.
func (e *extractExpr) String() string {
	return "extract(" + e.unit + " from " + e.args[0].String() + ")"
}

// TimestampDiff returns TIMESTAMPDIFF(unit, a, b): b - a in whole units, truncated toward zero;
// months, quarters and years count only complete months as MySQL does.
func TimestampDiff(unit datetime.IntervalType, a, b Expr) (Expr, error) {
	if a == nil || b == nil {
		return nil, sqlerr.New(sqlerr.Parse, "TIMESTAMPDIFF has a missing argument")
	}
	name := unit.ToString()
	var per int64
	switch unit {
	case datetime.IntervalMicrosecond:
		per = 1
	case datetime.IntervalSecond:
		per = 1000000
	case datetime.IntervalMinute:
		per = 60 * 1000000
	case datetime.IntervalHour:
		per = 3600 * 1000000
	case datetime.IntervalDay:
		per = microsPerDay
	case datetime.IntervalWeek:
		per = 7 * microsPerDay
	case datetime.IntervalMonth, datetime.IntervalQuarter, datetime.IntervalYear:
	default:
		return nil, sqlerr.New(sqlerr.NotSupported, "TIMESTAMPDIFF unit %s is not supported", name)
	}
	f := &funcExpr{name: "timestampdiff", args: []Expr{a, b}, kind: KindInt, strict: true}
	f.f2 = func(x, y Datum) (Datum, error) {
		from, ok1 := toTimeMicros(x)
		to, ok2 := toTimeMicros(y)
		if !ok1 || !ok2 {
			return Null, nil
		}
		if per > 0 {
			return NewInt((to - from) / per), nil
		}
		months := monthsBetween(from, to)
		switch unit {
		case datetime.IntervalQuarter:
			months /= 3
		case datetime.IntervalYear:
			months /= 12
		}
		return NewInt(months), nil
	}
	return &timestampDiffExpr{funcExpr: f, unit: name}, nil
}

// monthsBetween counts the complete months from a to b (negative if b is before a).
func monthsBetween(a, b int64) int64 {
	neg := false
	if b < a {
		a, b, neg = b, a, true
	}
	ta, tb := clockOf(a), clockOf(b)
	months := int64(tb.Year()-ta.Year())*12 + int64(tb.Month()-ta.Month())
	// The last month is incomplete if b's day and time of month come before a's.
	restA := a - time.Date(ta.Year(), ta.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	restB := b - time.Date(tb.Year(), tb.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	if restB < restA {
		months--
	}
	if neg {
		months = -months
	}
	return months
}

// timestampDiffExpr prints TIMESTAMPDIFF(unit, a, b).
type timestampDiffExpr struct {
	*funcExpr
	unit string
}

// String prints the call.
func (e *timestampDiffExpr) String() string {
	return "timestampdiff(" + e.unit + "," + e.args[0].String() + "," + e.args[1].String() + ")"
}

// strToDateParts are the fields STR_TO_DATE read; a field not given is 0.
type strToDateParts struct {
	y, mo, d, yday, h, mi, s, us int
	pm                           int // 0 none, 1 AM, 2 PM
	twelve                       bool
}

// monthNames and dayNames are matched by STR_TO_DATE's %M %b %W %a, case-insensitively.
var (
	monthNames = []string{"january", "february", "march", "april", "may", "june", "july",
		"august", "september", "october", "november", "december"}
	dayNames = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
)

// strToDateDigits reads up to n digits after white space.
func strToDateDigits(s string, n int) (int, string, bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	i := 0
	v := 0
	for i < len(s) && i < n && s[i] >= '0' && s[i] <= '9' {
		v = v*10 + int(s[i]-'0')
		i++
	}
	return v, s[i:], i > 0
}

// strToDateName matches one of names (full, or its first three letters if short).
func strToDateName(s string, names []string, short bool) (int, string, bool) {
	for i, n := range names {
		if short {
			n = n[:3]
		}
		if len(s) >= len(n) && strings.EqualFold(s[:len(n)], n) {
			return i, s[len(n):], true
		}
	}
	return 0, s, false
}

// parseStrToDate parses s with a STR_TO_DATE format. As in MySQL, parsing stops at the end of
// s (the fields left are 0) and characters after the end of the format are ignored.
func parseStrToDate(s, format string, p *strToDateParts) bool {
	var ok bool
	for i := 0; i < len(format) && s != ""; i++ {
		c := format[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			s = strings.TrimLeft(s, " \t\n\r")
			continue
		}
		if c != '%' || i+1 == len(format) {
			if s == "" || s[0] != c {
				return false
			}
			s = s[1:]
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			rest := strings.TrimLeft(s, " \t\n\r")
			if p.y, s, ok = strToDateDigits(rest, 4); !ok {
				return false
			}
			if len(rest)-len(s) <= 2 {
				p.y = twoDigitYear(p.y)
			}
		case 'y':
			if p.y, s, ok = strToDateDigits(s, 2); !ok {
				return false
			}
			p.y = twoDigitYear(p.y)
		case 'm', 'c':
			if p.mo, s, ok = strToDateDigits(s, 2); !ok {
				return false
			}
		case 'M', 'b':
			var m int
			if m, s, ok = strToDateName(s, monthNames, format[i] == 'b'); !ok {
				return false
			}
			p.mo = m + 1
		case 'd', 'e':
			if p.d, s, ok = strToDateDigits(s, 2); !ok {
				return false
			}
		case 'D':
			if p.d, s, ok = strToDateDigits(s, 2); !ok || len(s) < 2 {
				return false
			}
			s = s[2:]
		case 'j':
			if p.yday, s, ok = strToDateDigits(s, 3); !ok {
				return false
			}
		case 'H', 'k':
			if p.h, s, ok = strToDateDigits(s, 2); !ok {
				return false
			}
		case 'h', 'I', 'l':
			if p.h, s, ok = strToDateDigits(s, 2); !ok {
				return false
			}
			p.twelve = true
		case 'i':
			if p.mi, s, ok = strToDateDigits(s, 2); !ok {
				return false
			}
		case 's', 'S':
			if p.s, s, ok = strToDateDigits(s, 2); !ok {
				return false
			}
		case 'f':
			rest := strings.TrimLeft(s, " \t\n\r")
			var v int
			if v, s, ok = strToDateDigits(rest, 6); !ok {
				return false
			}
			for n := len(rest) - len(s); n < 6; n++ {
				v *= 10
			}
			p.us = v
		case 'p':
			switch {
			case len(s) >= 2 && strings.EqualFold(s[:2], "AM"):
				p.pm = 1
			case len(s) >= 2 && strings.EqualFold(s[:2], "PM"):
				p.pm = 2
			default:
				return false
			}
			s = s[2:]
		case 'W', 'a':
			if _, s, ok = strToDateName(s, dayNames, format[i] == 'a'); !ok {
				return false
			}
		case '%':
			if s == "" || s[0] != '%' {
				return false
			}
			s = s[1:]
		default:
			// %U %u %V %v %X %x %w are not supported.
			return false
		}
	}
	return true
}

// expandStrToDateFormat replaces %T and %r with the specifiers they stand for.
func expandStrToDateFormat(format string) string {
	if !strings.Contains(format, "%T") && !strings.Contains(format, "%r") {
		return format
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			i++
			switch format[i] {
			case 'T':
				b.WriteString("%H:%i:%S")
			case 'r':
				b.WriteString("%I:%i:%S %p")
			default:
				b.WriteByte('%')
				b.WriteByte(format[i])
			}
			continue
		}
		b.WriteByte(format[i])
	}
	return b.String()
}

// strToDateTimeOnly reports whether format has time specifiers and no date ones; STR_TO_DATE
// then returns a TIME.
func strToDateTimeOnly(format string) bool {
	hasTime := false
	for i := 0; i+1 < len(format); i++ {
		if format[i] == '%' {
			i++
			if strings.IndexByte("YymcMbdeDjWaUuVvXxw", format[i]) >= 0 {
				return false
			}
			hasTime = hasTime || strings.IndexByte("HkhIlisSfpTr", format[i]) >= 0
		}
	}
	return hasTime
}

// strToDate parses s with format into a DATETIME, or (timeOnly) a TIME text.
func strToDate(s, format string, timeOnly bool) (Datum, bool) {
	p := strToDateParts{}
	if !parseStrToDate(s, expandStrToDateFormat(format), &p) {
		return Null, false
	}
	if p.twelve {
		if p.h < 1 || p.h > 12 {
			return Null, false
		}
		p.h %= 12
		if p.pm == 2 {
			p.h += 12
		}
	}
	if p.h > 23 || p.mi > 59 || p.s > 59 {
		return Null, false
	}
	if timeOnly {
		return NewString(formatClock(false, int64(p.h*3600+p.mi*60+p.s), int64(p.us), fspOf(format))), true
	}
	if p.yday > 0 {
		n := int64(datetime.MysqlDayNumber(p.y, 1, 1)) + int64(p.yday) - 1
		us, ok := dateFromDayNumber(n)
		if !ok || p.y == 0 {
			return Null, false
		}
		t := clockOf(us)
		p.mo, p.d = int(t.Month()), t.Day()
	}
	// Zero dates and zero parts are refused, as by MySQL's default NO_ZERO_DATE and NO_ZERO_IN_DATE.
	us, ok := makeDateTime(p.y, p.mo, p.d, p.h, p.mi, p.s, int64(p.us))
	if !ok {
		return Null, false
	}
	return NewTimeMicros(us), true
}

// fspOf is the fractional digits of a STR_TO_DATE result: 6 if the format reads %f.
func fspOf(format string) int {
	if strings.Contains(format, "%f") {
		return 6
	}
	return 0
}

// buildStrToDate builds STR_TO_DATE(s, format). With a constant format of time specifiers only
// the result is TIME text; otherwise a DATETIME (a DATE is one at midnight).
func buildStrToDate(name string, args []Expr) (Expr, error) {
	timeOnly := false
	if lit, ok := args[1].(*litExpr); ok && lit.d.k != KindNull {
		timeOnly = strToDateTimeOnly(toStr(lit.d))
	}
	kind := KindTime
	if timeOnly {
		kind = KindString
	}
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f2: func(a, b Datum) (Datum, error) {
		format := toStr(b)
		d, ok := strToDate(toStr(a), format, timeOnly)
		if !ok {
			return Null, nil
		}
		return d, nil
	}}, nil
}
