package dataflow

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"math"
	"strconv"
	"strings"

	"vitess.io/vitess/go/mysql/decimal"
)

// registerStringMore adds the string functions of expr_string_more.go to the registry.
func registerStringMore() {
	register(funcBuilder{3, 3, buildSubstringIndex}, "SUBSTRING_INDEX")
	register(funcBuilder{2, -1, buildField}, "FIELD")
	register(funcBuilder{2, -1, buildElt}, "ELT")
	register(funcBuilder{2, 2, buildFindInSet}, "FIND_IN_SET")
	register(funcBuilder{2, 3, buildFormat}, "FORMAT")
	register(funcBuilder{1, 1, buildQuote}, "QUOTE")
	register(funcBuilder{1, 1, buildUnhex}, "UNHEX")
	register(funcBuilder{1, 1, buildBinOct}, "BIN", "OCT")
	register(funcBuilder{3, 3, buildConv}, "CONV")
	register(funcBuilder{1, 1, buildDigest}, "MD5", "SHA1", "SHA")
	register(funcBuilder{2, 2, buildSHA2}, "SHA2")
	register(funcBuilder{1, 1, buildCRC32}, "CRC32")
	register(funcBuilder{1, 1, buildBitLength}, "BIT_LENGTH")
	register(funcBuilder{1, 1, buildBase64}, "TO_BASE64", "FROM_BASE64")
}

// registerMathMore adds the trigonometric functions to the registry.
func registerMathMore() {
	register(funcBuilder{0, 0, func(name string, args []Expr) (Expr, error) {
		return &funcExpr{name: name, args: args, kind: KindFloat, fn: func([]Datum) (Datum, error) {
			return NewFloat(math.Pi), nil
		}}, nil
	}}, "PI")
	register(funcBuilder{1, 1, buildTrig}, "RADIANS", "DEGREES", "SIN", "COS", "TAN", "ASIN", "ACOS", "COT")
	register(funcBuilder{1, 2, buildTrig}, "ATAN")
	register(funcBuilder{2, 2, buildTrig}, "ATAN2")
}

// buildTrig builds the DOUBLE functions of angles; arguments outside the domain give NULL, and a
// result out of range (COT(0)) is error 1690 as in MySQL.
func buildTrig(name string, args []Expr) (Expr, error) {
	f := &funcExpr{name: name, args: args, kind: KindFloat, strict: true}
	f.f1 = func(a Datum) (Datum, error) {
		x := toFloat(a)
		var r float64
		switch name {
		case "radians":
			r = x * (math.Pi / 180)
		case "degrees":
			r = x * (180 / math.Pi)
		case "sin":
			r = math.Sin(x)
		case "cos":
			r = math.Cos(x)
		case "tan":
			r = math.Tan(x)
		case "asin":
			if x < -1 || x > 1 {
				return Null, nil
			}
			r = math.Asin(x)
		case "acos":
			if x < -1 || x > 1 {
				return Null, nil
			}
			r = math.Acos(x)
		case "atan":
			r = math.Atan(x)
		case "cot":
			r = 1 / math.Tan(x)
		}
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return Null, errOutOfRange("DOUBLE", f.String())
		}
		return mkFloat(r), nil
	}
	f.f2 = func(a, b Datum) (Datum, error) {
		return mkFloat(math.Atan2(toFloat(a), toFloat(b))), nil
	}
	return f, nil
}

// buildSubstringIndex builds SUBSTRING_INDEX(s, delim, count): the text before the count-th
// delimiter (from the right if count is negative); the search is case-sensitive.
func buildSubstringIndex(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args[0], args[1])
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f3: func(a, b, c Datum) (Datum, error) {
		s, delim, n := toStr(a), toStr(b), toInt(c)
		if delim == "" || n == 0 {
			return mkStr(kind, ""), nil
		}
		if n > 0 {
			off := 0
			for ; n > 0; n-- {
				i := strings.Index(s[off:], delim)
				if i < 0 {
					return mkStr(kind, s), nil
				}
				off += i + len(delim)
			}
			return mkStr(kind, s[:off-len(delim)]), nil
		}
		end := len(s)
		for ; n < 0; n++ {
			i := strings.LastIndex(s[:end], delim)
			if i < 0 {
				return mkStr(kind, s), nil
			}
			end = i
		}
		return mkStr(kind, s[end+len(delim):]), nil
	}}, nil
}

