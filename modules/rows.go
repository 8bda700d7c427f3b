package modules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// resolver is what protojson needs to resolve google.protobuf.Any.
type resolver interface {
	protoregistry.MessageTypeResolver
	protoregistry.ExtensionTypeResolver
}

func (t *Table) resolver() resolver {
	if t.types != nil {
		return t.types
	}
	return protoregistry.GlobalTypes
}

// asMessage returns m as a message whose descriptor is md (re-parsing it when m was built
// from another descriptor of the same type, e.g. a generated message).
func asMessage(m protoreflect.Message, md protoreflect.MessageDescriptor, r resolver) (protoreflect.Message, error) {
	if m == nil || !m.IsValid() {
		return nil, fmt.Errorf("message %s: nil message", md.FullName())
	}
	if m.Descriptor() == md {
		return m, nil
	}
	if m.Descriptor().FullName() != md.FullName() {
		return nil, fmt.Errorf("message %s expected, got %s", md.FullName(), m.Descriptor().FullName())
	}
	b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(m.Interface())
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", md.FullName(), err)
	}
	out := dynamicpb.NewMessage(md)
	if err := (proto.UnmarshalOptions{AllowPartial: true, Resolver: r}).Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("message %s: %w", md.FullName(), err)
	}
	return out, nil
}

func recoverErr(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: internal error: %v", what, r)
	}
}

// Row flattens a message of the table's type into a row in column order. Scalars without
// presence give their value (zero included); unset fields with presence (optional, oneof
// members, wrappers, Timestamp) and every column under an unset singular message field give
// NULL; repeated and map fields give their protojson text. Errors name the field, e.g. a
// uint64 above the BIGINT range or an unset key field.
func (t *Table) Row(m protoreflect.Message) (row dataflow.Row, err error) {
	defer recoverErr(&err, "row of "+string(t.Message.FullName()))
	m, err = asMessage(m, t.Message, t.resolver())
	if err != nil {
		return nil, err
	}
	row = make(dataflow.Row, len(t.Columns))
	for i, c := range t.Columns {
		cur, ok := walkTo(m, c.Path)
		if !ok {
			continue
		}
		row[i], err = leafDatum(cur, c.Path[len(c.Path)-1], t.resolver())
		if err != nil {
			return nil, err
		}
	}
	for _, k := range t.Key {
		if row[k].IsNull() {
			return nil, fmt.Errorf("key field %s is not set", t.Columns[k].Path[len(t.Columns[k].Path)-1].FullName())
		}
	}
	return row, nil
}

// walkTo follows the singular message fields of path (all but its last field) and returns
// the message holding the last field, or false if one of them is unset.
func walkTo(m protoreflect.Message, path []protoreflect.FieldDescriptor) (protoreflect.Message, bool) {
	for _, fd := range path[:len(path)-1] {
		if !m.Has(fd) {
			return nil, false
		}
		m = m.Get(fd).Message()
	}
	return m, true
}

// leafDatum converts field fd of m to a datum, NULL when a field with presence is unset.
func leafDatum(m protoreflect.Message, fd protoreflect.FieldDescriptor, r resolver) (dataflow.Datum, error) {
	lk, _ := classify(fd)
	switch lk {
	case leafJSON:
		s, err := fieldJSON(m, fd, r)
		if err != nil {
			return dataflow.Null, err
		}
		return dataflow.NewString(s), nil
	case leafJSONMsg:
		if !m.Has(fd) {
			return dataflow.Null, nil
		}
		b, err := protojson.MarshalOptions{Resolver: r}.Marshal(m.Get(fd).Message().Interface())
		if err != nil {
			return dataflow.Null, fmt.Errorf("field %s: %w", fd.FullName(), err)
		}
		return dataflow.NewString(compactJSON(b)), nil
	case leafTime:
		if !m.Has(fd) {
			return dataflow.Null, nil
		}
		ts := m.Get(fd).Message()
		tf := ts.Descriptor().Fields()
		sec := ts.Get(tf.ByName("seconds")).Int()
		nanos := ts.Get(tf.ByName("nanos")).Int()
		return dataflow.NewTimeMicros(sec*1_000_000 + nanos/1000), nil
	case leafWrapper:
		if !m.Has(fd) {
			return dataflow.Null, nil
		}
		w := m.Get(fd).Message()
		vf := w.Descriptor().Fields().ByNumber(1)
		return scalarDatum(vf, w.Get(vf), fd.FullName())
	}
	if fd.HasPresence() && !m.Has(fd) {
		return dataflow.Null, nil
	}
	return scalarDatum(fd, m.Get(fd), fd.FullName())
}

