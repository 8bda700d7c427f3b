package dataflow

import (
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cdc-dev/cdc/sqlerr"
)

// registerString adds the string functions to the registry.
func registerString() {
	register(funcBuilder{1, -1, buildConcat}, "CONCAT")
	register(funcBuilder{2, -1, buildConcatWS}, "CONCAT_WS")
	register(funcBuilder{1, 1, buildLength}, "LENGTH", "OCTET_LENGTH", "CHAR_LENGTH", "CHARACTER_LENGTH")
	register(funcBuilder{1, 1, buildCase}, "LOWER", "LCASE", "UPPER", "UCASE")
	register(funcBuilder{2, 3, buildSubstr}, "SUBSTRING", "SUBSTR", "MID")
	register(funcBuilder{2, 2, buildLeftRight}, "LEFT", "RIGHT")
	register(funcBuilder{1, 2, func(name string, args []Expr) (Expr, error) {
		var rem Expr
		if len(args) == 2 {
			rem = args[1]
		}
		return Trim(args[0], rem, name != "rtrim", name != "ltrim"), nil
	}}, "TRIM", "LTRIM", "RTRIM")
	register(funcBuilder{3, 3, buildReplace}, "REPLACE")
	register(funcBuilder{1, 1, buildReverse}, "REVERSE")
	register(funcBuilder{2, 3, buildLocate}, "LOCATE")
	register(funcBuilder{2, 2, func(name string, args []Expr) (Expr, error) {
		return buildLocate(name, args)
	}}, "INSTR", "POSITION")
	register(funcBuilder{2, 2, buildRepeat}, "REPEAT")
	register(funcBuilder{3, 3, buildPad}, "LPAD", "RPAD")
	register(funcBuilder{1, 1, buildHex}, "HEX")
	register(funcBuilder{1, 1, buildASCII}, "ASCII")
	register(funcBuilder{2, 2, buildStrcmp}, "STRCMP")
	register(funcBuilder{1, 1, buildSpace}, "SPACE")
	register(funcBuilder{4, 4, buildInsert}, "INSERT")
	register(funcBuilder{1, -1, buildChar}, "CHAR")
	register(funcBuilder{2, -1, buildInterval}, "INTERVAL")
}

// charLen returns the length of s in characters (bytes if bytewise).
func charLen(s string, bytewise bool) int {
	if bytewise {
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

// charOffset returns the byte offset of character n (0-based) of s, or len(s) past the end.
func charOffset(s string, n int, bytewise bool) int {
	if n <= 0 {
		return 0
	}
	if bytewise {
		return min(n, len(s))
	}
	i := 0
	for off := range s {
		if i == n {
			return off
		}
		i++
	}
	return len(s)
}

// clampInt converts v to an int in [-maxStringBytes-1, maxStringBytes+1] so that it cannot overflow.
func clampInt(v int64) int {
	const lim = maxStringBytes + 1
	if v > lim {
		return lim
	}
	if v < -lim {
		return -lim
	}
	return int(v)
}

// buildConcat builds CONCAT(...): NULL if any argument is NULL.
func buildConcat(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args...)
	f := &funcExpr{name: name, args: args, kind: kind, strict: true}
	f.fn = func(v []Datum) (Datum, error) {
		var b strings.Builder
		for _, d := range v {
			b.WriteString(toStr(d))
		}
		return mkStr(kind, b.String()), nil
	}
	if len(args) == 2 {
		f.f2 = func(a, b Datum) (Datum, error) { return mkStr(kind, toStr(a)+toStr(b)), nil }
	}
	return f, nil
}

// buildConcatWS builds CONCAT_WS(sep, ...): NULL separator gives NULL, NULL arguments are skipped.
func buildConcatWS(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args...)
	return &funcExpr{name: name, args: args, kind: kind, fn: func(v []Datum) (Datum, error) {
		if v[0].k == KindNull {
			return Null, nil
		}
		sep := toStr(v[0])
		var b strings.Builder
		first := true
		for _, d := range v[1:] {
			if d.k == KindNull {
				continue
			}
			if !first {
				b.WriteString(sep)
			}
			first = false
			b.WriteString(toStr(d))
		}
		return mkStr(kind, b.String()), nil
	}}, nil
}

