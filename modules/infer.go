package modules

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/cdc-dev/cdc/dataflow"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// leafKind is how a column's last field is stored.
type leafKind int

const (
	leafScalar  leafKind = iota // a scalar or enum field
	leafTime                    // google.protobuf.Timestamp: DATETIME(6)
	leafWrapper                 // google.protobuf.*Value wrappers: the wrapped scalar, NULL when unset
	leafJSONMsg                 // Duration, Struct, Value, ListValue, Any, FieldMask: protojson
	leafJSON                    // a repeated or map field: protojson of the list or map
)

const timestampName = "google.protobuf.Timestamp"

var wrapperNames = map[protoreflect.FullName]bool{
	"google.protobuf.DoubleValue": true, "google.protobuf.FloatValue": true,
	"google.protobuf.Int64Value": true, "google.protobuf.UInt64Value": true,
	"google.protobuf.Int32Value": true, "google.protobuf.UInt32Value": true,
	"google.protobuf.BoolValue": true, "google.protobuf.StringValue": true,
	"google.protobuf.BytesValue": true,
}

var jsonMessageNames = map[protoreflect.FullName]bool{
	"google.protobuf.Duration": true, "google.protobuf.Struct": true,
	"google.protobuf.Value": true, "google.protobuf.ListValue": true,
	"google.protobuf.Any": true, "google.protobuf.FieldMask": true,
}

// classify returns how field fd is stored, and whether it is a leaf at all (a singular
// message field of another type is flattened instead).
func classify(fd protoreflect.FieldDescriptor) (leafKind, bool) {
	if fd.IsList() || fd.IsMap() {
		return leafJSON, true
	}
	if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
		return leafScalar, true
	}
	name := fd.Message().FullName()
	switch {
	case name == timestampName:
		return leafTime, true
	case wrapperNames[name]:
		return leafWrapper, true
	case jsonMessageNames[name]:
		return leafJSONMsg, true
	}
	return 0, false
}

// scalarType returns the SQL type and datum kind of a scalar or enum field.
func scalarType(fd protoreflect.FieldDescriptor) (string, dataflow.Kind) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return "BOOLEAN", dataflow.KindInt
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "INT", dataflow.KindInt
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "BIGINT", dataflow.KindInt
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "INT UNSIGNED", dataflow.KindInt
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "BIGINT UNSIGNED", dataflow.KindInt
	case protoreflect.FloatKind:
		return "FLOAT", dataflow.KindFloat
	case protoreflect.DoubleKind:
		return "DOUBLE", dataflow.KindFloat
	case protoreflect.BytesKind:
		return "BLOB", dataflow.KindBytes
	}
	return "TEXT", dataflow.KindString // string, enum
}

// columnType returns the SQL type and datum kind of a leaf field.
func columnType(fd protoreflect.FieldDescriptor, lk leafKind) (string, dataflow.Kind) {
	switch lk {
	case leafJSON, leafJSONMsg:
		return "JSON", dataflow.KindString
	case leafTime:
		return "DATETIME(6)", dataflow.KindTime
	case leafWrapper:
		return scalarType(fd.Message().Fields().ByNumber(1))
	}
	return scalarType(fd)
}

// inferTable computes the columns and key of a message's table (Name is left empty).
func inferTable(md protoreflect.MessageDescriptor, opts *optionReader, types *dynamicpb.Types) (*Table, error) {
	cols, err := flatten(md, opts, false)
	if err != nil {
		return nil, err
	}
	t := &Table{Message: md, Columns: cols, types: types}
	for i, c := range cols {
		leaf := c.Path[len(c.Path)-1]
		if !opts.fieldKey(leaf) {
			continue
		}
		lk, _ := classify(leaf)
		if lk == leafJSON || lk == leafJSONMsg {
			return nil, fmt.Errorf("field %s: (cdc.key) cannot mark a repeated, map or message field", leaf.FullName())
		}
		t.Key = append(t.Key, i)
	}
	return t, nil
}

// flatten lists the columns of a message: its leaf fields in declaration order, singular
// message fields flattened into prefixed columns. With scalarsOnly (request messages),
// repeated, map and JSON fields are skipped.
func flatten(md protoreflect.MessageDescriptor, opts *optionReader, scalarsOnly bool) ([]Column, error) {
	var cols []Column
	byName := map[string]int{}
	stack := []protoreflect.FullName{md.FullName()}
	var walk func(m protoreflect.MessageDescriptor, path []protoreflect.FieldDescriptor) error
	walk = func(m protoreflect.MessageDescriptor, path []protoreflect.FieldDescriptor) error {
		fields := m.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			p := append(append([]protoreflect.FieldDescriptor(nil), path...), fd)
			lk, leaf := classify(fd)
			if !leaf {
				if opts.fieldKey(fd) {
					return fmt.Errorf("field %s: (cdc.key) cannot mark a message field; mark its scalar fields", fd.FullName())
				}
				sub := fd.Message()
				for _, s := range stack {
					if s == sub.FullName() {
						return fmt.Errorf("message %s is recursive through field %s: a table cannot flatten it", sub.FullName(), fieldNames(p))
					}
				}
				stack = append(stack, sub.FullName())
				if err := walk(sub, p); err != nil {
					return err
				}
				stack = stack[:len(stack)-1]
				continue
			}
			if lk == leafJSON && opts.fieldKey(fd) {
				return fmt.Errorf("field %s: (cdc.key) cannot mark a repeated or map field", fd.FullName())
			}
			if scalarsOnly && (lk == leafJSON || lk == leafJSONMsg) {
				continue
			}
			sqlType, kind := columnType(fd, lk)
			c := Column{Name: columnName(p), SQLType: sqlType, Kind: kind, Path: p, Numbers: fieldNumbers(p)}
			lower := strings.ToLower(c.Name)
			if j, dup := byName[lower]; dup {
				return fmt.Errorf("message %s: fields %s and %s both flatten to column %s", md.FullName(), fieldNames(cols[j].Path), fieldNames(p), c.Name)
			}
			byName[lower] = len(cols)
			cols = append(cols, c)
		}
		return nil
	}
	if err := walk(md, nil); err != nil {
		return nil, err
	}
	return cols, nil
}

