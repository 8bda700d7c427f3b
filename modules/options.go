package modules

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
)

// OptionsProto is the text of cdc/options.proto (OptionsFile): the custom options a module
// may use after `import "cdc/options.proto";`.
const OptionsProto = `syntax = "proto3";

// Options of the cdc engine for module .proto files.
package cdc;

import "google/protobuf/descriptor.proto";

// WriteMode is what a write method does with each request message.
enum WriteMode {
  INSERT = 0; // append the row (the default)
  UPSERT = 1; // insert the row, or replace the row with the same key
  DELETE = 2; // delete the row with the same key (without a key: one equal row)
}

extend google.protobuf.FieldOptions {
  // [(cdc.key) = true] makes the field a key column of the message's table. It must be a
  // scalar field (possibly inside singular message fields), not repeated, map or message.
  bool key = 50601;
}

extend google.protobuf.MessageOptions {
  // option (cdc.table) = "name"; sets the SQL name of the message's table (default:
  // <module>_<message name in snake case>).
  string table = 50611;
}

extend google.protobuf.MethodOptions {
  // option (cdc.view) = "v"; makes a server-streaming method subscribe to view v.
  string view = 50621;
  // option (cdc.write) = UPSERT; sets what a write method does with its rows.
  WriteMode write = 50622;
}
`

// optionReader reads the cdc options of descriptors compiled at run time. The compiled
// options messages carry custom options as unknown fields or as dynamic extensions; the
// reader re-parses their bytes against the extensions of the linked cdc/options.proto.
type optionReader struct {
	types *dynamicpb.Types
	key   protoreflect.ExtensionDescriptor // nil when cdc/options.proto is not imported
	table protoreflect.ExtensionDescriptor
	view  protoreflect.ExtensionDescriptor
	write protoreflect.ExtensionDescriptor
}

func newOptionReader(reg *protoregistry.Files, types *dynamicpb.Types) *optionReader {
	r := &optionReader{types: types}
	find := func(name protoreflect.FullName) protoreflect.ExtensionDescriptor {
		d, err := reg.FindDescriptorByName(name)
		if err != nil {
			return nil
		}
		xd, _ := d.(protoreflect.ExtensionDescriptor)
		return xd
	}
	r.key = find("cdc.key")
	r.table = find("cdc.table")
	r.view = find("cdc.view")
	r.write = find("cdc.write")
	return r
}

// get returns the value of extension xd in the options message opts.
func (r *optionReader) get(opts proto.Message, xd protoreflect.ExtensionDescriptor) (protoreflect.Value, bool) {
	if r == nil || xd == nil || opts == nil {
		return protoreflect.Value{}, false
	}
	pm := opts.ProtoReflect()
	if !pm.IsValid() {
		return protoreflect.Value{}, false
	}
	b, err := proto.MarshalOptions{AllowPartial: true, Deterministic: true}.Marshal(opts)
	if err != nil || len(b) == 0 {
		return protoreflect.Value{}, false
	}
	fresh := dynamicpb.NewMessage(pm.Descriptor())
	if err := (proto.UnmarshalOptions{AllowPartial: true, Resolver: r.types}).Unmarshal(b, fresh); err != nil {
		return protoreflect.Value{}, false
	}
	var out protoreflect.Value
	found := false
	fresh.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() && fd.FullName() == xd.FullName() && fd.Number() == xd.Number() {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

func (r *optionReader) fieldKey(fd protoreflect.FieldDescriptor) bool {
	v, ok := r.get(fd.Options(), r.key)
	return ok && v.Bool()
}

func (r *optionReader) messageTable(md protoreflect.MessageDescriptor) string {
	v, ok := r.get(md.Options(), r.table)
	if !ok {
		return ""
	}
	return v.String()
}

func (r *optionReader) methodView(md protoreflect.MethodDescriptor) (string, bool) {
	v, ok := r.get(md.Options(), r.view)
	if !ok {
		return "", false
	}
	return v.String(), true
}

func (r *optionReader) methodWrite(md protoreflect.MethodDescriptor) (WriteMode, bool) {
	v, ok := r.get(md.Options(), r.write)
	if !ok {
		return Insert, false
	}
	return WriteMode(v.Enum()), true
}