// buildLength builds LENGTH (bytes) and CHAR_LENGTH (characters).
func buildLength(name string, args []Expr) (Expr, error) {
	bytewise := name == "length" || name == "octet_length" || args[0].Type() == KindBytes
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f1: func(a Datum) (Datum, error) {
		return NewInt(int64(charLen(toStr(a), bytewise || a.k == KindBytes))), nil
	}}, nil
}

// buildCase builds LOWER and UPPER; binary strings are unchanged.
func buildCase(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args...)
	upper := name == "upper" || name == "ucase"
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f1: func(a Datum) (Datum, error) {
		s := toStr(a)
		if kind == KindBytes || a.k == KindBytes {
			return mkStr(kind, s), nil
		}
		if upper {
			return mkStr(kind, strings.ToUpper(s)), nil
		}
		return mkStr(kind, strings.ToLower(s)), nil
	}}, nil
}

// substrChars is MySQL's SUBSTRING(s, pos[, n]) with 1-based, possibly negative, pos.
func substrChars(s string, pos int64, n int64, hasLen bool, bytewise bool) string {
	total := charLen(s, bytewise)
	p := clampInt(pos)
	var start int
	switch {
	case p == 0:
		return ""
	case p > 0:
		start = p - 1
	default:
		start = total + p
	}
	if start < 0 || start >= total {
		return ""
	}
	end := total
	if hasLen {
		l := clampInt(n)
		if l <= 0 {
			return ""
		}
		end = min(start+l, total)
	}
	from := charOffset(s, start, bytewise)
	to := from + charOffset(s[from:], end-start, bytewise)
	return s[from:to]
}

// buildSubstr builds SUBSTRING(s, pos[, len]).
func buildSubstr(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args[0])
	bytewise := kind == KindBytes
	return &funcExpr{name: name, args: args, kind: kind, strict: true,
		f2: func(a, b Datum) (Datum, error) {
			return mkStr(kind, substrChars(toStr(a), toInt(b), 0, false, bytewise)), nil
		},
		f3: func(a, b, c Datum) (Datum, error) {
			return mkStr(kind, substrChars(toStr(a), toInt(b), toInt(c), true, bytewise)), nil
		}}, nil
}

// buildLeftRight builds LEFT(s, n) and RIGHT(s, n).
func buildLeftRight(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args[0])
	bytewise := kind == KindBytes
	right := name == "right"
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f2: func(a, b Datum) (Datum, error) {
		s, n := toStr(a), clampInt(toInt(b))
		if n <= 0 {
			return mkStr(kind, ""), nil
		}
		total := charLen(s, bytewise)
		if n >= total {
			return mkStr(kind, s), nil
		}
		if right {
			return mkStr(kind, s[charOffset(s, total-n, bytewise):]), nil
		}
		return mkStr(kind, s[:charOffset(s, n, bytewise)]), nil
	}}, nil
}

// trimExpr is TRIM([BOTH|LEADING|TRAILING] [remstr] FROM s), LTRIM and RTRIM.
type trimExpr struct {
	s, rem            Expr
	leading, trailing bool
	kind              Kind
}

// Trim returns s with repeated leading and/or trailing occurrences of rem removed (spaces if rem is nil).
func Trim(s, rem Expr, leading, trailing bool) Expr {
	return &trimExpr{s: s, rem: rem, leading: leading, trailing: trailing, kind: strKindOf(s)}
}

// Eval trims the string.
func (t *trimExpr) Eval(row Row) (Datum, error) {
	d, err := t.s.Eval(row)
	if err != nil || d.k == KindNull {
		return Null, err
	}
	rem := " "
	if t.rem != nil {
		r, err := t.rem.Eval(row)
		if err != nil || r.k == KindNull {
			return Null, err
		}
		rem = toStr(r)
	}
	s := toStr(d)
	if rem != "" {
		if t.leading {
			for strings.HasPrefix(s, rem) {
				s = s[len(rem):]
			}
		}
		if t.trailing {
			for strings.HasSuffix(s, rem) {
				s = s[:len(s)-len(rem)]
			}
		}
	}
	return mkStr(t.kind, s), nil
}

// Type is the string type of the operand.
func (t *trimExpr) Type() Kind { return t.kind }