// buildField builds FIELD(s, s1, s2, ...): the 1-based index of the first si equal to s, 0 if
// none (or s is NULL). All strings compare as strings, all numbers as numbers, else as DOUBLE.
func buildField(name string, args []Expr) (Expr, error) {
	allStr, allNum := true, true
	for _, e := range args {
		k := e.Type()
		allStr = allStr && (k == KindString || k == KindBytes)
		allNum = allNum && k.Numeric()
	}
	return &funcExpr{name: name, args: args, kind: KindInt, fn: func(v []Datum) (Datum, error) {
		if v[0].k == KindNull {
			return NewInt(0), nil
		}
		for i, d := range v[1:] {
			if d.k == KindNull {
				continue
			}
			var eq bool
			switch {
			case allStr:
				eq = toStr(v[0]) == toStr(d)
			case allNum:
				c, ok := SQLCompare(v[0], d)
				eq = ok && c == 0
			default:
				eq = toFloat(v[0]) == toFloat(d)
			}
			if eq {
				return NewInt(int64(i + 1)), nil
			}
		}
		return NewInt(0), nil
	}}, nil
}

// buildElt builds ELT(n, s1, s2, ...): the n-th string, NULL if n is out of range.
func buildElt(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args[1:]...)
	return &funcExpr{name: name, args: args, kind: kind, fn: func(v []Datum) (Datum, error) {
		if v[0].k == KindNull {
			return Null, nil
		}
		n := toInt(v[0])
		if n < 1 || n >= int64(len(v)) || v[n].k == KindNull {
			return Null, nil
		}
		return mkStr(kind, toStr(v[n])), nil
	}}, nil
}

// buildFindInSet builds FIND_IN_SET(s, list): the 1-based position of s in the comma-separated
// list, 0 if absent (always when s contains a comma).
func buildFindInSet(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f2: func(a, b Datum) (Datum, error) {
		s, list := toStr(a), toStr(b)
		if strings.IndexByte(s, ',') >= 0 || list == "" {
			return NewInt(0), nil
		}
		for i, item := range strings.Split(list, ",") {
			if item == s {
				return NewInt(int64(i + 1)), nil
			}
		}
		return NewInt(0), nil
	}}, nil
}

// buildFormat builds FORMAT(x, d[, locale]): x rounded to d decimals (at most 30) with the
// en_US grouping '#,###,###.##'. The locale argument is accepted and ignored.
func buildFormat(name string, args []Expr) (Expr, error) {
	f := &funcExpr{name: name, args: args, kind: KindString}
	format := func(a, b Datum) (Datum, error) {
		if a.k == KindNull || b.k == KindNull {
			return Null, nil
		}
		d := toInt(b)
		d = max(0, min(d, maxDecimalScale))
		var text string
		switch a.k {
		case KindFloat:
			x := a.Float()
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return Null, nil
			}
			text = decimal.NewFromFloat(x).Round(int32(d)).StringFixed(int32(d))
		default:
			x, _ := toDec(a)
			text = x.Round(int32(d)).StringFixed(int32(d))
		}
		return NewString(groupThousands(text)), nil
	}
	f.f2 = format
	f.f3 = func(a, b, _ Datum) (Datum, error) { return format(a, b) }
	return f, nil
}

// groupThousands inserts commas into the integer part of a plain decimal text.
func groupThousands(text string) string {
	sign := ""
	if strings.HasPrefix(text, "-") {
		sign, text = "-", text[1:]
	}
	intPart, frac, hasFrac := strings.Cut(text, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(intPart[i])
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// buildQuote builds QUOTE(s): s in single quotes with \, ', NUL and Control+Z escaped; NULL
// gives the word NULL without quotes.
func buildQuote(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args...)
	return &funcExpr{name: name, args: args, kind: kind, f1: func(a Datum) (Datum, error) {
		if a.k == KindNull {
			return mkStr(kind, "NULL"), nil
		}
		s := toStr(a)
		var b strings.Builder
		b.WriteByte('\'')
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\', '\'':
				b.WriteByte('\\')
				b.WriteByte(c)
			case 0:
				b.WriteString(`\0`)
			case 26:
				b.WriteString(`\Z`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('\'')
		return mkStr(kind, b.String()), nil
	}}, nil
}

// buildUnhex builds UNHEX(s): the bytes of hexadecimal digits, NULL if s has other characters.
func buildUnhex(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindBytes, strict: true, f1: func(a Datum) (Datum, error) {
		var s string
		switch a.k {
		case KindInt, KindFloat, KindDecimal:
			s = strconv.FormatUint(uint64(toInt(a)), 10)
		default:
			s = toStr(a)
		}
		if len(s)%2 == 1 {
			s = "0" + s
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return Null, nil
		}
		return NewBytes(b), nil
	}}, nil
}

// buildBinOct builds BIN(n) and OCT(n): the BIGINT n (two's complement if negative) in base 2 or 8.
func buildBinOct(name string, args []Expr) (Expr, error) {
	base := 2
	if name == "oct" {
		base = 8
	}
	return &funcExpr{name: name, args: args, kind: KindString, strict: true, f1: func(a Datum) (Datum, error) {
		v, ok := convParse(toStr(a), 10)
		if !ok {
			v = 0
		}
		return NewString(strconv.FormatUint(v, base)), nil
	}}, nil
}

// convParse reads a [-]number in base at the start of s as MySQL's CONV does: it stops at the
// first character that is not a digit of base and saturates at 2^64-1; a minus sign negates in
// two's complement.
func convParse(s string, base int) (uint64, bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	var v uint64
	overflow := false
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'z':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int(c-'A') + 10
		default:
			d = 99
		}
		if d >= base {
			break
		}
		digits++
		if v > (math.MaxUint64-uint64(d))/uint64(base) {
			overflow = true
			continue
		}
		v = v*uint64(base) + uint64(d)
	}
	if overflow {
		v = math.MaxUint64
	}
	if neg {
		v = -v
	}
	return v, digits > 0
}