// scalarDatum converts a scalar or enum value of field fd; name is the field named in errors.
func scalarDatum(fd protoreflect.FieldDescriptor, v protoreflect.Value, name protoreflect.FullName) (dataflow.Datum, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return dataflow.NewBool(v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return dataflow.NewInt(v.Int()), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return dataflow.NewInt(int64(v.Uint())), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		u := v.Uint()
		if u > math.MaxInt64 {
			return dataflow.Null, fmt.Errorf("field %s: value %d does not fit BIGINT UNSIGNED", name, u)
		}
		return dataflow.NewInt(int64(u)), nil
	case protoreflect.FloatKind:
		// Through the shortest float32 text, so that 0.1f gives 0.1 and not 0.100000001490116.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(v.Float(), 'g', -1, 32), 64)
		return dataflow.NewFloat(f), nil
	case protoreflect.DoubleKind:
		return dataflow.NewFloat(v.Float()), nil
	case protoreflect.StringKind:
		return dataflow.NewString(v.String()), nil
	case protoreflect.BytesKind:
		return dataflow.NewBytes(v.Bytes()), nil
	case protoreflect.EnumKind:
		n := v.Enum()
		if ev := fd.Enum().Values().ByNumber(n); ev != nil {
			return dataflow.NewString(string(ev.Name())), nil
		}
		return dataflow.NewString(strconv.Itoa(int(n))), nil
	}
	return dataflow.Null, fmt.Errorf("field %s: unsupported kind %s", name, fd.Kind())
}

