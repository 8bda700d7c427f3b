package sqlplan

import (
	"strings"
)

// CreateSource is CREATE SOURCE [IF NOT EXISTS] name FROM S3 BUCKET 'b' [PREFIX 'p']
// [WITH (option = 'value', ...)]: a relation of the objects of a bucket.
type CreateSource struct {
	Name        string
	IfNotExists bool
	Bucket      string
	Prefix      string
	// Options maps upper-case option names (ENDPOINT, ACCESS_KEY, SECRET_KEY, SECURE,
	// REGION, NOTIFY_ARN, CONTENT, MAX_CONTENT_BYTES) to their values.
	Options map[string]string
}

// DropSource is DROP SOURCE [IF EXISTS] name.
type DropSource struct {
	Name     string
	IfExists bool
}

// CreateSink is CREATE SINK [IF NOT EXISTS] name FROM view INTO S3 BUCKET 'b' [PREFIX 'p']
// [WITH (option = 'value', ...)]: the changes of a materialized view written to a bucket.
type CreateSink struct {
	Name        string
	IfNotExists bool
	View        string
	Bucket      string
	Prefix      string
	// Options maps upper-case option names (FORMAT and the connection options of a source)
	// to their values.
	Options map[string]string
}

// DropSink is DROP SINK [IF EXISTS] name.
type DropSink struct {
	Name     string
	IfExists bool
}

func (*CreateSource) isStatement() {}
func (*DropSource) isStatement()   {}
func (*CreateSink) isStatement()   {}
func (*DropSink) isStatement()     {}

// SinkOptions are the options CREATE SINK accepts.
var SinkOptions = map[string]bool{
	"FORMAT": true, "ENDPOINT": true, "ACCESS_KEY": true, "SECRET_KEY": true, "SECURE": true, "REGION": true,
	"KEY": true, "CONTENT": true,
}

// SourceOptions are the options CREATE SOURCE accepts.
var SourceOptions = map[string]bool{
	"ENDPOINT": true, "ACCESS_KEY": true, "SECRET_KEY": true, "SECURE": true, "REGION": true, "NOTIFY_ARN": true,
	"CONTENT": true, "MAX_CONTENT_BYTES": true,
}

// sourceScanner reads the tokens of a source statement: words, 'strings' and punctuation.
type sourceScanner struct {
	s   string
	pos int
}

// next returns the next token: a word or `identifier` (lower-cased in lower), a string
// literal (str set, text unescaped) or one punctuation character; "" at the end.
func (sc *sourceScanner) next() (text, lower string, str bool, err error) {
	sc.pos = skipSpace(sc.s, sc.pos)
	if sc.pos >= len(sc.s) {
		return "", "", false, nil
	}
	c := sc.s[sc.pos]
	switch {
	case c == '\'' || c == '"':
		var b strings.Builder
		for i := sc.pos + 1; i < len(sc.s); i++ {
			switch {
			case sc.s[i] == '\\' && i+1 < len(sc.s):
				b.WriteByte(sc.s[i+1])
				i++
			case sc.s[i] == c && i+1 < len(sc.s) && sc.s[i+1] == c:
				b.WriteByte(c)
				i++
			case sc.s[i] == c:
				sc.pos = i + 1
				return b.String(), "", true, nil
			default:
				b.WriteByte(sc.s[i])
			}
		}
		return "", "", false, syntaxError("unterminated string")
	case c == '`' || isIdentChar(rune(c)):
		ws, _ := headWords(sc.s[sc.pos:], 1)
		if len(ws) == 0 {
			return "", "", false, syntaxError("unterminated identifier")
		}
		sc.pos += ws[0].end
		return ws[0].original, ws[0].lower, false, nil
	}
	sc.pos++
	return string(c), string(c), false, nil
}

// expect reads the next token and fails unless it is the word want.
func (sc *sourceScanner) expect(want string) error {
	_, lower, str, err := sc.next()
	if err != nil {
		return err
	}
	if str || lower != want {
		return syntaxError("expected " + strings.ToUpper(want))
	}
	return nil
}

// literal reads a string literal.
func (sc *sourceScanner) literal(what string) (string, error) {
	text, _, str, err := sc.next()
	if err != nil {
		return "", err
	}
	if !str {
		return "", syntaxError(what + " takes a quoted string")
	}
	return text, nil
}

// parseCreateSource parses what follows CREATE SOURCE.
func parseCreateSource(rest string) (*CreateSource, error) {
	st := &CreateSource{Options: map[string]string{}}
	sc := &sourceScanner{s: rest}
	var err error
	if st.Name, st.IfNotExists, err = sc.ifNotExistsName("SOURCE"); err != nil {
		return nil, err
	}
	if st.Bucket, st.Prefix, err = sc.bucket([]string{"from", "s3", "bucket"}, st.Options, SourceOptions, "SOURCE"); err != nil {
		return nil, err
	}
	return st, nil
}