// buildConv builds CONV(n, from, to): n read in base |from| and written in base |to| (2 to 36);
// a negative to prints it as signed. Bases out of range give NULL.
func buildConv(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindString, strict: true, f3: func(a, b, c Datum) (Datum, error) {
		from, to := toInt(b), toInt(c)
		if from < 0 {
			from = -from
		}
		absTo := to
		if absTo < 0 {
			absTo = -absTo
		}
		if from < 2 || from > 36 || absTo < 2 || absTo > 36 {
			return Null, nil
		}
		// A fractional number is read up to its point, which is not a digit.
		s := toStr(a)
		v, _ := convParse(s, int(from))
		var out string
		if to < 0 && int64(v) < 0 {
			out = "-" + strconv.FormatUint(-v, int(absTo))
		} else {
			out = strconv.FormatUint(v, int(absTo))
		}
		return NewString(strings.ToUpper(out)), nil
	}}, nil
}

// buildDigest builds MD5(s) and SHA1(s): the digest in lower-case hexadecimal.
func buildDigest(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindString, strict: true, f1: func(a Datum) (Datum, error) {
		b := []byte(toStr(a))
		if name == "md5" {
			sum := md5.Sum(b)
			return NewString(hex.EncodeToString(sum[:])), nil
		}
		sum := sha1.Sum(b)
		return NewString(hex.EncodeToString(sum[:])), nil
	}}, nil
}

// buildSHA2 builds SHA2(s, bits) for 224, 256 (or 0), 384 and 512 bits; other lengths give NULL.
func buildSHA2(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindString, strict: true, f2: func(a, b Datum) (Datum, error) {
		data := []byte(toStr(a))
		var sum []byte
		switch toInt(b) {
		case 224:
			s := sha256.Sum224(data)
			sum = s[:]
		case 256, 0:
			s := sha256.Sum256(data)
			sum = s[:]
		case 384:
			s := sha512.Sum384(data)
			sum = s[:]
		case 512:
			s := sha512.Sum512(data)
			sum = s[:]
		default:
			return Null, nil
		}
		return NewString(hex.EncodeToString(sum)), nil
	}}, nil
}

// buildCRC32 builds CRC32(s): the IEEE checksum as an unsigned 32-bit number.
func buildCRC32(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f1: func(a Datum) (Datum, error) {
		return NewInt(int64(crc32.ChecksumIEEE([]byte(toStr(a))))), nil
	}}, nil
}

// buildBitLength builds BIT_LENGTH(s): its length in bits.
func buildBitLength(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f1: func(a Datum) (Datum, error) {
		return NewInt(int64(len(toStr(a))) * 8), nil
	}}, nil
}

// buildBase64 builds TO_BASE64(s) (lines of 76 characters, as MySQL writes them) and
// FROM_BASE64(s) (white space ignored; NULL if s is not base-64).
func buildBase64(name string, args []Expr) (Expr, error) {
	if name == "to_base64" {
		return &funcExpr{name: name, args: args, kind: KindString, strict: true, f1: func(a Datum) (Datum, error) {
			enc := base64.StdEncoding.EncodeToString([]byte(toStr(a)))
			var b strings.Builder
			for len(enc) > 76 {
				b.WriteString(enc[:76])
				b.WriteByte('\n')
				enc = enc[76:]
			}
			b.WriteString(enc)
			return NewString(b.String()), nil
		}}, nil
	}
	return &funcExpr{name: name, args: args, kind: KindBytes, strict: true, f1: func(a Datum) (Datum, error) {
		s := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, toStr(a))
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
				return Null, nil
			}
		}
		return NewBytes(b), nil
	}}, nil
}