func columnName(path []protoreflect.FieldDescriptor) string {
	parts := make([]string, len(path))
	for i, fd := range path {
		parts[i] = string(fd.Name())
	}
	return strings.Join(parts, "_")
}

func fieldNames(path []protoreflect.FieldDescriptor) string {
	parts := make([]string, len(path))
	for i, fd := range path {
		parts[i] = string(fd.Name())
	}
	return strings.Join(parts, ".")
}

func fieldNumbers(path []protoreflect.FieldDescriptor) string {
	parts := make([]string, len(path))
	for i, fd := range path {
		parts[i] = strconv.Itoa(int(fd.Number()))
	}
	return strings.Join(parts, ".")
}

// snakeCase turns a CamelCase name into snake_case ("ChatMessage" -> "chat_message",
// "HTTPRequest" -> "http_request").
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && rs[i-1] != '_' {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (t *Table) columnByName(name string) *Column {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return &t.Columns[i]
		}
	}
	return nil
}

func (t *Table) columnByNumbers(numbers string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Numbers == numbers {
			return &t.Columns[i]
		}
	}
	return nil
}

// CreateSQL returns the CREATE TABLE statement (MySQL dialect) of the table: backquoted
// identifiers, the SQLType of each column, key columns NOT NULL and a PRIMARY KEY clause
// only when the table has a key.
func (t *Table) CreateSQL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(quoteIdent(t.Name))
	b.WriteString(" (")
	isKey := map[int]bool{}
	for _, k := range t.Key {
		isKey[k] = true
	}
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.Name))
		b.WriteByte(' ')
		b.WriteString(c.SQLType)
		if isKey[i] {
			b.WriteString(" NOT NULL")
		}
	}
	if len(t.Key) > 0 {
		b.WriteString(", PRIMARY KEY (")
		for i, k := range t.Key {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(t.Columns[k].Name))
		}
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String()
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// CheckUpgrade returns nil if next may replace prev. Tables are matched by name; for every
// table of prev that next still has, each column of prev that next still has (by name or
// by field number path) must keep its field numbers, name and SQL type, and the key columns
// must stay the same. Columns only in next are allowed (nullable new columns), columns only
// in prev are allowed (removed fields: the engine keeps them, nullable), and tables only in
// next are new tables. The error names the module, the field and the table.
func CheckUpgrade(prev, next *Module) error {
	if prev == nil || next == nil {
		return nil
	}
	for _, pt := range prev.Tables {
		var nt *Table
		for _, t := range next.Tables {
			if t.Name == pt.Name {
				nt = t
				break
			}
		}
		if nt == nil {
			continue
		}
		for _, pc := range pt.Columns {
			pf := pc.Path[len(pc.Path)-1].FullName()
			if nc := nt.columnByName(pc.Name); nc != nil {
				nf := nc.Path[len(nc.Path)-1].FullName()
				if nc.Numbers != pc.Numbers {
					return fmt.Errorf("module %s: field %s changed number from %s to %s (table %s)", next.Name, nf, pc.Numbers, nc.Numbers, pt.Name)
				}
				if nc.SQLType != pc.SQLType {
					return fmt.Errorf("module %s: field %s changed type from %s to %s (table %s)", next.Name, nf, pc.SQLType, nc.SQLType, pt.Name)
				}
				continue
			}
			if nc := nt.columnByNumbers(pc.Numbers); nc != nil {
				nf := nc.Path[len(nc.Path)-1].FullName()
				return fmt.Errorf("module %s: field number %s is reused by field %s (was %s) (table %s)", next.Name, pc.Numbers, nf, pf, pt.Name)
			}
		}
		if pk, nk := keyNames(pt), keyNames(nt); !strings.EqualFold(pk, nk) {
			return fmt.Errorf("module %s: table %s: the key changed from (%s) to (%s)", next.Name, pt.Name, pk, nk)
		}
	}
	return nil
}

func keyNames(t *Table) string {
	names := make([]string, len(t.Key))
	for i, k := range t.Key {
		names[i] = t.Columns[k].Name
	}
	return strings.Join(names, ", ")
}