// String prints the TRIM call.
func (t *trimExpr) String() string {
	if t.rem == nil {
		switch {
		case t.leading && t.trailing:
			return "trim(" + t.s.String() + ")"
		case t.leading:
			return "ltrim(" + t.s.String() + ")"
		case t.trailing:
			return "rtrim(" + t.s.String() + ")"
		}
	}
	mode := "both"
	switch {
	case t.leading && !t.trailing:
		mode = "leading"
	case t.trailing && !t.leading:
		mode = "trailing"
	}
	rem := "' '"
	if t.rem != nil {
		rem = t.rem.String()
	}
	return "trim(" + mode + " " + rem + " from " + t.s.String() + ")"
}

// buildReplace builds REPLACE(s, from, to), case-sensitive.
func buildReplace(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args...)
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f3: func(a, b, c Datum) (Datum, error) {
		s, from, to := toStr(a), toStr(b), toStr(c)
		if from == "" {
			return mkStr(kind, s), nil
		}
		if n := strings.Count(s, from); n > 0 && len(to) > len(from) && len(s)+n*(len(to)-len(from)) > maxStringBytes {
			return Null, nil
		}
		return mkStr(kind, strings.ReplaceAll(s, from, to)), nil
	}}, nil
}

// buildReverse builds REVERSE(s), by characters.
func buildReverse(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args...)
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f1: func(a Datum) (Datum, error) {
		s := toStr(a)
		b := make([]byte, 0, len(s))
		if kind == KindBytes {
			for i := len(s) - 1; i >= 0; i-- {
				b = append(b, s[i])
			}
			return mkStr(kind, string(b)), nil
		}
		for i := len(s); i > 0; {
			_, size := utf8.DecodeLastRuneInString(s[:i])
			b = append(b, s[i-size:i]...)
			i -= size
		}
		return mkStr(kind, string(b)), nil
	}}, nil
}

// locate returns the 1-based character position of sub in s at or after pos, or 0.
func locate(sub, s string, pos int64, bytewise bool) int64 {
	if pos < 1 {
		return 0
	}
	total := charLen(s, bytewise)
	if pos > int64(total)+1 {
		return 0
	}
	off := charOffset(s, int(pos-1), bytewise)
	i := strings.Index(s[off:], sub)
	if i < 0 {
		return 0
	}
	return int64(charLen(s[:off+i], bytewise)) + 1
}

// buildLocate builds LOCATE(sub, s[, pos]) and INSTR(s, sub).
func buildLocate(name string, args []Expr) (Expr, error) {
	bytewise := strKindOf(args...) == KindBytes
	if name == "instr" {
		return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f2: func(a, b Datum) (Datum, error) {
			return NewInt(locate(toStr(b), toStr(a), 1, bytewise)), nil
		}}, nil
	}
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true,
		f2: func(a, b Datum) (Datum, error) {
			return NewInt(locate(toStr(a), toStr(b), 1, bytewise)), nil
		},
		f3: func(a, b, c Datum) (Datum, error) {
			return NewInt(locate(toStr(a), toStr(b), toInt(c), bytewise)), nil
		}}, nil
}

// buildRepeat builds REPEAT(s, n); a result longer than max_allowed_packet is NULL.
func buildRepeat(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args[0])
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f2: func(a, b Datum) (Datum, error) {
		s, n := toStr(a), toInt(b)
		if n <= 0 || s == "" {
			return mkStr(kind, ""), nil
		}
		if n > int64(maxStringBytes/len(s)) {
			return Null, nil
		}
		return mkStr(kind, strings.Repeat(s, int(n))), nil
	}}, nil
}

// buildPad builds LPAD(s, n, pad) and RPAD(s, n, pad).
func buildPad(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args[0], args[2])
	bytewise := kind == KindBytes
	left := name == "lpad"
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f3: func(a, b, c Datum) (Datum, error) {
		s, n, pad := toStr(a), toInt(b), toStr(c)
		if n < 0 || n > maxStringBytes {
			return Null, nil
		}
		total := charLen(s, bytewise)
		if int(n) <= total {
			return mkStr(kind, s[:charOffset(s, int(n), bytewise)]), nil
		}
		padLen := charLen(pad, bytewise)
		if padLen == 0 {
			return Null, nil
		}
		need := int(n) - total
		fill := strings.Repeat(pad, need/padLen)
		if r := need % padLen; r > 0 {
			fill += pad[:charOffset(pad, r, bytewise)]
		}
		if len(fill)+len(s) > maxStringBytes {
			return Null, nil
		}
		if left {
			return mkStr(kind, fill+s), nil
		}
		return mkStr(kind, s+fill), nil
	}}, nil
}

