package dataflow

import (
	"strconv"
	"strings"
	"time"
)

// timeNumber returns a DATETIME as MySQL's number YYYYMMDDhhmmss and its microseconds.
func timeNumber(us int64) (n int64, micros int64) {
	t := time.UnixMicro(us).UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	n = int64(y)*10000000000 + int64(mo)*100000000 + int64(d)*1000000 + int64(h)*10000 + int64(mi)*100 + int64(s)
	return n, int64(t.Nanosecond() / 1000)
}

// toTimeMicros converts a non-NULL datum to a DATETIME; ok is false if it is not a valid one.
func toTimeMicros(d Datum) (int64, bool) {
	switch d.k {
	case KindTime:
		return d.i, true
	case KindString, KindBytes:
		return ParseDateTime(d.s)
	case KindInt:
		if d.i <= 0 {
			return 0, false
		}
		return ParseDateTime(strconv.FormatInt(d.i, 10))
	case KindDecimal, KindFloat:
		s := toStr(d)
		if strings.ContainsAny(s, "eE-") {
			return 0, false
		}
		return ParseDateTime(s)
	}
	return 0, false
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoiDigits converts a run of at most 9 digits.
func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// fracMicros converts the digits after a decimal point to microseconds, rounding past six digits.
func fracMicros(f string) int64 {
	var us int64
	for i := 0; i < 6; i++ {
		us *= 10
		if i < len(f) {
			us += int64(f[i] - '0')
		}
	}
	if len(f) > 6 && f[6] >= '5' {
		us++
	}
	return us
}

// ParseDateTime parses the DATETIME and DATE texts MySQL accepts (delimited or digits) into
// microseconds since the Unix epoch.
func ParseDateTime(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	num, frac, hasFrac := strings.Cut(s, ".")
	if allDigits(num) && (!hasFrac || allDigits(frac) || frac == "") {
		var y, mo, d, h, mi, sec int
		switch len(num) {
		case 14:
			y, mo, d = atoiDigits(num[:4]), atoiDigits(num[4:6]), atoiDigits(num[6:8])
			h, mi, sec = atoiDigits(num[8:10]), atoiDigits(num[10:12]), atoiDigits(num[12:14])
		case 12:
			y, mo, d = atoiDigits(num[:2]), atoiDigits(num[2:4]), atoiDigits(num[4:6])
			h, mi, sec = atoiDigits(num[6:8]), atoiDigits(num[8:10]), atoiDigits(num[10:12])
			y = twoDigitYear(y)
		case 8:
			y, mo, d = atoiDigits(num[:4]), atoiDigits(num[4:6]), atoiDigits(num[6:8])
		case 6:
			y, mo, d = twoDigitYear(atoiDigits(num[:2])), atoiDigits(num[2:4]), atoiDigits(num[4:6])
		default:
			return 0, false
		}
		return makeDateTime(y, mo, d, h, mi, sec, fracMicros(frac))
	}
	// Delimited form: date parts separated by punctuation, then an optional time.
	parts := [6]string{}
	n := 0
	i := 0
	for n < 3 {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || j-i > 4 {
			return 0, false
		}
		parts[n] = s[i:j]
		n++
		i = j
		if n < 3 {
			if i >= len(s) || !isDatePunct(s[i]) {
				return 0, false
			}
			i++
		}
	}
	var us int64
	if i < len(s) {
		if s[i] != ' ' && s[i] != 'T' {
			return 0, false
		}
		for i < len(s) && (s[i] == ' ' || s[i] == 'T') {
			i++
		}
		for n < 6 && i < len(s) {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i || j-i > 2 {
				return 0, false
			}
			parts[n] = s[i:j]
			n++
			i = j
			if i < len(s) {
				if s[i] == '.' && n == 6 {
					break
				}
				if n < 6 && isDatePunct(s[i]) {
					i++
					continue
				}
				break
			}
		}
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			us = fracMicros(s[i+1 : j])
			i = j
		}
		if strings.TrimSpace(s[i:]) != "" || n < 5 {
			return 0, false
		}
	}
	y := atoiDigits(parts[0])
	if len(parts[0]) <= 2 {
		y = twoDigitYear(y)
	}
	return makeDateTime(y, atoiDigits(parts[1]), atoiDigits(parts[2]),
		atoiDigits(parts[3]), atoiDigits(parts[4]), atoiDigits(parts[5]), us)
}