// fieldJSON returns the protojson text of a repeated or map field: an array or an object.
func fieldJSON(m protoreflect.Message, fd protoreflect.FieldDescriptor, r resolver) (string, error) {
	empty := "[]"
	if fd.IsMap() {
		empty = "{}"
	}
	if !m.Has(fd) {
		return empty, nil
	}
	tmp := m.New()
	tmp.Set(fd, m.Get(fd))
	b, err := protojson.MarshalOptions{UseProtoNames: true, Resolver: r}.Marshal(tmp.Interface())
	if err != nil {
		return "", fmt.Errorf("field %s: %w", fd.FullName(), err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return "", fmt.Errorf("field %s: %w", fd.FullName(), err)
	}
	raw, ok := obj[string(fd.Name())]
	if !ok {
		return empty, nil
	}
	return compactJSON(raw), nil
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

// NewMessage builds a message of the table's type from a row whose columns are named by cols
// (any order, matched case-insensitively; columns the message lacks are ignored; NULL leaves
// the field unset and nested messages are built only for a non-NULL column). Values of
// another kind than the column's are converted when it makes sense (numbers and their
// text, booleans from numbers); otherwise the error names the column.
func (t *Table) NewMessage(cols []string, row dataflow.Row) (msg *dynamicpb.Message, err error) {
	defer recoverErr(&err, "message "+string(t.Message.FullName()))
	if len(cols) != len(row) {
		return nil, fmt.Errorf("message %s: %d column names for a row of %d values", t.Message.FullName(), len(cols), len(row))
	}
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		k := strings.ToLower(c)
		if _, ok := index[k]; !ok {
			index[k] = i
		}
	}
	msg = dynamicpb.NewMessage(t.Message)
	for _, c := range t.Columns {
		i, ok := index[strings.ToLower(c.Name)]
		if !ok || row[i].IsNull() {
			continue
		}
		var cur protoreflect.Message = msg
		for _, fd := range c.Path[:len(c.Path)-1] {
			cur = cur.Mutable(fd).Message()
		}
		if err := setLeaf(cur, c.Path[len(c.Path)-1], row[i], t.resolver()); err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return msg, nil
}

// setLeaf sets field fd of m from a non-NULL datum.
func setLeaf(m protoreflect.Message, fd protoreflect.FieldDescriptor, d dataflow.Datum, r resolver) error {
	lk, _ := classify(fd)
	switch lk {
	case leafJSON:
		if d.Kind() != dataflow.KindString && d.Kind() != dataflow.KindBytes {
			return fmt.Errorf("field %s: JSON text expected, got %s", fd.FullName(), d.Kind())
		}
		tmp := m.New()
		key, _ := json.Marshal(string(fd.Name()))
		doc := "{" + string(key) + ":" + d.Str() + "}"
		if err := (protojson.UnmarshalOptions{Resolver: r}).Unmarshal([]byte(doc), tmp.Interface()); err != nil {
			return fmt.Errorf("field %s: %w", fd.FullName(), err)
		}
		if tmp.Has(fd) {
			m.Set(fd, tmp.Get(fd))
		}
		return nil
	case leafJSONMsg:
		if d.Kind() != dataflow.KindString && d.Kind() != dataflow.KindBytes {
			return fmt.Errorf("field %s: JSON text expected, got %s", fd.FullName(), d.Kind())
		}
		sub := m.Mutable(fd).Message()
		if err := (protojson.UnmarshalOptions{Resolver: r}).Unmarshal([]byte(d.Str()), sub.Interface()); err != nil {
			return fmt.Errorf("field %s: %w", fd.FullName(), err)
		}
		return nil
	case leafTime:
		var us int64
		switch d.Kind() {
		case dataflow.KindTime, dataflow.KindInt:
			us = d.TimeMicros()
		case dataflow.KindString, dataflow.KindBytes:
			tm, err := time.Parse(dataflow.TimeLayout, d.Str())
			if err != nil {
				tm, err = time.Parse(time.RFC3339Nano, d.Str())
			}
			if err != nil {
				return fmt.Errorf("field %s: %q is not a DATETIME", fd.FullName(), d.Str())
			}
			us = tm.UnixMicro()
		default:
			return fmt.Errorf("field %s: DATETIME expected, got %s", fd.FullName(), d.Kind())
		}
		sec, rem := us/1_000_000, us%1_000_000
		if rem < 0 {
			sec, rem = sec-1, rem+1_000_000
		}
		ts := m.Mutable(fd).Message()
		tf := ts.Descriptor().Fields()
		ts.Set(tf.ByName("seconds"), protoreflect.ValueOfInt64(sec))
		ts.Set(tf.ByName("nanos"), protoreflect.ValueOfInt32(int32(rem*1000)))
		return nil
	case leafWrapper:
		vf := fd.Message().Fields().ByNumber(1)
		v, err := scalarValue(vf, d, fd.FullName())
		if err != nil {
			return err
		}
		m.Mutable(fd).Message().Set(vf, v)
		return nil
	}
	v, err := scalarValue(fd, d, fd.FullName())
	if err != nil {
		return err
	}
	m.Set(fd, v)
	return nil
}

// scalarValue converts a non-NULL datum to a value of scalar or enum field fd.
func scalarValue(fd protoreflect.FieldDescriptor, d dataflow.Datum, name protoreflect.FullName) (protoreflect.Value, error) {
	bad := func() (protoreflect.Value, error) {
		return protoreflect.Value{}, fmt.Errorf("field %s: cannot store %s value %s in a %s field", name, d.Kind(), d.String(), fd.Kind())
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(d.String()), nil
	case protoreflect.BytesKind:
		switch d.Kind() {
		case dataflow.KindBytes, dataflow.KindString:
			return protoreflect.ValueOfBytes([]byte(d.Str())), nil
		}
		return protoreflect.ValueOfBytes([]byte(d.String())), nil
	case protoreflect.BoolKind:
		switch d.Kind() {
		case dataflow.KindInt:
			return protoreflect.ValueOfBool(d.Int() != 0), nil
		case dataflow.KindFloat, dataflow.KindDecimal:
			f, _ := d.ToFloat()
			return protoreflect.ValueOfBool(f != 0), nil
		case dataflow.KindString, dataflow.KindBytes:
			switch strings.ToLower(strings.TrimSpace(d.Str())) {
			case "1", "true":
				return protoreflect.ValueOfBool(true), nil
			case "0", "false":
				return protoreflect.ValueOfBool(false), nil
			}
		}
		return bad()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		var f float64
		switch d.Kind() {
		case dataflow.KindInt, dataflow.KindFloat, dataflow.KindDecimal:
			f, _ = d.ToFloat()
		case dataflow.KindString, dataflow.KindBytes:
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(d.Str()), 64); err != nil {
				return bad()
			}
		default:
			return bad()
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.EnumKind:
		switch d.Kind() {
		case dataflow.KindString, dataflow.KindBytes:
			if ev := fd.Enum().Values().ByName(protoreflect.Name(d.Str())); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
			n, err := strconv.ParseInt(strings.TrimSpace(d.Str()), 10, 32)
			if err != nil {
				return protoreflect.Value{}, fmt.Errorf("field %s: %q is not a value of enum %s", name, d.Str(), fd.Enum().FullName())
			}
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
		case dataflow.KindInt:
			if d.Int() < math.MinInt32 || d.Int() > math.MaxInt32 {
				return bad()
			}
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(d.Int())), nil
		}
		return bad()
	}
	// Integers.
	var lo, hi int64
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		lo, hi = math.MinInt32, math.MaxInt32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		lo, hi = math.MinInt64, math.MaxInt64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		lo, hi = 0, math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		lo, hi = 0, math.MaxInt64
	default:
		return protoreflect.Value{}, fmt.Errorf("field %s: unsupported kind %s", name, fd.Kind())
	}
	var n int64
	switch d.Kind() {
	case dataflow.KindInt:
		n = d.Int()
	case dataflow.KindFloat, dataflow.KindDecimal:
		f, _ := d.ToFloat()
		if f != math.Trunc(f) || f < -9.223372036854775e18 || f > 9.223372036854775e18 {
			return bad()
		}
		n = int64(f)
	case dataflow.KindString, dataflow.KindBytes:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(d.Str()), 10, 64); err != nil {
			return bad()
		}
	default:
		return bad()
	}
	if n < lo || n > hi {
		return protoreflect.Value{}, fmt.Errorf("field %s: value %d is out of range for a %s field", name, n, fd.Kind())
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n)), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n)), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(n)), nil
	}
	return protoreflect.ValueOfInt64(n), nil
}