// buildHex builds HEX(x): the bytes of a string, or the two's-complement of a rounded number.
func buildHex(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindString, strict: true, f1: func(a Datum) (Datum, error) {
		switch a.k {
		case KindInt, KindFloat, KindDecimal:
			return NewString(strings.ToUpper(strconv.FormatUint(uint64(toInt(a)), 16))), nil
		}
		return NewString(strings.ToUpper(hex.EncodeToString([]byte(toStr(a))))), nil
	}}, nil
}

// buildASCII builds ASCII(s): the first byte, 0 for the empty string.
func buildASCII(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f1: func(a Datum) (Datum, error) {
		s := toStr(a)
		if s == "" {
			return NewInt(0), nil
		}
		return NewInt(int64(s[0])), nil
	}}, nil
}

// buildStrcmp builds STRCMP(a, b): -1, 0 or 1 by binary comparison.
func buildStrcmp(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f2: func(a, b Datum) (Datum, error) {
		return NewInt(int64(strings.Compare(toStr(a), toStr(b)))), nil
	}}, nil
}

// buildSpace builds SPACE(n).
func buildSpace(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindString, strict: true, f1: func(a Datum) (Datum, error) {
		n := toInt(a)
		if n <= 0 {
			return NewString(""), nil
		}
		if n > maxStringBytes {
			return Null, nil
		}
		return NewString(strings.Repeat(" ", int(n))), nil
	}}, nil
}

// buildInsert builds INSERT(s, pos, len, new): replace len characters at pos.
func buildInsert(name string, args []Expr) (Expr, error) {
	kind := strKindOf(args[0], args[3])
	bytewise := kind == KindBytes
	return &funcExpr{name: name, args: args, kind: kind, strict: true, fn: func(v []Datum) (Datum, error) {
		s, pos, n, repl := toStr(v[0]), toInt(v[1]), toInt(v[2]), toStr(v[3])
		total := int64(charLen(s, bytewise))
		if pos < 1 || pos > total {
			return mkStr(kind, s), nil
		}
		if n < 0 || n > total-pos+1 {
			n = total - pos + 1
		}
		from := charOffset(s, int(pos-1), bytewise)
		to := from + charOffset(s[from:], int(n), bytewise)
		return mkStr(kind, s[:from]+repl+s[to:]), nil
	}}, nil
}

// buildChar builds CHAR(n, ...): the bytes of each integer, skipping NULLs.
func buildChar(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindBytes, fn: func(v []Datum) (Datum, error) {
		var b []byte
		for _, d := range v {
			if d.k == KindNull {
				continue
			}
			u := uint32(toInt(d))
			switch {
			case u >= 1<<24:
				b = append(b, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
			case u >= 1<<16:
				b = append(b, byte(u>>16), byte(u>>8), byte(u))
			case u >= 1<<8:
				b = append(b, byte(u>>8), byte(u))
			default:
				b = append(b, byte(u))
			}
		}
		return NewBytes(b), nil
	}}, nil
}

// buildInterval builds INTERVAL(n, n1, n2, ...): the number of bounds not greater than n, -1 for NULL n.
func buildInterval(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, fn: func(v []Datum) (Datum, error) {
		if v[0].k == KindNull {
			return NewInt(-1), nil
		}
		n := toFloat(v[0])
		for i, d := range v[1:] {
			if d.k != KindNull && n < toFloat(d) {
				return NewInt(int64(i)), nil
			}
		}
		return NewInt(int64(len(v) - 1)), nil
	}}, nil
}

// likeToken is one element of a compiled LIKE pattern.
type likeToken struct {
	kind uint8 // 0 literal, 1 '_' (one character), 2 '%' (any run)
	lit  string
}

// compileLike turns a LIKE pattern into tokens; esc < 0 means no escape character.
func compileLike(p string, esc rune, bytewise bool) []likeToken {
	var toks []likeToken
	for i := 0; i < len(p); {
		r, size := rune(p[i]), 1
		if !bytewise {
			r, size = utf8.DecodeRuneInString(p[i:])
		}
		switch {
		case esc >= 0 && r == esc && i+size < len(p):
			i += size
			nsize := charSize(p[i:], bytewise)
			toks = append(toks, likeToken{lit: p[i : i+nsize]})
			i += nsize
			continue
		case r == '%':
			if len(toks) == 0 || toks[len(toks)-1].kind != 2 {
				toks = append(toks, likeToken{kind: 2})
			}
		case r == '_':
			toks = append(toks, likeToken{kind: 1})
		default:
			toks = append(toks, likeToken{lit: p[i : i+size]})
		}
		i += size
	}
	return toks
}