// isDatePunct reports whether c may separate the parts of a date or time.
func isDatePunct(c byte) bool {
	return c == '-' || c == ':' || c == '/' || c == '.' || c == '@' || c == '^' || c == '_' || c == '+' || c == '=' || c == ','
}

// twoDigitYear maps a two-digit year like MySQL: 70-99 are 19xx, 00-69 are 20xx.
func twoDigitYear(y int) int {
	if y < 70 {
		return 2000 + y
	}
	return 1900 + y
}

// makeDateTime validates the fields of a DATETIME and returns its microseconds.
func makeDateTime(y, mo, d, h, mi, s int, us int64) (int64, bool) {
	if y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Day() != d {
		return 0, false
	}
	return t.UnixMicro() + us, true
}

// roundMicros rounds microseconds to fsp fractional digits, half up.
func roundMicros(us int64, fsp int) int64 {
	if fsp >= 6 {
		return us
	}
	unit := int64(1)
	for i := fsp; i < 6; i++ {
		unit *= 10
	}
	r := us % unit
	if r < 0 {
		r += unit
	}
	us -= r
	if r*2 >= unit {
		us += unit
	}
	return us
}

// formatClock prints a time of day (or duration) in seconds and microseconds as [-]hh:mm:ss[.ffffff].
func formatClock(neg bool, secs int64, us int64, fsp int) string {
	var b []byte
	if neg && (secs != 0 || us != 0) {
		b = append(b, '-')
	}
	h := secs / 3600
	if h < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, h, 10)
	b = append(b, ':', byte('0'+secs/60%60/10), byte('0'+secs/60%10), ':', byte('0'+secs%60/10), byte('0'+secs%10))
	if fsp > 0 {
		frac := strconv.FormatInt(1000000+us, 10)[1:]
		b = append(b, '.')
		b = append(b, frac[:fsp]...)
	}
	return string(b)
}

// castTimeText converts a non-NULL datum to MySQL TIME text with fsp fractional digits.
func castTimeText(d Datum, fsp int) (string, bool) {
	switch d.k {
	case KindTime:
		us := roundMicros(d.i, fsp)
		t := time.UnixMicro(us).UTC()
		h, m, s := t.Clock()
		return formatClock(false, int64(h*3600+m*60+s), int64(t.Nanosecond()/1000), fsp), true
	case KindString, KindBytes:
		s := strings.TrimSpace(d.s)
		if t, ok := parseClock(s, fsp); ok {
			return t, true
		}
		if us, ok := ParseDateTime(s); ok {
			return castTimeText(NewTimeMicros(us), fsp)
		}
		return "", false
	case KindInt, KindDecimal, KindFloat:
		return parseClock(toStr(d), fsp)
	}
	return "", false
}

// parseClock parses "[-][D ]hh:mm[:ss][.frac]" or "[-]hhmmss[.frac]" into TIME text.
func parseClock(s string, fsp int) (string, bool) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	main, frac, _ := strings.Cut(s, ".")
	if frac != "" && !allDigits(frac) {
		return "", false
	}
	var days, h, m, sec int64
	if day, rest, ok := strings.Cut(main, " "); ok {
		if !allDigits(day) || len(day) > 3 {
			return "", false
		}
		days = int64(atoiDigits(day))
		main = strings.TrimSpace(rest)
	}
	if strings.Contains(main, ":") {
		f := strings.Split(main, ":")
		if len(f) > 3 {
			return "", false
		}
		vals := [3]int64{}
		for i, p := range f {
			if !allDigits(p) || len(p) > 4 || (i > 0 && len(p) > 2) {
				return "", false
			}
			vals[i] = int64(atoiDigits(p))
		}
		h, m, sec = vals[0], vals[1], vals[2]
	} else {
		if !allDigits(main) || len(main) > 7 {
			return "", false
		}
		v := int64(atoiDigits(main))
		h, m, sec = v/10000, v/100%100, v%100
	}
	if m > 59 || sec > 59 {
		return "", false
	}
	total := ((days*24+h)*3600+m*60+sec)*1000000 + fracMicros(frac)
	total = roundMicros(total, fsp)
	if total > 838*3600*1000000+59*60*1000000+59*1000000 {
		total = (838*3600 + 59*60 + 59) * 1000000
	}
	return formatClock(neg, total/1000000, total%1000000, fsp), true
}
