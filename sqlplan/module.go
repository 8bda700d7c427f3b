package sqlplan

// CreateModule is CREATE [OR REPLACE] MODULE [IF NOT EXISTS] name FROM '<proto source>', or
// FROM ('path.proto' = '<source>', ...) for a module of several files (the first is its main
// file): a module whose .proto is compiled at run time into tables and services.
type CreateModule struct {
	Name        string
	OrReplace   bool
	IfNotExists bool
	Files       map[string]string // source text by path
	Main        string            // path of the main file (name.proto for the one-file form)
}

// DropModule is DROP MODULE [IF EXISTS] name.
type DropModule struct {
	Name     string
	IfExists bool
}

func (*CreateModule) isStatement() {}
func (*DropModule) isStatement()   {}

// parseCreateModule parses what follows CREATE [OR REPLACE] MODULE.
func parseCreateModule(rest string, orReplace bool) (*CreateModule, error) {
	st := &CreateModule{OrReplace: orReplace, Files: map[string]string{}}
	sc := &sourceScanner{s: rest}
	var err error
	if st.Name, st.IfNotExists, err = sc.ifNotExistsName("MODULE"); err != nil {
		return nil, err
	}
	if st.IfNotExists && orReplace {
		return nil, syntaxError("CREATE OR REPLACE MODULE cannot also say IF NOT EXISTS")
	}
	if err := sc.expect("from"); err != nil {
		return nil, err
	}
	text, _, str, err := sc.next()
	if err != nil {
		return nil, err
	}
	switch {
	case str:
		st.Main = st.Name + ".proto"
		st.Files[st.Main] = text
	case text == "(":
		for {
			path, err := sc.literal("a module file's path")
			if err != nil {
				return nil, err
			}
			if tok, _, _, err := sc.next(); err != nil || tok != "=" {
				return nil, syntaxError("expected = after the file path '" + path + "'")
			}
			src, err := sc.literal("a module file")
			if err != nil {
				return nil, err
			}
			if _, dup := st.Files[path]; dup {
				return nil, syntaxError("file '" + path + "' is given twice")
			}
			if st.Main == "" {
				st.Main = path
			}
			st.Files[path] = src
			tok, _, _, err := sc.next()
			if err != nil {
				return nil, err
			}
			if tok == ")" {
				break
			}
			if tok != "," {
				return nil, syntaxError("expected , or ) after a module file")
			}
		}
	default:
		return nil, syntaxError("CREATE MODULE takes FROM '<proto source>' or FROM ('file.proto' = '<source>', ...)")
	}
	if tok, _, _, err := sc.next(); err != nil || (tok != "" && tok != ";") {
		return nil, syntaxError("unexpected text after the module's source")
	}
	return st, nil
}

// parseDropModule parses what follows DROP MODULE.
func parseDropModule(rest string) (*DropModule, error) {
	name, ifExists, err := parseDropName(rest, "DROP MODULE takes one module name")
	return &DropModule{Name: name, IfExists: ifExists}, err
}