// matchLike reports whether s matches the compiled pattern, with backtracking on the last '%'.
func matchLike(s string, toks []likeToken, bytewise bool) bool {
	si, pi := 0, 0
	starPi, starSi := -1, 0
	for si < len(s) {
		if pi < len(toks) {
			t := toks[pi]
			switch t.kind {
			case 0:
				if strings.HasPrefix(s[si:], t.lit) {
					si += len(t.lit)
					pi++
					continue
				}
			case 1:
				si += charSize(s[si:], bytewise)
				pi++
				continue
			case 2:
				starPi, starSi = pi, si
				pi++
				continue
			}
		}
		if starPi < 0 {
			return false
		}
		starSi += charSize(s[starSi:], bytewise)
		si = starSi
		pi = starPi + 1
	}
	for pi < len(toks) && toks[pi].kind == 2 {
		pi++
	}
	return pi == len(toks)
}

// charSize returns the byte length of the first character of s.
func charSize(s string, bytewise bool) int {
	if bytewise || s[0] < utf8.RuneSelf {
		return 1
	}
	_, size := utf8.DecodeRuneInString(s)
	return size
}

// likeExpr is e [NOT] LIKE pattern [ESCAPE esc].
type likeExpr struct {
	e, pattern, escape Expr
	negate             bool
	bytewise           bool
	constant           bool        // pattern and escape are constants, compiled once
	compiled           []likeToken // the compiled constant pattern
	constErr           error
}

// Like returns e LIKE pattern (or NOT LIKE) with % and _, escape default '\', matched case-sensitively.
func Like(e, pattern, escape Expr, negate bool) Expr {
	l := &likeExpr{e: e, pattern: pattern, escape: escape, negate: negate,
		bytewise: strKindOf(e, pattern) == KindBytes}
	if p, ok := pattern.(*litExpr); ok && p.d.k != KindNull {
		if escape == nil {
			l.constant, l.compiled = true, compileLike(toStr(p.d), '\\', l.bytewise)
		} else if x, ok := escape.(*litExpr); ok {
			esc, err := likeEscape(x.d)
			if err != nil {
				l.constErr = err
			} else {
				l.constant, l.compiled = true, compileLike(toStr(p.d), esc, l.bytewise)
			}
		}
	}
	return l
}

// likeEscape returns the escape character of an ESCAPE value: backslash for NULL, none for an empty string.
func likeEscape(d Datum) (rune, error) {
	if d.k == KindNull {
		return '\\', nil
	}
	s := toStr(d)
	if s == "" {
		return -1, nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) {
		return 0, sqlerr.New(1210, "Incorrect arguments to ESCAPE")
	}
	return r, nil
}

// Eval matches the operand against the pattern.
func (l *likeExpr) Eval(row Row) (Datum, error) {
	if l.constErr != nil {
		return Null, l.constErr
	}
	d, err := l.e.Eval(row)
	if err != nil || d.k == KindNull {
		return Null, err
	}
	toks := l.compiled
	if !l.constant {
		p, err := l.pattern.Eval(row)
		if err != nil || p.k == KindNull {
			return Null, err
		}
		esc := rune('\\')
		if l.escape != nil {
			x, err := l.escape.Eval(row)
			if err != nil {
				return Null, err
			}
			if esc, err = likeEscape(x); err != nil {
				return Null, err
			}
		}
		toks = compileLike(toStr(p), esc, l.bytewise)
	}
	return NewBool(matchLike(toStr(d), toks, l.bytewise) != l.negate), nil
}

// Type is BIGINT.
func (l *likeExpr) Type() Kind { return KindInt }

// String prints (e [not] like pattern [escape esc]).
func (l *likeExpr) String() string {
	not := ""
	if l.negate {
		not = "not "
	}
	s := "(" + l.e.String() + " " + not + "like " + l.pattern.String()
	if l.escape != nil {
		s += " escape " + l.escape.String()
	}
	return s + ")"
}