// ifNotExistsName reads [IF NOT EXISTS] name of CREATE what.
func (sc *sourceScanner) ifNotExistsName(what string) (string, bool, error) {
	name, lower, str, err := sc.next()
	if err != nil {
		return "", false, err
	}
	ifNotExists := false
	if lower == "if" {
		if err := sc.expect("not"); err != nil {
			return "", false, err
		}
		if err := sc.expect("exists"); err != nil {
			return "", false, err
		}
		ifNotExists = true
		if name, lower, str, err = sc.next(); err != nil {
			return "", false, err
		}
	}
	if name == "" || str || len(lower) == 1 && !isIdentChar(rune(lower[0])) || lower == "from" {
		return "", false, syntaxError("CREATE " + what + " needs a name")
	}
	return name, ifNotExists, nil
}

// bucket reads the words head (FROM S3 BUCKET, say), 'bucket', then [PREFIX 'p'] and [WITH
// (options)] of CREATE what, up to the end.
func (sc *sourceScanner) bucket(head []string, options map[string]string, allowed map[string]bool, what string) (bucket, prefix string, err error) {
	for _, w := range head {
		if err := sc.expect(w); err != nil {
			return "", "", err
		}
	}
	if bucket, err = sc.literal("BUCKET"); err != nil {
		return "", "", err
	}
	for {
		_, lower, _, err := sc.next()
		if err != nil {
			return "", "", err
		}
		switch lower {
		case "", ";":
			return bucket, prefix, nil
		case "prefix":
			if prefix, err = sc.literal("PREFIX"); err != nil {
				return "", "", err
			}
		case "with":
			if err := sc.options(options, allowed, strings.ToLower(what)); err != nil {
				return "", "", err
			}
		default:
			return "", "", syntaxError("unexpected " + lower + " in CREATE " + what)
		}
	}
}

// parseCreateSink parses what follows CREATE SINK.
func parseCreateSink(rest string) (*CreateSink, error) {
	st := &CreateSink{Options: map[string]string{}}
	sc := &sourceScanner{s: rest}
	var err error
	if st.Name, st.IfNotExists, err = sc.ifNotExistsName("SINK"); err != nil {
		return nil, err
	}
	if err := sc.expect("from"); err != nil {
		return nil, err
	}
	view, _, str, err := sc.next()
	if err != nil || str || view == "" {
		return nil, syntaxError("CREATE SINK needs FROM a materialized view")
	}
	st.View = view
	if st.Bucket, st.Prefix, err = sc.bucket([]string{"into", "s3", "bucket"}, st.Options, SinkOptions, "SINK"); err != nil {
		return nil, err
	}
	return st, nil
}

// options reads ( NAME = 'value' [, ...] ) of the allowed names.
func (sc *sourceScanner) options(into map[string]string, allowed map[string]bool, what string) error {
	if tok, _, _, err := sc.next(); err != nil || tok != "(" {
		return syntaxError("expected ( after WITH")
	}
	for {
		name, _, str, err := sc.next()
		if err != nil {
			return err
		}
		if name == ")" && !str {
			return nil
		}
		if name == "," && !str {
			continue
		}
		key := strings.ToUpper(name)
		if !allowed[key] {
			return syntaxError("unknown " + what + " option " + name)
		}
		if tok, _, _, err := sc.next(); err != nil || tok != "=" {
			return syntaxError("expected = after " + name)
		}
		v, lower, str, err := sc.next()
		if err != nil {
			return err
		}
		if !str {
			v = lower // SECURE = false
		}
		into[key] = v
	}
}

// parseDropSource parses what follows DROP SOURCE.
func parseDropSource(rest string) (*DropSource, error) {
	name, ifExists, err := parseDropName(rest, "DROP SOURCE takes one source name")
	return &DropSource{Name: name, IfExists: ifExists}, err
}

// parseDropSink parses what follows DROP SINK.
func parseDropSink(rest string) (*DropSink, error) {
	name, ifExists, err := parseDropName(rest, "DROP SINK takes one sink name")
	return &DropSink{Name: name, IfExists: ifExists}, err
}

// parseDropName reads [IF EXISTS] name.
func parseDropName(rest, usage string) (string, bool, error) {
	ifExists := false
	ws, _ := headWords(rest, 2)
	if len(ws) == 2 && ws[0].lower == "if" && ws[1].lower == "exists" {
		ifExists, rest = true, rest[ws[1].end:]
	}
	name, more := identifier(rest)
	if name == "" || strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(more), ";")) != "" {
		return "", false, syntaxError(usage)
	}
	return name, ifExists, nil
}
