package modules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/cdc-dev/cdc/dataflow"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// maxModuleName is the longest module name: it prefixes table names (64 characters at most).
const maxModuleName = 48

// Compile parses and links a module's files and infers its tables and bindings.
//
// files maps path to source text; every file is compiled, and the services of all of them
// are served (main, the main file, comes first in Own and its services first in Services;
// the other files follow in path order). Imports resolve from files, cdc/options.proto
// (OptionsProto, which always wins over a module file of that path) and the well-known
// types. Errors name the file, line and column of a syntax error (prefixed by "compile
// module <name>: "), or the message, field or method an unsupported construct is in.
func Compile(name string, files map[string]string, main string) (mod *Module, err error) {
	defer func() {
		if r := recover(); r != nil {
			mod = nil
			err = fmt.Errorf("compile module %s: internal error: %v", name, r)
		}
	}()
	if !identRE.MatchString(name) || len(name) > maxModuleName {
		return nil, fmt.Errorf("compile module %q: the module name must be an SQL identifier ([A-Za-z_][A-Za-z0-9_]*) of at most %d characters", name, maxModuleName)
	}
	if _, ok := files[main]; !ok {
		return nil, fmt.Errorf("compile module %s: main file %q is not among the module's files", name, main)
	}
	if main == OptionsFile {
		return nil, fmt.Errorf("compile module %s: main file cannot be %s", name, OptionsFile)
	}
	paths := []string{main}
	rest := make([]string, 0, len(files))
	for p := range files {
		if p != main && p != OptionsFile {
			rest = append(rest, p)
		}
	}
	sort.Strings(rest)
	paths = append(paths, rest...)

	sources := make(map[string]string, len(files)+1)
	for p, s := range files {
		sources[p] = s
	}
	sources[OptionsFile] = OptionsProto
	comp := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: func(path string) (io.ReadCloser, error) {
				if s, ok := sources[path]; ok {
					return io.NopCloser(strings.NewReader(s)), nil
				}
				return nil, fmt.Errorf("file %q not found: %w", path, errNotFound)
			},
		}),
		MaxParallelism: 1,
		SourceInfoMode: protocompile.SourceInfoNone,
	}
	linked, err := comp.Compile(context.Background(), paths...)
	if err != nil {
		var pe protocompile.PanicError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("compile module %s: internal error in %s: %v", name, pe.File, pe.Value)
		}
		return nil, fmt.Errorf("compile module %s: %w", name, err)
	}
	if len(linked) != len(paths) {
		return nil, fmt.Errorf("compile module %s: compiled %d files of %d", name, len(linked), len(paths))
	}

	reg := new(protoregistry.Files)
	seen := map[string]bool{}
	var register func(fd protoreflect.FileDescriptor) error
	register = func(fd protoreflect.FileDescriptor) error {
		if seen[fd.Path()] {
			return nil
		}
		seen[fd.Path()] = true
		imps := fd.Imports()
		for i := 0; i < imps.Len(); i++ {
			if err := register(imps.Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		return reg.RegisterFile(fd)
	}
	own := make([]protoreflect.FileDescriptor, 0, len(linked))
	for _, f := range linked {
		if err := register(f); err != nil {
			return nil, fmt.Errorf("compile module %s: %w", name, err)
		}
		own = append(own, f)
	}
	copied := make(map[string]string, len(files))
	for p, s := range files {
		copied[p] = s
	}
	mod = &Module{Name: name, Files: copied, Main: main, Registry: reg, Own: own}
	b := &binder{
		mod:    mod,
		types:  dynamicpb.NewTypes(reg),
		tables: map[protoreflect.FullName]*Table{},
		names:  map[string]protoreflect.FullName{},
	}
	b.opts = newOptionReader(reg, b.types)
	if err := b.bind(); err != nil {
		return nil, fmt.Errorf("compile module %s: %w", name, err)
	}
	return mod, nil
}

var errNotFound = errors.New("not found")

// binder infers the tables and method bindings of a module.
type binder struct {
	mod    *Module
	types  *dynamicpb.Types
	opts   *optionReader
	tables map[protoreflect.FullName]*Table // by message
	names  map[string]protoreflect.FullName // table name -> message
}

func (b *binder) bind() error {
	// Services and write methods first, so that subscriptions can find every table.
	for _, f := range b.mod.Own {
		svcs := f.Services()
		for i := 0; i < svcs.Len(); i++ {
			sd := svcs.Get(i)
			svc := &Service{Desc: sd}
			ms := sd.Methods()
			for j := 0; j < ms.Len(); j++ {
				md := ms.Get(j)
				m := &Method{Desc: md, Path: "/" + string(sd.FullName()) + "/" + string(md.Name())}
				if md.IsStreamingClient() && md.IsStreamingServer() {
					return fmt.Errorf("method %s: bidirectional streaming is not supported", md.FullName())
				}
				if md.IsStreamingServer() {
					m.Kind = Subscribe
				} else if err := b.bindWrite(m); err != nil {
					return err
				}
				svc.Methods = append(svc.Methods, m)
			}
			b.mod.Services = append(b.mod.Services, svc)
		}
	}
	for _, svc := range b.mod.Services {
		for _, m := range svc.Methods {
			if m.Kind == Subscribe {
				if err := b.bindSubscribe(m); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (b *binder) bindWrite(m *Method) error {
	md := m.Desc
	if _, ok := b.opts.methodView(md); ok {
		return fmt.Errorf("method %s: (cdc.view) applies only to server-streaming methods", md.FullName())
	}
	in := md.Input()
	if in.FullName().Parent() == "google.protobuf" || in.Fields().Len() == 0 {
		return fmt.Errorf("method %s: request message %s has no fields of its own to store: a write method needs a message of the module", md.FullName(), in.FullName())
	}
	t, err := b.table(in)
	if err != nil {
		return err
	}
	m.Kind = Write
	m.Table = t
	if mode, ok := b.opts.methodWrite(md); ok {
		switch mode {
		case Insert, Upsert, Delete:
			m.Mode = mode
		default:
			return fmt.Errorf("method %s: unknown (cdc.write) mode %d", md.FullName(), mode)
		}
	}
	if m.Mode == Upsert && len(t.Key) == 0 {
		return fmt.Errorf("method %s: (cdc.write) = UPSERT needs a key: mark fields of %s with [(cdc.key) = true]", md.FullName(), in.FullName())
	}
	return nil
}

// table returns the table of a written message, inferring it on first use.
func (b *binder) table(md protoreflect.MessageDescriptor) (*Table, error) {
	if t, ok := b.tables[md.FullName()]; ok {
		return t, nil
	}
	name := b.opts.messageTable(md)
	if name == "" {
		name = b.mod.Name + "_" + snakeCase(string(md.Name()))
	} else if !identRE.MatchString(name) || len(name) > 64 {
		return nil, fmt.Errorf("message %s: (cdc.table) = %q is not an SQL identifier of at most 64 characters", md.FullName(), name)
	}
	name = strings.ToLower(name)
	if len(name) > 64 {
		return nil, fmt.Errorf("message %s: table name %s is longer than 64 characters: set (cdc.table)", md.FullName(), name)
	}
	if other, ok := b.names[name]; ok {
		return nil, fmt.Errorf("message %s: table name %s is already used by message %s", md.FullName(), name, other)
	}
	t, err := inferTable(md, b.opts, b.types)
	if err != nil {
		return nil, err
	}
	t.Name = name
	b.tables[md.FullName()] = t
	b.names[name] = md.FullName()
	b.mod.Tables = append(b.mod.Tables, t)
	return t, nil
}

func (b *binder) bindSubscribe(m *Method) error {
	md := m.Desc
	if _, ok := b.opts.methodWrite(md); ok {
		return fmt.Errorf("method %s: (cdc.write) applies only to unary and client-streaming methods", md.FullName())
	}
	out := md.Output()
	rowMsg := out
	if _, isTable := b.tables[out.FullName()]; !isTable {
		if lsn, diff, row := changeFields(out); row != nil {
			m.Changes = true
			m.lsnField, m.diffField, m.rowField = lsn, diff, row
			rowMsg = row.Message()
		}
	}
	req, err := flatten(md.Input(), b.opts, true)
	if err != nil {
		return fmt.Errorf("method %s: request: %w", md.FullName(), err)
	}
	view, hasView := b.opts.methodView(md)
	if hasView {
		if view == "" {
			return fmt.Errorf("method %s: (cdc.view) is empty", md.FullName())
		}
		row, err := inferTable(rowMsg, b.opts, b.types)
		if err != nil {
			return fmt.Errorf("method %s: %w", md.FullName(), err)
		}
		m.View, m.Row = view, row
		for _, c := range req {
			m.Params = append(m.Params, Param{Column: c.Name, Path: c.Path})
		}
		return nil
	}
	t, ok := b.tables[rowMsg.FullName()]
	if !ok {
		return fmt.Errorf("method %s: message %s is not stored by any write method of the module and the method has no (cdc.view)", md.FullName(), rowMsg.FullName())
	}
	m.Row, m.Table = t, t
	// A field of the row message whose type is the request: its columns are the params.
	fields := rowMsg.Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || f.Message().FullName() != md.Input().FullName() {
			continue
		}
		prefix := fmt.Sprint(f.Number()) + "."
		params := make([]Param, 0, len(req))
		for _, c := range req {
			col := t.columnByNumbers(prefix + c.Numbers)
			if col == nil {
				params = nil
				break
			}
			params = append(params, Param{Column: col.Name, Path: c.Path})
		}
		if params != nil || len(req) == 0 {
			m.Params = params
			return nil
		}
	}
	for _, c := range req {
		col := t.columnByName(c.Name)
		if col == nil {
			return fmt.Errorf("method %s: request field %s (%s) matches no column of table %s", md.FullName(), c.Path[len(c.Path)-1].FullName(), c.Name, t.Name)
		}
		if !compatibleKinds(col.Kind, c.Kind) {
			return fmt.Errorf("method %s: request field %s is %s but column %s of table %s is %s", md.FullName(), c.Path[len(c.Path)-1].FullName(), c.SQLType, col.Name, t.Name, col.SQLType)
		}
		m.Params = append(m.Params, Param{Column: col.Name, Path: c.Path})
	}
	return nil
}

// changeFields recognizes a change wrapper: a message with a uint64 field lsn, an int64
// field diff and exactly one singular message field (the row).
func changeFields(md protoreflect.MessageDescriptor) (lsn, diff, row protoreflect.FieldDescriptor) {
	fields := md.Fields()
	lsn, diff = fields.ByName("lsn"), fields.ByName("diff")
	if lsn == nil || diff == nil || lsn.IsList() || diff.IsList() {
		return nil, nil, nil
	}
	switch lsn.Kind() {
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
	default:
		return nil, nil, nil
	}
	switch diff.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
	default:
		return nil, nil, nil
	}
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind && f.Kind() != protoreflect.GroupKind {
			continue
		}
		if f.IsList() || f.IsMap() || row != nil {
			return nil, nil, nil
		}
		row = f
	}
	if row == nil {
		return nil, nil, nil
	}
	return lsn, diff, row
}

func compatibleKinds(a, b dataflow.Kind) bool {
	return a == b || (a.Numeric() && b.Numeric())
}