// ParamValues returns the columns and values of the request's set fields, in Params order:
// a scalar without presence is set when it is not its zero value, a field with presence
// when present, and a field inside message fields only when those are present too. Values
// convert as in Table.Row.
func (m *Method) ParamValues(req protoreflect.Message) (cols []string, row dataflow.Row, err error) {
	defer recoverErr(&err, "params of "+m.Path)
	if len(m.Params) == 0 {
		return nil, nil, nil
	}
	var r resolver = protoregistry.GlobalTypes
	if m.Row != nil {
		r = m.Row.resolver()
	}
	req, err = asMessage(req, m.Desc.Input(), r)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range m.Params {
		cur, ok := walkTo(req, p.Path)
		leaf := p.Path[len(p.Path)-1]
		if !ok || !cur.Has(leaf) {
			continue
		}
		d, err := leafDatum(cur, leaf, r)
		if err != nil {
			return nil, nil, err
		}
		if d.IsNull() {
			continue
		}
		cols = append(cols, p.Column)
		row = append(row, d)
	}
	return cols, row, nil
}

// Ack builds the response of a write: a string field "status" gets "ok", an integer field
// "lsn" the commit LSN and an integer field "rows" (or "count") the rows written; any other
// field is left unset.
func (m *Method) Ack(lsn uint64, rows int64) *dynamicpb.Message {
	out := dynamicpb.NewMessage(m.Desc.Output())
	fields := out.Descriptor().Fields()
	if f := fields.ByName("status"); f != nil && !f.IsList() && !f.IsMap() && f.Kind() == protoreflect.StringKind {
		out.Set(f, protoreflect.ValueOfString("ok"))
	}
	setInt(out, fields.ByName("lsn"), lsn, false)
	if f := fields.ByName("rows"); f != nil {
		setInt(out, f, uint64(rows), rows < 0)
	} else {
		setInt(out, fields.ByName("count"), uint64(rows), rows < 0)
	}
	return out
}

// setInt sets an integer field (if f is one) to v, a negative number when neg.
func setInt(m *dynamicpb.Message, f protoreflect.FieldDescriptor, v uint64, neg bool) {
	if f == nil || f.IsList() || f.IsMap() {
		return
	}
	switch f.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		m.Set(f, protoreflect.ValueOfInt32(int32(v)))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		m.Set(f, protoreflect.ValueOfInt64(int64(v)))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if !neg {
			m.Set(f, protoreflect.ValueOfUint32(uint32(v)))
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if !neg {
			m.Set(f, protoreflect.ValueOfUint64(v))
		}
	}
}

// Change builds a message of a Changes method's output type: lsn, diff and the row field
// set. For a method without Changes it returns row itself (the streamed message).
func (m *Method) Change(lsn uint64, diff int64, row *dynamicpb.Message) *dynamicpb.Message {
	if !m.Changes || m.rowField == nil {
		return row
	}
	out := dynamicpb.NewMessage(m.Desc.Output())
	setInt(out, m.lsnField, lsn, false)
	setInt(out, m.diffField, uint64(diff), diff < 0)
	if row != nil {
		rd := m.rowField.Message()
		var v protoreflect.Message = row
		if row.Descriptor() != rd {
			conv, err := asMessage(row, rd, protoregistry.GlobalTypes)
			if err != nil {
				return out
			}
			v = conv
		}
		out.Set(m.rowField, protoreflect.ValueOfMessage(v))
	}
	return out
}
